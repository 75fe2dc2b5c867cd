"""Batch send: up to EMAILHUB_MAX_BATCH emails in one request, accepted with
AWS's batch calls instead of one round of calls per email.

Each email is checked exactly as `POST /send-email` checks it (the API
validates its shape; services.email_prepare its size, schedule and the SES
sandbox), then the suppression list is read for all of them at once
(BatchGetItem), the emails and their small items are written with as few
TransactWriteItems as fit (100 items each, an email never split across two),
and they go on the outbox ten per SendMessageBatch.

- strict (the default): one invalid email and nothing is accepted; the
  error lists every invalid email by index (BatchInvalid).
- permissive: the valid ones are accepted; the answer gives, per index,
  the email's id or its error.

One Idempotency-Key covers the whole batch: its record (written in the first
transaction) keeps the answer, so the same key and body replay the same ids
(and put any email still waiting back on the outbox), another body is a 409.

Unlike a single send, a recipient suppressed between the batch read and the
write (milliseconds) is not caught by the write: the price of not putting a
ConditionCheck per recipient into the transactions, which would cancel a
whole transaction of other emails with it."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb, sqs
from emailhub.emails import TRANSACTION_ITEMS, email_status_changed
from emailhub.errors import (
    ConditionFailed, EmailhubError, EnqueueFailed, InvalidSchedule, TooLarge, UnverifiedIdentities,
)
from emailhub.services import (
    _field_of, _idempotency_key, _replay_record, _request_hash, _transact_retrying_conflicts, email_prepare,
    prepared_enqueue_delay, scheduled_delay,
)
from emailhub.suppression import suppressed_among
from emailhub.webhooks.events import ACCEPTED

logger = logging.getLogger(__name__)

STRICT, PERMISSIVE = "strict", "permissive"
# A message's request rides along only when ten of them fit one
# SendMessageBatch (256 KiB in all).
CARRIED_REQUEST_BYTES = 20 * 1024


class BatchInvalid(EmailhubError):
    """Strict mode with an invalid email, or no valid email at all: nothing accepted."""

    code = "invalid_batch"

    def __init__(self, message, *, errors):
        super().__init__(message)
        self.errors = errors  # [{"index", "code", "message", "field"}]


@dataclass
class BatchAnswer:
    mode: str
    data: list  # per index: {"index", "id", "status", ...} or {"index", "error": {...}}
    replayed: bool = False

    def as_body(self):
        accepted = sum(1 for entry in self.data if "id" in entry)
        return {"mode": self.mode, "accepted": accepted, "rejected": len(self.data) - accepted, "data": self.data}


@dataclass
class _Email:
    index: int
    prepared: object
    written: bool = False
    enqueued: bool = False
    keys: list = field(default_factory=list)


def emails_send_batch(*, entries, mode, api_key_prefix, idempotency_key=None, batch_request=None, search_key=None):
    """Accept a batch. `entries` has one item per email, in order: either
    {"request": SendEmailIn.as_request()} or {"error": {"code", "message",
    "field"}} for one the API could not read. `batch_request` is the whole
    body, hashed for the Idempotency-Key. `search_key` as for
    services.email_send. Returns a BatchAnswer; raises
    BatchInvalid, IdempotencyConflict, EnqueueFailed or AwsUnavailable."""
    record_key = _idempotency_key(api_key_prefix, idempotency_key) if idempotency_key else None
    if record_key:
        replayed = _replay_batch(record_key, batch_request)
        if replayed:
            return replayed
    moment = model.now()
    errors, emails = _prepare_all(entries, api_key_prefix, idempotency_key, moment, search_key)
    if errors and (mode == STRICT or not emails):
        what = "nothing was accepted" if mode == STRICT else "none of them is valid"
        raise BatchInvalid(f"{len(errors)} of {len(entries)} emails are invalid; {what}. "
                           "See `errors` (by index).", errors=sorted(errors, key=lambda e: e["index"]))
    data = sorted([{"index": e["index"], "error": {k: e[k] for k in ("code", "message", "field")}} for e in errors]
                  + [{"index": e.index, **e.prepared.body} for e in emails], key=lambda entry: entry["index"])
    answer = BatchAnswer(mode=mode, data=data)
    record = _record_put(record_key, batch_request, answer, emails, moment) if record_key else None
    try:
        _write(emails, record)
    except ConditionFailed as err:
        if record and 0 in err.failed_indexes:  # the same key, at the same moment: its record is the other's
            _withdraw(emails)
            return _replay_batch(record_key, batch_request)
        _withdraw(emails, record_key=record_key)
        raise
    except EmailhubError:
        _withdraw(emails, record_key=record_key)
        raise
    for email in emails:  # as a single accept does: webhooks hear of each (no call without endpoints)
        item = email.prepared.item
        email_status_changed(email_id=item["id"], status=item["status"], timeline_event=item["events"][0],
                             email=item, event_type=ACCEPTED)
    return _enqueue(emails, answer, keep_on_failure=bool(record_key))


def _prepare_all(entries, api_key_prefix, idempotency_key, moment, search_key):
    """(errors, emails): every entry checked as a single send would be."""
    errors, emails = [], []
    for index, entry in enumerate(entries):
        if "error" in entry:
            errors.append({"index": index, **entry["error"]})
            continue
        try:
            prepared = email_prepare(request=entry["request"], api_key_prefix=api_key_prefix, moment=moment,
                                     idempotency_key=idempotency_key and f"{idempotency_key}#{index}",
                                     search_key=search_key)
        except (TooLarge, InvalidSchedule, UnverifiedIdentities) as err:
            errors.append({"index": index, "code": err.code, "message": err.message,
                           "field": getattr(err, "field", None)})
            continue
        emails.append(_Email(index, prepared))
    blocked = set(suppressed_among([a for e in emails for a in e.prepared.recipients])) if emails else set()
    if blocked:
        kept = []
        for email in emails:
            mine = sorted({a.lower() for a in email.prepared.recipients} & blocked)
            if not mine:
                kept.append(email)
                continue
            errors.append({"index": email.index, "code": "suppressed_recipient", "field":
                           _field_of(email.prepared.request, mine), "message":
                           "These recipients are on the suppression list: " + ", ".join(mine) + "."})
        emails = kept
    return errors, emails


def _record_put(record_key, batch_request, answer, emails, moment):
    pk, sk = record_key
    ttl = timedelta(hours=settings.EMAILHUB_IDEMPOTENCY_TTL_HOURS)
    item = {"pk": pk, "sk": sk, "request_hash": _request_hash(batch_request), "response": answer.as_body(),
            "email_ids": [e.prepared.body["id"] for e in emails], "created_at": model.iso(moment),
            model.TTL_ATTRIBUTE: model.epoch(moment + ttl)}
    # TTL deletion lags expiry by up to days: an expired record counts as absent.
    return "Put", dynamodb.put_args(item, condition="attribute_not_exists(pk) OR expires_at < :now",
                                    values={":now": model.epoch(moment)})


def _write(emails, record):
    """Store the emails with their small items, as few transactions as fit
    (the idempotency record first); an email of more than 100 items (50
    recipients and 50 tags) is written on its own, over two."""
    chunk, members = ([record] if record else []), []
    for email in emails:
        writes = [("Put", dynamodb.put_args(email.prepared.item, condition="attribute_not_exists(pk)"))]
        writes += [("Put", dynamodb.put_args(c)) for c in email.prepared.companions]
        email.keys = [(w[1]["Item"]["pk"]["S"], w[1]["Item"]["sk"]["S"]) for w in writes]
        if len(chunk) + len(writes) > TRANSACTION_ITEMS and chunk:
            _commit(chunk, members)
            chunk, members = [], []
        for start in range(0, len(writes), TRANSACTION_ITEMS):
            part = writes[start:start + TRANSACTION_ITEMS]
            if len(chunk) + len(part) > TRANSACTION_ITEMS:
                _commit(chunk, members)
                chunk, members = [], []
            chunk += part
        members.append(email)
    if chunk:
        _commit(chunk, members)


def _commit(chunk, members):
    _transact_retrying_conflicts(chunk, token=None)
    for email in members:
        email.written = True


def _withdraw(emails, *, record_key=None):
    """Undo the writes of a batch that could not be stored whole (nothing of
    it is on the outbox yet): delete what was written and its idempotency
    record (so a retry with the key starts afresh), best effort."""
    deletes = [("Delete", dynamodb.delete_args(pk, sk)) for e in emails if e.written for pk, sk in e.keys]
    if record_key:
        deletes.append(("Delete", dynamodb.delete_args(*record_key)))
    try:
        for start in range(0, len(deletes), TRANSACTION_ITEMS):
            dynamodb.transact(deletes[start:start + TRANSACTION_ITEMS])
    except EmailhubError:
        logger.exception("Could not withdraw a batch's emails; they stay for the stuck-email alarm")


def _message(email):
    """The outbox message of a new email, and its delay."""
    prepared = email.prepared
    body = {"email_id": prepared.body["id"]}
    small = "request" in prepared.item and prepared.item["payload_bytes"] <= CARRIED_REQUEST_BYTES
    if small and not prepared.schedule.send_at:
        body["request"] = prepared.request
    return body, prepared_enqueue_delay(prepared)


def _enqueue(emails, answer, *, keep_on_failure):
    """Put the stored emails on the outbox (those due within 15 minutes),
    ten per call. An email SQS refuses is withdrawn and answered with an
    error, unless the batch has an Idempotency-Key: then it stays stored and
    the client's retry with the key puts it on the outbox."""
    waiting = [(e, *_message(e)) for e in emails]
    waiting = [(e, body, delay) for e, body, delay in waiting if delay is not None]
    failed = set()
    for start in range(0, len(waiting), 10):  # a SendMessageBatch each, so one failing call loses only its ten
        chunk = waiting[start:start + 10]
        try:
            refused = sqs.send_batch(settings.EMAILHUB_OUTBOX_QUEUE, [body for _, body, _ in chunk],
                                     delays=[delay for _, _, delay in chunk])
            failed |= {start + i for i in refused}
        except EmailhubError:
            failed |= set(range(start, start + len(chunk)))
    if not failed:
        return answer
    refused = [waiting[i][0] for i in sorted(failed)]
    if keep_on_failure:
        raise EnqueueFailed(f"The outbox refused {len(refused)} of the batch's emails; retry with the same "
                            "Idempotency-Key to finish the batch.")
    _withdraw(refused)
    lost = {e.index for e in refused}
    if len(lost) == len(answer.data) or not any("id" in d and d["index"] not in lost for d in answer.data):
        raise EnqueueFailed("The outbox queue is unavailable; nothing was accepted. Retry later.")
    answer.data = [d if d["index"] not in lost else {"index": d["index"], "error": {
        "code": "queue_unavailable", "message": "The outbox refused this email; it was not accepted. Send it "
        "again.", "field": None}} for d in answer.data]
    return answer


def _replay_batch(record_key, batch_request):
    """The first answer to this key (after putting its emails that still
    wait back on the outbox), or None when the key is new."""
    record = dynamodb.get(*record_key)
    if record is None or record.get("expires_at", 0) < model.epoch(model.now()):
        return None
    _replay_record(record, batch_request)  # raises IdempotencyConflict for another body
    found = dynamodb.batch_get([model.email_key(i) for i in record.get("email_ids", [])])
    moment, bodies, delays = model.now(), [], []
    for email in found.values():
        if email["status"] == model.QUEUED:
            bodies.append({"email_id": email["id"]})
            delays.append(0)
        elif email["status"] == model.SCHEDULED and not email.get("schedule_bucket"):
            bodies.append({"email_id": email["id"]})
            delays.append(scheduled_delay(email, moment))
    if bodies:
        # An extra message is harmless: the worker's claim is conditional.
        sqs.send_batch(settings.EMAILHUB_OUTBOX_QUEUE, bodies, delays=delays)
    response = record["response"]
    return BatchAnswer(mode=response["mode"], data=response["data"], replayed=True)
