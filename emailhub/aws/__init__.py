"""One small module per AWS service. boto3 is imported only inside this package,
and AWS errors are translated here into the project's own exceptions."""
