"""The dead-letter queue: what the dashboard shows of it and how handled
messages leave it.

SQS has no way to list a queue. A peek receives messages with a short
visibility timeout and makes them visible again at once, so nothing is lost;
on a large queue it can only show a sample."""

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings

from emailhub.aws import sqs

PEEK_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class Parked:
    message_id: str
    email_id: str
    body: dict
    parked_at: datetime
    receive_count: int


def dlq_depth():
    attributes = sqs.attributes(settings.EMAILHUB_DLQ)
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def _receive_all(limit):
    """Receive up to `limit` distinct messages, hidden for a short while."""
    found = {}
    for _ in range(limit // 10 + 2):
        batch = sqs.receive(settings.EMAILHUB_DLQ, max_messages=min(10, limit - len(found)),
                            visibility_timeout=PEEK_VISIBILITY_SECONDS)
        if not batch:
            break
        for message in batch:
            found[message["MessageId"]] = message
        if len(found) >= limit:
            break
    return list(found.values())


def _parked(message):
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = {}
    attributes = message.get("Attributes", {})
    sent = int(attributes.get("SentTimestamp", "0")) / 1000
    return Parked(
        message_id=message["MessageId"], email_id=body.get("email_id", ""), body=body,
        parked_at=datetime.fromtimestamp(sent, tz=timezone.utc),
        receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
    )


def dlq_peek(*, limit=100):
    """Up to `limit` parked messages, oldest first; every one stays on the queue."""
    messages = _receive_all(limit)
    if messages:
        sqs.release(settings.EMAILHUB_DLQ, [m["ReceiptHandle"] for m in messages])
    return sorted((_parked(m) for m in messages), key=lambda p: p.parked_at)


def dlq_remove(*, email_ids, limit=1000):
    """Delete the parked messages of `email_ids` (after they were resent or
    discarded); the rest go back at once. Returns the email ids removed."""
    wanted = set(email_ids)
    if not wanted:
        return set()
    messages = _receive_all(limit)
    done = [m for m in messages if _parked(m).email_id in wanted]
    rest = [m for m in messages if _parked(m).email_id not in wanted]
    if done:
        sqs.delete(settings.EMAILHUB_DLQ, [m["ReceiptHandle"] for m in done])
    if rest:
        sqs.release(settings.EMAILHUB_DLQ, [m["ReceiptHandle"] for m in rest])
    return {_parked(m).email_id for m in done}
