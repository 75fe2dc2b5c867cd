"""The send pipeline's services: the only place that orchestrates.

The API, the worker and the dashboard call these keyword-only functions and
contain no business logic of their own.
"""

import hashlib
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.errors import MessageError

from django.conf import settings

from emailhub import model, pacing, reputation
from emailhub.addresses import parse_mailbox
from emailhub.aws import dynamodb, ses, sqs
from emailhub.emails import (
    TRANSACTION_ITEMS, companion_items, email_get, email_item, email_status_changed, email_transition, event,
)
from emailhub.faults import fault_point
from emailhub.errors import (
    AwsUnavailable, ConditionFailed, EmailBusy, EmailhubError, EnqueueFailed, IdempotencyConflict, InvalidSchedule,
    SendError, Suppressed, TooLarge, TransactionConflict, UnverifiedIdentities,
)
from emailhub.identities import identities_check_sandbox
from emailhub.logs import log_context_add
from emailhub.messages import SES_MAX_MESSAGE_BYTES, encoded_size_bound, ses_arguments
from emailhub.metrics import metric_count
from emailhub.payloads import payload_load, payload_store
from emailhub.scheduling.expiry import email_expire, email_overdue
from emailhub.scheduling.timing import SQS_MAX_DELAY_SECONDS, Schedule, schedule_of
from emailhub.stats import stats_record
from emailhub.suppression import suppressed_among, suppression_checks
from emailhub.webhooks.events import ACCEPTED

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    body: dict
    replayed: bool = False
    # The keys of the items written beside the email (recipient items, the
    # idempotency record), so a failed enqueue can undo the acceptance.
    companions: tuple = ()
    # The request, when the outbox message can carry it (see OUTBOX_REQUEST_BYTES).
    request: dict = None
    # The outbox delay to enqueue it with; None when it waits in the schedule-index.
    delay_seconds: int = 0


# --- accepting ---------------------------------------------------------------

def email_send(*, request, api_key_prefix, idempotency_key=None, search_key=None):
    """Accept an email and put it on the outbox: what `POST /send-email` does.

    `request` is SendEmailIn.as_request(). With an idempotency key, the same
    key and request return the first answer and send nothing more; the same
    key with another request raises IdempotencyConflict. When the outbox
    cannot be reached the email is withdrawn and EnqueueFailed raised. An
    email with a send_at waits `scheduled`: on the outbox with a delay when
    that is at most 15 minutes away, else in the schedule-index (nothing to
    enqueue now). `search_key`: the `send` key whose own searches must list
    it (ApiKey.search_key)."""
    accepted = email_accept(request=request, api_key_prefix=api_key_prefix, idempotency_key=idempotency_key,
                            search_key=search_key)
    email_id = accepted.body["id"]
    log_context_add(email_id=email_id)
    if accepted.replayed:
        # A crash between storing and enqueuing leaves the email queued with no
        # message; the client's retry puts it on the outbox. An extra message
        # is harmless: the worker's conditional claim sends each email once.
        _enqueue_if_queued(email_id)
        return accepted
    if accepted.delay_seconds is None:
        return accepted
    try:
        outbox_enqueue(email_id=email_id, request=accepted.request, delay_seconds=accepted.delay_seconds)
    except EmailhubError as err:
        if _withdraw(accepted):
            raise EnqueueFailed("The outbox queue is unavailable; nothing was accepted. Retry later.") from err
        # The message did arrive (only its answer was lost): the worker has the email.
    metric_count("Accepted")
    return accepted


@dataclass(frozen=True)
class Prepared:
    """An email checked and built, nothing written yet (but a large payload's
    copy in S3): `item` and `companions` are what to store."""

    body: dict
    request: dict
    item: dict
    companions: list
    recipients: list
    schedule: Schedule
    moment: object


def email_prepare(*, request, api_key_prefix, idempotency_key=None, extra=None, email_id=None, moment=None,
                  search_key=None):
    """Everything about one email that can be checked before writing: its
    size, its schedule, the SES sandbox, its item's size. Raises TooLarge,
    InvalidSchedule or UnverifiedIdentities. `email_id` and `moment` rebuild
    an email already given an id (a batch's replay)."""
    request = {**request, "sender": request.get("sender") or settings.EMAILHUB_DEFAULT_FROM}
    if encoded_size_bound(request) > SES_MAX_MESSAGE_BYTES:
        raise TooLarge(f"Once MIME-encoded this email could be over SES's {SES_MAX_MESSAGE_BYTES // 2**20} MB "
                       "message limit; send smaller bodies or attachments.", code="message_too_large")
    moment = moment or model.now()
    schedule = schedule_of(request, moment)
    recipients = request_recipients(request)
    identities_check_sandbox(sender=parse_mailbox(request["sender"]).address, recipients=recipients,
                             fields=request_recipient_fields(request))
    email_id = email_id or model.new_email_id(moment)
    status = model.SCHEDULED if schedule.send_at else model.QUEUED
    expires_at = model.epoch(max(moment, schedule.send_at or moment)
                             + timedelta(days=settings.EMAILHUB_RETENTION_DAYS))
    body = {"id": email_id, "status": status, "created_at": model.iso(moment), **_schedule_fields(schedule)}
    summary = {**_summary(request), **_schedule_fields(schedule)}  # a list shows when it goes, and until when
    payload = payload_store(email_id=email_id, request=request, room=_payload_room(summary))
    companions = companion_items(email_id=email_id, moment=moment, addresses=recipients, tags=summary["tags"],
                                 expires_at=expires_at, status=status, search_key=search_key)
    item = email_item(
        email_id=email_id, moment=moment, summary=summary, expires_at=expires_at, payload=payload,
        api_key_prefix=api_key_prefix, idempotency_key=idempotency_key,
        extra={**schedule.attributes(moment), **(extra or {})},
        companions=[c["sk"] for c in companions], status=status, search_key=search_key,
    )
    return Prepared(body=body, request=request, item=item, companions=companions, recipients=recipients,
                    schedule=schedule, moment=moment)


def _schedule_fields(schedule):
    """send_at / expires_at as the API answers them (only those set)."""
    fields = {"send_at": schedule.send_at, "expires_at": schedule.send_by}
    return {name: model.iso(value) for name, value in fields.items() if value is not None}


def prepared_enqueue_delay(prepared):
    """What to do with a stored email now: None when it waits in the
    schedule-index (the tick enqueues it), else the outbox delay in seconds."""
    if prepared.schedule.waits_in_index(prepared.moment):
        return None
    return prepared.schedule.delay_seconds(model.now())


def email_accept(*, request, api_key_prefix, idempotency_key=None, extra=None, search_key=None):
    """Check the sandbox and store the email as `queued` (or `scheduled`), in
    one transaction with its recipient items, its idempotency record and a
    suppression check per recipient. The caller puts it on the outbox."""
    request = {**request, "sender": request.get("sender") or settings.EMAILHUB_DEFAULT_FROM}
    try:
        prepared = email_prepare(request=request, api_key_prefix=api_key_prefix,
                                 idempotency_key=idempotency_key, extra=extra, search_key=search_key)
    except (UnverifiedIdentities, InvalidSchedule):
        # A retried request is answered as the first time, even if an identity
        # was withdrawn since or its send_at has passed.
        replayed = _replay_if_recorded(api_key_prefix, idempotency_key, request)
        if replayed:
            return replayed
        raise
    email_id, body, recipients = prepared.body["id"], prepared.body, prepared.recipients
    companions = prepared.companions
    writes = [("Put", dynamodb.put_args(prepared.item, condition="attribute_not_exists(pk)"))]
    writes += [("Put", dynamodb.put_args(r)) for r in companions]
    companion_keys = [(r["pk"], r["sk"]) for r in companions]
    if idempotency_key:
        writes.insert(0, _idempotency_put(api_key_prefix, idempotency_key, request, body, prepared.moment))
        companion_keys.append(_idempotency_key(api_key_prefix, idempotency_key))
    # 50 recipients and 50 tags with the email and its idempotency record are
    # 102 items, over a transaction's 100: the last small items follow in a
    # second call (only for such an email; the back-fill repairs a crash between).
    writes, overflow = writes[:TRANSACTION_ITEMS], writes[TRANSACTION_ITEMS:]
    try:
        checked, checks_start = _suppression_checks(recipients, writes)
        _transact_retrying_conflicts(writes, token=email_id)
    except Suppressed as err:
        replayed = _replay_if_recorded(api_key_prefix, idempotency_key, request)
        if replayed:
            return replayed
        raise Suppressed(err.addresses, field=_field_of(request, err.addresses)) from err
    except ConditionFailed as err:
        if idempotency_key and 0 in err.failed_indexes:
            return _replay(api_key_prefix, idempotency_key, request)
        blocked = [checked[i - checks_start] for i in err.failed_indexes if i >= checks_start]
        if blocked:
            raise Suppressed(blocked, field=_field_of(request, blocked)) from err
        raise
    for start in range(0, len(overflow), TRANSACTION_ITEMS):
        _transact_retrying_conflicts(overflow[start:start + TRANSACTION_ITEMS], token=None)
    item = prepared.item
    email_status_changed(email_id=email_id, status=item["status"], timeline_event=item["events"][0], email=item,
                         event_type=ACCEPTED)
    payload = prepared.item
    # A scheduled email's message must not carry its request: the worker reads
    # the email to see whether it is due (and not canceled) before anything else.
    carried = (request if "request" in payload and payload["payload_bytes"] <= OUTBOX_REQUEST_BYTES
               and not prepared.schedule.send_at else None)
    return Accepted(body=body, companions=tuple(companion_keys), request=carried,
                    delay_seconds=prepared_enqueue_delay(prepared))


# DynamoDB items are at most 400 KB; the email item keeps 100 KB of it for
# its timeline and bookkeeping, and its summary is copied into two indexes.
ITEM_BUDGET_BYTES = 300 * 1024
SUMMARY_MAX_BYTES = 128 * 1024


def _payload_room(summary):
    """The bytes the email item has left for an inline request once the
    summary is in; a larger request goes to S3. The schema's limits keep a
    summary under ~90 KB, so SUMMARY_MAX_BYTES is a guard, not a rule."""
    size = len(json.dumps(summary, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    if size > SUMMARY_MAX_BYTES:
        raise TooLarge(f"The email's addresses, subject and tags come to {size} bytes; at most "
                       f"{SUMMARY_MAX_BYTES} fit beside it in DynamoDB's 400 KB item.", code="item_too_large")
    return ITEM_BUDGET_BYTES - size


def _suppression_checks(recipients, writes):
    """Append one ConditionCheck per recipient to `writes`, so a suppressed
    recipient cancels the accept at no extra call. Returns (the addresses
    checked, the index of the first check). A transaction takes 100
    operations: an email too large for that is checked with a batch read."""
    addresses = sorted({a.lower() for a in recipients})
    if len(writes) + len(addresses) > 100:
        blocked = suppressed_among(addresses)
        if blocked:
            raise Suppressed(blocked)
        return [], len(writes)
    start = len(writes)
    writes += suppression_checks(addresses)
    return addresses, start


CONFLICT_RETRIES = 5


def _transact_retrying_conflicts(writes, *, token):
    """Requests racing with one Idempotency-Key make DynamoDB cancel all but
    one transaction as a conflict; tried again, the losers find the winner's
    record (ConditionFailed) and replay it. The client token makes an SDK
    retry of a transaction that did commit succeed instead of failing."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            return dynamodb.transact(writes, token=token)
        except TransactionConflict:
            if attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)


def request_recipients(request):
    """Every to, cc and bcc address of a request, without display names."""
    return [parse_mailbox(a).address for field in ("to", "cc", "bcc") for a in request.get(field, [])]


def _field_of(request, addresses):
    """The request field ("to", "cc" or "bcc") where the first of `addresses` was given."""
    wanted = {a.lower() for a in addresses}
    return next((f for a, f in request_recipient_fields(request).items() if a.lower() in wanted), "to")


def request_recipient_fields(request):
    """{address: "to" | "cc" | "bcc"}: where each recipient was given (the first place)."""
    fields = {}
    for field in ("to", "cc", "bcc"):
        for a in request.get(field, []):
            fields.setdefault(parse_mailbox(a).address, field)
    return fields


def _summary(request):
    """What list pages and the status API show without loading the payload."""
    return {
        "sender": request["sender"],
        "to": request["to"],
        "cc": request.get("cc", []),
        "bcc_count": len(request.get("bcc", [])),
        "subject": request["subject"],
        "tags": request.get("tags", {}),
        "attachments": len(request.get("attachments", [])),
    }


def _request_hash(request):
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _idempotency_key(api_key_prefix, idempotency_key):
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"IDEM#{api_key_prefix}#{digest}", "IDEM"


def _idempotency_put(api_key_prefix, idempotency_key, request, body, moment):
    pk, sk = _idempotency_key(api_key_prefix, idempotency_key)
    ttl = timedelta(hours=settings.EMAILHUB_IDEMPOTENCY_TTL_HOURS)
    item = {
        "pk": pk, "sk": sk, "idempotency_key": idempotency_key, "request_hash": _request_hash(request),
        "response": body, "email_id": body["id"], "created_at": model.iso(moment),
        model.TTL_ATTRIBUTE: model.epoch(moment + ttl),
    }
    # TTL deletion lags expiry by up to days: an expired record counts as absent.
    condition = "attribute_not_exists(pk) OR expires_at < :now"
    return "Put", dynamodb.put_args(item, condition=condition, values={":now": model.epoch(moment)})


def _replay(api_key_prefix, idempotency_key, request):
    record = dynamodb.get(*_idempotency_key(api_key_prefix, idempotency_key))
    if record is None:
        raise AwsUnavailable("The idempotency record vanished while being read; retry.")
    return _replay_record(record, request)


def _replay_record(record, request):
    if record["request_hash"] != _request_hash(request):
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different request. "
            "Use a new key for a new email."
        )
    return Accepted(body=record["response"], replayed=True)


def _replay_if_recorded(api_key_prefix, idempotency_key, request):
    """The first answer to this key, if there was one (and it has not expired)."""
    if not idempotency_key:
        return None
    record = dynamodb.get(*_idempotency_key(api_key_prefix, idempotency_key))
    if record is None or record.get("expires_at", 0) < model.epoch(model.now()):
        return None
    return _replay_record(record, request)


def _enqueue_if_queued(email_id):
    email = email_get(email_id)
    if email:
        email_enqueue_waiting(email=email)


def email_enqueue_waiting(*, email):
    """Put a stored email that waits for the outbox on it (again): a queued
    one at once, a scheduled one outside the schedule-index with the delay
    left. Returns True when a message was sent."""
    if email["status"] == model.QUEUED:
        outbox_enqueue(email_id=email["id"])
        return True
    if email["status"] == model.SCHEDULED and not email.get("schedule_bucket"):
        outbox_enqueue(email_id=email["id"], delay_seconds=scheduled_delay(email, model.now()))
        return True
    return False


def scheduled_delay(email, moment):
    """Seconds until a scheduled email is due, within SQS's 15-minute delay."""
    return min(SQS_MAX_DELAY_SECONDS, Schedule(send_at=model.parse_iso(email["send_at"])).delay_seconds(moment))


def _withdraw(accepted):
    """Undo an acceptance whose enqueue failed, unless a worker already
    claimed the email (then the message did arrive and it is accepted after
    all). True when withdrawn, or when it could not be told (AWS down: it
    stays queued, for the stuck-email alarm)."""
    email_id = accepted.body["id"]
    deletes = [("Delete", dynamodb.delete_args(
        *model.email_key(email_id), condition="#s IN (:queued, :scheduled) AND attempts = :zero",
        names={"#s": "status"}, values={":queued": model.QUEUED, ":scheduled": model.SCHEDULED, ":zero": 0}))]
    deletes += [("Delete", dynamodb.delete_args(pk, sk)) for pk, sk in accepted.companions]
    try:
        dynamodb.transact(deletes[:TRANSACTION_ITEMS])
        for start in range(TRANSACTION_ITEMS, len(deletes), TRANSACTION_ITEMS):
            dynamodb.transact(deletes[start:start + TRANSACTION_ITEMS])
    except ConditionFailed:
        return False
    except EmailhubError:
        logger.exception("Could not withdraw email %s; it stays queued for the stuck-email alarm", email_id)
    return True


# An outbox message carries the request (when it is inline and this small) so
# the worker builds the email before it reads or claims anything; SQS bills
# every 64 KiB of a message.
OUTBOX_REQUEST_BYTES = 60 * 1024


def outbox_enqueue(*, email_id, delay_seconds=0, request=None):
    body = {"email_id": email_id}
    if request is not None:
        body["request"] = request
    return sqs.send(settings.EMAILHUB_OUTBOX_QUEUE, body, delay_seconds=delay_seconds)


# --- delivering --------------------------------------------------------------

def email_deliver(*, email_id, request=None):
    """Send one email from the outbox. Returns what happened: "sent",
    "retrying", "failed", "deferred", "duplicate" or "missing". Raises
    EmailBusy when another worker holds the email, AwsUnavailable when AWS is
    unreachable: in both cases the outbox message must be tried again.

    The email is claimed (`sending`) only right before the SES call, once its
    request is loaded, its MIME built and its pacing slot taken: a crash
    before the claim leaves it as it was, to be tried again, so a stale
    `sending` means only "SES may have sent it". Any error before the claim
    uses an attempt, so nothing can loop for ever. `request` is the one the
    outbox message carried, if any (the stored one otherwise)."""
    email = None
    if request is None:
        email = email_get(email_id)
        if email is None or not _ready(email, model.now()):
            return _not_claimable(email_id, email)
    # A scheduled email is claimed straight from `scheduled` once due.
    ready = model.CLAIMABLE + ((model.SCHEDULED,) if email and email["status"] == model.SCHEDULED else ())
    if _quota_used_up():
        return _defer(email_id, expect_statuses=ready,
                      reason="The account's 24-hour SES sending quota is used up.")
    paused = reputation.sending_paused()
    if paused:
        return _hold(email_id, reason=paused, ready=ready)
    try:
        if request is None:
            request = payload_load(email=email)
        if email is not None and _waited(email):
            _suppression_recheck(request)
        arguments = ses_arguments(request=request, sender=request.get("sender") or email["summary"]["sender"],
                                  configuration_set=settings.EMAILHUB_SES_CONFIGURATION_SET)
        recipients = len(arguments["to"]) + len(arguments["cc"]) + len(arguments["bcc"])
        # Right before the call, so the pace SES sees is the pace the bucket keeps.
        pacing.wait_for_slot(recipients=recipients)
    except Exception as err:  # noqa: BLE001 - every error uses an attempt (see _preparation_error)
        return _attempt_failed(email_id, _preparation_error(err), expect_statuses=ready)
    fault_point("before_claim")
    claim_id = uuid.uuid4().hex
    moment = model.now()
    try:
        # Conditional on the status (a canceled email is never claimed), on
        # send_at having come and on expires_at not having passed.
        email = email_transition(
            email_id, to_status=model.SENDING, moment=moment, increments={"attempts": 1},
            set_attrs={"claim_id": claim_id,
                       "lease_until": model.epoch(moment) + settings.EMAILHUB_CLAIM_LEASE_SECONDS},
            remove_attrs=("schedule_bucket",),
            condition=CLAIM_CONDITION, condition_values=_claim_values(moment),
        )
    except ConditionFailed:
        return _not_claimable(email_id)
    fault_point("after_claim")
    return _send(email, claim_id, arguments, recipients)


CLAIM_CONDITION = ("(#status IN (:c0, :c1, :c2) OR (#status = :scheduled AND send_at <= :now_iso)) "
                   "AND (attribute_not_exists(send_by) OR send_by > :now_iso)")


def _claim_values(moment):
    values = {f":c{i}": status for i, status in enumerate(model.CLAIMABLE)}
    return {**values, ":scheduled": model.SCHEDULED, ":now_iso": model.iso(moment)}


def _ready(email, moment):
    """Whether the worker may try to send `email` at `moment` (the claim's
    condition decides; this spares the work before it when it cannot)."""
    if email_overdue(email, moment):
        return False
    return email["status"] in model.CLAIMABLE or (
        email["status"] == model.SCHEDULED and email["send_at"] <= model.iso(moment))


# An email accepted longer ago than this, or that waited (scheduled, deferred,
# retrying), has its recipients checked against the suppression list again
# before it is sent: one BatchGetItem, which a fresh email does not need (its
# accept checked them moments ago, in the same transaction as its write).
RECHECK_AFTER = timedelta(minutes=5)


def _waited(email):
    return (email["status"] in (model.SCHEDULED, model.DEFERRED, model.RETRYING)
            or model.now() - model.parse_iso(email["created_at"]) > RECHECK_AFTER)


def _suppression_recheck(request):
    """Raises Suppressed when a recipient was suppressed since the accept
    (a bounce or complaint of another email, staff, the API)."""
    blocked = suppressed_among(request_recipients(request))
    if blocked:
        raise Suppressed(blocked)


def _preparation_error(err):
    """What an error before the claim means, as a SendError: AWS out of reach
    (S3, say) and anything unforeseen are transient, tried again with
    backoff; a request that cannot be built into an email is permanent, and
    so is a recipient suppressed since the accept (the email is parked for a
    human: unsuppress, then resend)."""
    if isinstance(err, Suppressed):
        return SendError(f"Suppressed since it was accepted: {', '.join(err.addresses)}. Remove them from the "
                         "suppression list and resend, if they should get it.",
                         code="suppressed_recipient", kind=ses.PERMANENT)
    if isinstance(err, AwsUnavailable):
        return SendError(err.message, code=err.code, kind=ses.TRANSIENT)
    if isinstance(err, (KeyError, ValueError, TypeError, MessageError)):
        return SendError(f"The stored request cannot be built into an email: {type(err).__name__}: {err}",
                         code="invalid_message", kind=ses.PERMANENT)
    logger.exception("Unexpected error while preparing an email")
    return SendError(f"Unexpected error before sending: {type(err).__name__}: {err}",
                     code="internal_error", kind=ses.TRANSIENT)


def _attempt_failed(email_id, err, *, expect_statuses=model.CLAIMABLE):
    """Count an attempt that failed before its claim (nothing was sent): retry
    with backoff, or fail and park once attempts run out or the error is permanent."""
    moment = model.now()
    try:
        email = email_transition(
            email_id, to_status=model.RETRYING, expect_statuses=expect_statuses, moment=moment,
            increments={"attempts": 1}, remove_attrs=("claim_id", "lease_until"),
            companions=(),  # the item is needed back; _retry or _fail right after moves the small items
        )
    except ConditionFailed:
        return _not_claimable(email_id)
    attempt = email["attempts"]
    if err.kind == ses.TRANSIENT and attempt < settings.EMAILHUB_MAX_ATTEMPTS:
        return _retry(email, None, err, attempt, expect_statuses=(model.RETRYING,))
    return _fail(email, None, err, attempt, expect_statuses=(model.RETRYING,))


def _send(email, claim_id, arguments, recipients):
    attempt = email["attempts"]
    try:
        message_id = ses.send(**arguments)
    except SendError as err:
        if err.kind == ses.QUOTA:
            return _defer(email["id"], claim_id=claim_id, reason=f"{err.code}: {err.message}", refund=True,
                          companions=email.get("companions", ()))
        if err.kind == ses.TRANSIENT and attempt < settings.EMAILHUB_MAX_ATTEMPTS:
            return _retry(email, claim_id, err, attempt)
        return _fail(email, claim_id, err, attempt)
    except Exception as err:  # noqa: BLE001 - not in the error table: SES may have sent it
        logger.exception("email %s: unexpected error from the SES call", email["id"])
        unknown = SendError(f"The SES call ended in an unexpected error ({type(err).__name__}: {err}); it may "
                            "or may not have been sent. Check with the recipient before resending.",
                            code="outcome_unknown", kind=ses.UNKNOWN)
        return _fail(email, claim_id, unknown, attempt)
    fault_point("after_ses_call")
    pacing.count_sent(recipients=recipients)
    _record_sent(email, claim_id, attempt, message_id)
    return "sent"


SENT_WRITE_TRIES = 4


def _record_sent(email, claim_id, attempt, message_id):
    """SES has the email now: recording that must not be given up lightly, or a
    redelivery would see a stale `sending` and park it as an unknown outcome."""
    logger.info("email %s: SES accepted it as %s", email["id"], message_id)
    for try_number in range(SENT_WRITE_TRIES):
        moment = model.now()
        try:
            email_transition(
                email["id"], to_status=model.SENT, claim_id=claim_id, moment=moment,
                events=[event("sent", moment, attempt=attempt, ses_message_id=message_id)],
                set_attrs={"ses_message_id": message_id, "sent_at": model.iso(moment)},
                remove_attrs=("claim_id", "lease_until"), companions=email.get("companions", ()),
            )
            break
        except AwsUnavailable:
            if try_number == SENT_WRITE_TRIES - 1:
                logger.error("email %s was SENT by SES as %s but could not be recorded", email["id"], message_id)
                raise
            time.sleep(0.2 * 2 ** try_number)
    stats_record(outcome=model.SENT, moment=moment)


def _quota_used_up():
    try:
        return pacing.quota_exhausted()
    except AwsUnavailable:
        return False  # cannot tell: SES itself will refuse if it is, and the email is deferred then


def _hold(email_id, *, reason, ready=model.CLAIMABLE):
    """Sending is paused (emailhub/reputation.py): defer the email like a
    used-up quota does, no attempt used. An email already waiting for the
    same reason goes back on the outbox without another timeline entry, so a
    pause of days does not grow its item by one entry every 15 minutes."""
    email = email_get(email_id)
    if email is None or email["status"] not in ready:
        return _not_claimable(email_id, email)
    if email["status"] == model.DEFERRED and (email.get("last_error") or {}).get("code") == PAUSED_CODE:
        outbox_enqueue(email_id=email_id, delay_seconds=min(900, settings.EMAILHUB_QUOTA_RETRY_SECONDS))
        metric_count("Deferred")
        return "deferred"
    return _defer(email_id, expect_statuses=ready, reason=reason, code=PAUSED_CODE,
                  companions=email.get("companions", ()))


PAUSED_CODE = "sending_paused"


def _defer(email_id, *, reason, claim_id=None, expect_statuses=None, refund=False, companions=None,
           code="quota_exhausted"):
    """Put the email aside until the 24-hour quota frees up (or sending
    resumes): status `deferred`, back on the outbox after
    EMAILHUB_QUOTA_RETRY_SECONDS, the attempt (if one was claimed) given back."""
    moment = model.now()
    delay = min(900, settings.EMAILHUB_QUOTA_RETRY_SECONDS)
    try:
        email_transition(
            email_id, to_status=model.DEFERRED, claim_id=claim_id, expect_statuses=expect_statuses,
            moment=moment, increments={"attempts": -1} if refund else None,
            events=[event("deferred", moment, reason=reason, retry_in_seconds=delay)],
            set_attrs={"last_error": {"code": code, "message": reason, "kind": ses.QUOTA,
                                      "at": model.iso(moment)},
                       "next_attempt_at": model.iso(moment + timedelta(seconds=delay))},
            remove_attrs=("claim_id", "lease_until"), companions=companions,
        )
    except ConditionFailed:
        return _not_claimable(email_id)
    outbox_enqueue(email_id=email_id, delay_seconds=delay)
    metric_count("Deferred")
    return "deferred"


# An error's message as recorded: enough for a human, small enough that the
# timeline of every attempt stays far inside DynamoDB's item limit.
ERROR_MESSAGE_CHARS = 1000


def _error(err, attempt, moment):
    message = err.message if len(err.message) <= ERROR_MESSAGE_CHARS else err.message[:ERROR_MESSAGE_CHARS] + "…"
    return {"code": err.code, "message": message, "kind": err.kind, "attempt": attempt, "at": model.iso(moment)}


def retry_delay(attempt):
    """Exponential backoff with jitter: about base * 2^(attempt-1) seconds,
    randomised over its upper half, capped by SQS's 15-minute delay limit."""
    ceiling = min(settings.EMAILHUB_RETRY_MAX_SECONDS, 900,
                  settings.EMAILHUB_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return int(ceiling / 2 + random.uniform(0, ceiling / 2))


def _retry(email, claim_id, err, attempt, expect_statuses=None):
    moment = model.now()
    delay = retry_delay(attempt)
    error = _error(err, attempt, moment)
    email_transition(
        email["id"], to_status=model.RETRYING, claim_id=claim_id, expect_statuses=expect_statuses, moment=moment,
        events=[event("attempt_failed", moment, attempt=attempt, code=err.code, message=error["message"],
                      kind=err.kind, retry_in_seconds=delay)],
        set_attrs={"last_error": error,
                   "next_attempt_at": model.iso(moment + timedelta(seconds=delay))},
        remove_attrs=("claim_id", "lease_until"), companions=email.get("companions", ()),
    )
    # If this enqueue fails the exception makes SQS redeliver the current
    # message, which finds the email `retrying` and claims it again.
    outbox_enqueue(email_id=email["id"], delay_seconds=delay)
    metric_count("Retried")
    if not any(e.get("type") == "attempt_failed" for e in email.get("events") or ()):
        stats_record(outcome=model.RETRYING, moment=moment)  # an email, not each of its retries
    return "retrying"


def _fail(email, claim_id, err, attempt, expect_statuses=None):
    moment = model.now()
    exhausted = err.kind == ses.TRANSIENT
    error = _error(err, attempt, moment)
    if exhausted:
        error = {**error, "code": "attempts_exhausted",
                 "message": f"Gave up after {attempt} attempts; last error {err.code}: {error['message']}"}
    email_transition(
        email["id"], to_status=model.FAILED, claim_id=claim_id,
        expect_statuses=expect_statuses, moment=moment,
        events=[event("failed", moment, attempt=attempt, code=error["code"], message=error["message"],
                      kind=err.kind, ses_error=err.code if exhausted else None)],
        set_attrs={"last_error": error, "failed_at": model.iso(moment)},
        remove_attrs=("claim_id", "lease_until"), companions=email.get("companions", ()),
    )
    stats_record(outcome=model.FAILED, moment=moment)
    email_park(email={**email, "attempts": attempt, "last_error": error, "failed_at": model.iso(moment)})
    return "failed"


def email_park(*, email):
    """Put a failed email on the dead-letter queue, then record where it went.
    The message is small whatever the email (its id, its error, its attempts:
    well under SQS's 256 KiB); the request and summary stay in DynamoDB or S3,
    where the dashboard reads them."""
    body = {
        "email_id": email["id"],
        "error": email.get("last_error"),
        "attempts": email.get("attempts", 0),
        "failed_at": email.get("failed_at"),
    }
    fault_point("during_park")
    message_id = sqs.send(settings.EMAILHUB_DLQ, body)
    fault_point("after_park")
    moment = model.now()
    email_transition(email["id"], moment=moment, set_attrs={"dlq_message_id": message_id},
                     events=[event("parked", moment, dlq_message_id=message_id)])
    return message_id


def _not_claimable(email_id, email=None):
    """The email cannot be claimed (`email`, if already read): decide what the
    outbox message means now."""
    email = email or email_get(email_id)
    if email is None:
        logger.warning("Outbox message for unknown email %s dropped", email_id)
        return "missing"
    moment = model.now()
    if email["status"] in model.EXPIRABLE and email_overdue(email, moment):
        try:
            return email_expire(email=email, moment=moment)
        except ConditionFailed:
            return _not_claimable(email_id)
    if email["status"] == model.SCHEDULED:
        return _scheduled_message(email, moment)
    if email["status"] == model.SENDING:
        if email.get("lease_until", 0) > model.epoch(model.now()):
            raise EmailBusy(f"Email {email_id} is being sent by another worker.")
        # The worker holding it stopped mid-send: SES may or may not have sent
        # it. Sending again could send twice, so a human decides.
        unknown = SendError(
            "A worker stopped while sending this email; SES may or may not have sent it. "
            "Check with the recipient before resending.", code="outcome_unknown", kind=ses.PERMANENT)
        try:
            return _fail(email, email.get("claim_id"), unknown, email.get("attempts", 0),
                         expect_statuses=(model.SENDING,))
        except ConditionFailed:
            return _not_claimable(email_id)
    if email["status"] in (model.CANCELED, model.EXPIRED):
        return email["status"]
    if email["status"] == model.FAILED and not email.get("dlq_message_id"):
        email_park(email=email)  # a previous park was interrupted
        return "failed"
    return "duplicate"


def _scheduled_message(email, moment):
    """An outbox message for an email still `scheduled`: early (it was
    rescheduled later, or the delay was cut short), or due but changed while
    it was being claimed."""
    if email["send_at"] <= model.iso(moment):
        raise EmailBusy(f"Email {email['id']} changed while it was being claimed; trying again.")
    if email.get("schedule_bucket"):
        return "not_due"  # it waits in the schedule-index: the tick enqueues it when due
    # This message is the email's only way to the outbox: send it again, delayed.
    outbox_enqueue(email_id=email["id"], delay_seconds=scheduled_delay(email, moment))
    return "not_due"
