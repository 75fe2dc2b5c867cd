"""SQS: the outbox queue and the dead-letter queue, addressed by name."""

import json
import threading

from botocore.exceptions import ClientError

from emailhub.aws.calls import call, error_code, error_message
from emailhub.errors import AwsUnavailable, NotFound

_urls = {}
_lock = threading.Lock()


def _sqs(operation, **kwargs):
    try:
        return call("sqs", operation, **kwargs)
    except ClientError as err:
        code = error_code(err)
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise NotFound(f"SQS queue not found: {error_message(err)}") from err
        raise AwsUnavailable(f"SQS {operation}: {code} {error_message(err)}") from err


def queue_url(name):
    from django.conf import settings

    cache_key = (settings.AWS_ENDPOINT_URL, name)
    if cache_key not in _urls:
        url = _sqs("get_queue_url", QueueName=name)["QueueUrl"]
        with _lock:
            _urls[cache_key] = url
    return _urls[cache_key]


def reset():
    _urls.clear()


def send(queue, body, *, delay_seconds=0):
    response = _sqs(
        "send_message",
        QueueUrl=queue_url(queue),
        MessageBody=json.dumps(body, separators=(",", ":")),
        DelaySeconds=int(delay_seconds),
    )
    return response["MessageId"]


def receive(queue, *, max_messages=10, wait_seconds=0, visibility_timeout=None):
    kwargs = {
        "QueueUrl": queue_url(queue),
        "MaxNumberOfMessages": max_messages,
        "WaitTimeSeconds": wait_seconds,
        "MessageSystemAttributeNames": ["All"],
    }
    if visibility_timeout is not None:
        kwargs["VisibilityTimeout"] = visibility_timeout
    return _sqs("receive_message", **kwargs).get("Messages", [])


def delete(queue, receipt_handles):
    """Delete messages, ten per call; returns how many SQS refused to delete."""
    return _batched("delete_message_batch", queue, [{"ReceiptHandle": h} for h in receipt_handles])


def _batched(operation, queue, entries):
    """Run a batch operation ten entries at a time; returns how many failed."""
    failed = 0
    for start in range(0, len(entries), 10):
        chunk = [{"Id": str(i), **entry} for i, entry in enumerate(entries[start:start + 10])]
        failed += len(_sqs(operation, QueueUrl=queue_url(queue), Entries=chunk).get("Failed", []))
    return failed


def attributes(queue):
    response = _sqs("get_queue_attributes", QueueUrl=queue_url(queue), AttributeNames=["All"])
    return response["Attributes"]


def queue_ensure(name, attributes):
    """Create the queue, or bring an existing one's attributes in line.
    Returns "created", "updated" or "exists"."""
    from emailhub.aws.clients import client

    sqs = client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as err:
        if error_code(err) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        sqs.create_queue(QueueName=name, Attributes=attributes)
        return "created"
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    changed = {k: v for k, v in attributes.items() if _normal(current.get(k)) != _normal(v)}
    if changed:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
        return "updated"
    return "exists"


def _normal(value):
    """Compare attribute values as SQS means them: JSON policies by content,
    numbers whether given as 5 or "5"."""
    try:
        parsed = json.loads(value) if value and value.startswith("{") else value
    except ValueError:
        return value
    return {k: str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else parsed


def depth(queue):
    """How many messages wait: ready to receive, delayed, and received but not yet deleted."""
    found = attributes(queue)
    return {
        "ready": int(found.get("ApproximateNumberOfMessages", 0)),
        "delayed": int(found.get("ApproximateNumberOfMessagesDelayed", 0)),
        "in_flight": int(found.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def queue_arn(name):
    return attributes(name)["QueueArn"]


def send_batch(queue, bodies, *, delays=None):
    """Send many messages, ten per SendMessageBatch call, each after its
    delay in `delays` (seconds, 0-900) when given. Returns the indexes of the
    bodies that failed."""
    failed = []
    for start in range(0, len(bodies), 10):
        chunk = bodies[start:start + 10]
        entries = [{"Id": str(start + i), "MessageBody": json.dumps(body, separators=(",", ":")),
                    **({"DelaySeconds": int(delays[start + i])} if delays else {})}
                   for i, body in enumerate(chunk)]
        response = _sqs("send_message_batch", QueueUrl=queue_url(queue), Entries=entries)
        failed += [int(entry["Id"]) for entry in response.get("Failed", [])]
    return failed


def change_visibility(queue, receipt_handle, seconds):
    """Make one received message visible again after `seconds` (0 to 43200)."""
    _sqs("change_message_visibility", QueueUrl=queue_url(queue), ReceiptHandle=receipt_handle,
         VisibilityTimeout=int(seconds))


def release(queue, receipt_handles):
    """Make received messages visible again at once (the end of a peek)."""
    return _batched("change_message_visibility_batch", queue,
                    [{"ReceiptHandle": h, "VisibilityTimeout": 0} for h in receipt_handles])
