"""Call an AWS API and translate failures into the project's exceptions."""

from botocore.exceptions import BotoCoreError, ClientError

from emailhub.aws.clients import client
from emailhub.errors import AwsUnavailable


def error_code(err):
    return err.response.get("Error", {}).get("Code", "")


def error_message(err):
    return err.response.get("Error", {}).get("Message", "") or str(err)


def call(service, operation, **kwargs):
    """Run `operation` on `service`. Network failures become AwsUnavailable;
    ClientError is re-raised for the service module to classify."""
    method = getattr(client(service), operation)
    try:
        return method(**kwargs)
    except ClientError:
        raise
    except BotoCoreError as err:
        raise AwsUnavailable(f"{service} {operation}: {err}") from err


def is_server_error(err):
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500
