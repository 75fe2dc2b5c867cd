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
    return sqs.depth(settings.EMAILHUB_DLQ)


def _receive_all(limit, *, wait_seconds=1):
    """Receive up to `limit` distinct messages, hidden for a short while.
    Long polling by default: a short poll samples only some SQS servers and
    can come back empty while messages wait (fine for a page that says it
    shows a sample, not for removing a message)."""
    found = {}
    for _ in range(limit // 10 + 2):
        batch = sqs.receive(settings.EMAILHUB_DLQ, max_messages=min(10, limit - len(found)),
                            wait_seconds=wait_seconds, visibility_timeout=PEEK_VISIBILITY_SECONDS)
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
    messages = _receive_all(limit, wait_seconds=0)
    if messages:
        sqs.release(settings.EMAILHUB_DLQ, [m["ReceiptHandle"] for m in messages])
    return sorted((_parked(m) for m in messages), key=lambda p: p.parked_at)


def dlq_remove(*, email_ids, limit=1000):
    """Delete the parked messages of `email_ids` (after they were resent or
    discarded); the rest go back at once. Returns the email ids removed."""
    wanted = set(email_ids)
    if not wanted:
        return set()
    owners = {m["ReceiptHandle"]: _parked(m).email_id for m in _receive_all(limit)}
    done = [handle for handle, email_id in owners.items() if email_id in wanted]
    rest = [handle for handle, email_id in owners.items() if email_id not in wanted]
    if rest:
        sqs.release(settings.EMAILHUB_DLQ, rest)
    if done and sqs.delete(settings.EMAILHUB_DLQ, done):
        return set()  # SQS refused some deletes: report none as removed rather than guess
    return {owners[handle] for handle in done}


def dlq_tidy():
    """Settle parked messages whose email is no longer `failed`: put emails
    still in flight (parked by redrive during an outage) back on the outbox,
    and drop messages of emails that were sent, resent or discarded since.
    Returns {"requeued": [...], "dropped": [...]} (email ids)."""
    from emailhub import model
    from emailhub.aws import dynamodb

    messages = _receive_all(1000)
    parked = [(m, _parked(m)) for m in messages]
    emails = dynamodb.batch_get([model.email_key(p.email_id) for _, p in parked if model.is_email_id(p.email_id)])
    settled, keep, outcome = [], [], {"requeued": [], "dropped": []}
    for message, item in parked:
        email = emails.get(f"EMAIL#{item.email_id}")
        status = email["status"] if email else None
        if status == model.FAILED:
            keep.append(message)
            continue
        if status in model.IN_FLIGHT:
            sqs.send(settings.EMAILHUB_OUTBOX_QUEUE, {"email_id": item.email_id})
            outcome["requeued"].append(item.email_id)
        else:
            outcome["dropped"].append(item.email_id)
        settled.append(message)
    if keep:
        sqs.release(settings.EMAILHUB_DLQ, [m["ReceiptHandle"] for m in keep])
    if settled:
        sqs.delete(settings.EMAILHUB_DLQ, [m["ReceiptHandle"] for m in settled])
    return outcome
