"""CloudWatch: the stage's alarms (created by bootstrap_aws --stage). Metrics
themselves are log lines (emailhub/metrics.py): no calls from the Lambda."""

from botocore.exceptions import ClientError

from emailhub.aws.calls import call, error_message
from emailhub.errors import AwsUnavailable


def _cloudwatch(operation, **kwargs):
    try:
        return call("cloudwatch", operation, **kwargs)
    except ClientError as err:
        raise AwsUnavailable(f"CloudWatch {operation}: {error_message(err)}") from err


def alarms(*, prefix):
    """{alarm name: description} of the metric alarms whose names start with `prefix`."""
    found, token = {}, None
    while True:
        page = _cloudwatch("describe_alarms", AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"],
                           **({"NextToken": token} if token else {}))
        found.update({a["AlarmName"]: a for a in page.get("MetricAlarms", [])})
        token = page.get("NextToken")
        if not token:
            return found


def alarm_put(**spec):
    """PutMetricAlarm (creates or replaces the alarm of that name)."""
    _cloudwatch("put_metric_alarm", **spec)
