"""The dead-letter queue: what the dashboard shows of it and how handled
messages leave it.

SQS has no way to list a queue. A peek receives messages with a short
visibility timeout and makes them visible again at once, so nothing is lost;
on a large queue it can only show a sample."""

import json
import time
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


REMOVE_PASSES = 3
REMOVE_PAUSE_SECONDS = 1.0


def _statuses(parked):
    """{email id: its status, or None when there is no such email} for parked messages."""
    from emailhub import model
    from emailhub.aws import dynamodb

    ids = {p.email_id for p in parked}
    found = dynamodb.batch_get([model.email_key(i) for i in ids if model.is_email_id(i)])
    return {i: (found.get(model.email_key(i)[0]) or {}).get("status") for i in ids}


def _settled(status):
    """A parked message whose email is in this status has nothing left to say:
    the email was sent, resent or discarded since (or never existed)."""
    from emailhub import model

    return status != model.FAILED and status not in model.IN_FLIGHT


def dlq_remove(*, email_ids, limit=1000, passes=REMOVE_PASSES, pause_seconds=REMOVE_PAUSE_SECONDS):
    """Delete the parked messages of `email_ids` (after they were resent or
    discarded), and any other message whose email is settled; the rest go
    back at once. Returns the email ids removed.

    Another receiver (a second staff member resending the same emails, a
    peek) can hold some messages hidden for a moment: what was not found is
    looked for again, up to `passes` times. And whoever sees a settled
    email's message removes it, so two resends racing leave none behind."""
    wanted = set(email_ids)
    removed = set()
    for attempt in range(passes):
        if not wanted - removed:
            break
        if attempt:
            time.sleep(pause_seconds)
        parked = {m["ReceiptHandle"]: _parked(m) for m in _receive_all(limit)}
        statuses = _statuses(parked.values())
        done = [h for h, p in parked.items() if p.email_id in wanted or _settled(statuses[p.email_id])]
        rest = [h for h in parked if h not in set(done)]
        if rest:
            sqs.release(settings.EMAILHUB_DLQ, rest)
        if done and sqs.delete(settings.EMAILHUB_DLQ, done):
            return removed  # SQS refused some deletes: report none of these as removed rather than guess
        removed |= {parked[h].email_id for h in done} & wanted
    return removed


def dlq_tidy():
    """Settle parked messages whose email is no longer `failed`: put emails
    still in flight (parked by redrive during an outage) back on the outbox,
    and drop messages of emails that were sent, resent or discarded since.
    Returns {"requeued": [...], "dropped": [...]} (email ids)."""
    from emailhub import model

    parked = [(m, _parked(m)) for m in _receive_all(1000)]
    statuses = _statuses(p for _, p in parked)
    settled, keep, outcome = [], [], {"requeued": [], "dropped": []}
    for message, item in parked:
        status = statuses[item.email_id]
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
