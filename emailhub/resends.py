"""Resending and discarding failed emails: what staff do with the dead-letter
queue. The dashboard calls these; they reuse the API's accept path.

A resend creates a child email (parent_id → the original) through the same
service the API uses, with the idempotency key `resend:<original id>`, and
moves the original to `resent` (resent_as → the child). So a second click,
or two staff members at once, can never make a second child: the idempotency
record and the conditional status change both stand in the way."""

import time
from dataclasses import dataclass, field
from typing import Optional

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb, sqs
from emailhub.dlq import dlq_remove
from emailhub.emails import email_transition, event
from emailhub.errors import ConditionFailed, EmailhubError, Suppressed, UnverifiedIdentities
from emailhub.identities import unverified_addresses
from emailhub.payloads import payload_load
from emailhub.services import email_accept, request_recipients
from emailhub.stats import stats_record
from emailhub.suppression import suppressed_among

RESENDABLE = (model.FAILED,)
DASHBOARD_KEY = "dashboard"
CHUNK = 25  # emails per paced step: 3 SendMessageBatch calls, then a pause


@dataclass
class Planned:
    email_id: str
    action: str  # "resend" | "discard" | "skip"
    reason: str = ""
    email: Optional[dict] = None
    addresses: list = field(default_factory=list)


@dataclass
class Result:
    email_id: str
    outcome: str  # "resent" | "discarded" | "skipped" | "error"
    detail: str = ""
    child_id: Optional[str] = None

    def as_dict(self):
        return {k: v for k, v in self.__dict__.items() if v}


def _load(email_ids):
    found = dynamodb.batch_get([model.email_key(i) for i in email_ids if model.is_email_id(i)])
    return {i: found.get(model.email_key(i)[0]) for i in email_ids}


def _skip_reason(email):
    if email is None:
        return "no such email"
    if email.get("resent_as"):
        return f"already resent as {email['resent_as']}"
    if email["status"] not in RESENDABLE:
        return f"status is {email['status']}, only failed emails are resent"
    return ""


def resend_plan(*, email_ids):
    """What a resend of `email_ids` would do, without doing it: for each, resend
    or skip and why (not failed, already resent, suppressed or unverified addresses)."""
    plan = []
    for email_id, email in _load(list(dict.fromkeys(email_ids))).items():
        reason = _skip_reason(email)
        if reason:
            plan.append(Planned(email_id, "skip", reason, email))
            continue
        request = payload_load(email=email)
        suppressed = suppressed_among(request_recipients(request))
        blocked = unverified_addresses([request["sender"], *request_recipients(request)])
        if suppressed:
            plan.append(Planned(email_id, "skip", "suppressed: " + ", ".join(suppressed), email, suppressed))
        elif blocked:
            plan.append(Planned(email_id, "skip", "unverified in the SES sandbox: " + ", ".join(blocked),
                                email, blocked))
        else:
            plan.append(Planned(email_id, "resend", "", email))
    return plan


def emails_resend(*, email_ids, actor, pause_seconds=None):
    """Resend failed emails; returns one Result per email. Paced: a pause
    after every CHUNK emails keeps a bulk resend from bursting into SES."""
    pause = settings.EMAILHUB_RESEND_PAUSE_SECONDS if pause_seconds is None else pause_seconds
    results = []
    plan = resend_plan(email_ids=email_ids)
    for start in range(0, len(plan), CHUNK):
        if start:
            time.sleep(pause)
        results += _resend_chunk(plan[start:start + CHUNK], actor)
    # Only now that the children are on the outbox do the parked messages go.
    return _note_dlq_removal(results, "resent")


def _note_dlq_removal(results, outcome):
    """Take the done emails' messages off the DLQ, and say in each result whether it went."""
    done = [r.email_id for r in results if r.outcome == outcome]
    removed = dlq_remove(email_ids=done) if done else set()
    for result in results:
        if result.outcome == outcome and result.email_id not in removed:
            result.detail = (result.detail + "; " if result.detail else "") + \
                "its dead-letter message was not found to remove (use Tidy on the DLQ page)"
    return results


def _resend_chunk(plan, actor):
    results, children = [], {}
    for planned in plan:
        if planned.action == "skip":
            results.append(Result(planned.email_id, "skipped", planned.reason))
            continue
        try:
            children[planned.email_id] = _child(planned.email, actor)
        except (UnverifiedIdentities, Suppressed) as err:
            results.append(Result(planned.email_id, "skipped", err.message))
        except EmailhubError as err:
            results.append(Result(planned.email_id, "error", err.message))
    failed = set(sqs.send_batch(settings.EMAILHUB_OUTBOX_QUEUE,
                                [{"email_id": child} for child in children.values()]))
    for index, (original, child) in enumerate(children.items()):
        if index in failed:
            results.append(Result(original, "error", "the outbox refused the message; try again", child))
            continue
        results.append(_mark_resent(original, child, actor))
    return results


# A resend goes now: the original's schedule and deadline are behind it.
NOT_RESENT = ("send_at", "expires_at")


def _child(original, actor):
    """The copy belongs to the original's API key (a `send` key reads and
    lists it as its own); its idempotency record is the dashboard's, out of
    reach of the keys' own Idempotency-Keys."""
    request = {k: v for k, v in payload_load(email=original).items() if k not in NOT_RESENT}
    accepted = email_accept(
        request=request, api_key_prefix=DASHBOARD_KEY,
        idempotency_key=f"resend:{original['id']}",
        extra={"parent_id": original["id"], "resent_by": actor,
               "api_key_prefix": original.get("api_key_prefix", DASHBOARD_KEY)},
        search_key=original.get("search_key"),
    )
    return accepted.body["id"]


def _mark_resent(original, child, actor):
    moment = model.now()
    try:
        email_transition(
            original, to_status=model.RESENT, expect_statuses=RESENDABLE,
            moment=moment, set_attrs={"resent_as": child},
            events=[event("resent", moment, by=actor, child_id=child)],
        )
    except ConditionFailed:
        return Result(original, "skipped", "resent at the same moment by someone else", child)
    stats_record(outcome=model.RESENT, moment=moment)
    return Result(original, "resent", f"resent as {child}", child)


def discard_plan(*, email_ids):
    plan = []
    for email_id, email in _load(list(dict.fromkeys(email_ids))).items():
        reason = _skip_reason(email)
        plan.append(Planned(email_id, "skip" if reason else "discard", reason, email))
    return plan


def emails_discard(*, email_ids, actor):
    """Mark failed emails `discarded` and take them off the dead-letter queue."""
    results = []
    for planned in discard_plan(email_ids=email_ids):
        if planned.action == "skip":
            results.append(Result(planned.email_id, "skipped", planned.reason))
            continue
        moment = model.now()
        try:
            email_transition(planned.email_id, to_status=model.DISCARDED, expect_statuses=RESENDABLE, moment=moment,
                             events=[event("discarded", moment, by=actor)])
        except ConditionFailed:
            results.append(Result(planned.email_id, "skipped", "changed by someone else meanwhile"))
            continue
        stats_record(outcome=model.DISCARDED, moment=moment)
        results.append(Result(planned.email_id, "discarded"))
    return _note_dlq_removal(results, "discarded")
