"""Lambda: the event source mappings Zappa creates, completed after a deploy
(bootstrap_aws --stage S --after-deploy). Operator-side only."""

from botocore.exceptions import ClientError

from emailhub.aws.calls import call, error_code, error_message
from emailhub.errors import AwsUnavailable, NotFound


def _lambda(operation, **kwargs):
    try:
        return call("lambda", operation, **kwargs)
    except ClientError as err:
        if error_code(err) == "ResourceNotFoundException":
            raise NotFound(f"Lambda {operation}: {error_message(err)}") from err
        raise AwsUnavailable(f"Lambda {operation}: {error_message(err)}") from err


def event_source_mappings(*, event_source_arn):
    """Every mapping from the queue `event_source_arn`, whatever function it feeds."""
    found, marker = [], None
    while True:
        page = _lambda("list_event_source_mappings", EventSourceArn=event_source_arn,
                       **({"Marker": marker} if marker else {}))
        found += page.get("EventSourceMappings", [])
        marker = page.get("NextMarker")
        if not marker:
            return found


def event_source_mapping_update(*, uuid, **changes):
    """UpdateEventSourceMapping with `changes` (its own parameter names); returns the mapping."""
    return _lambda("update_event_source_mapping", UUID=uuid, **changes)
