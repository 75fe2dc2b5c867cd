"""What a client may do to an email before it is sent: cancel it, or move
its send_at. Both are conditional writes on the email's status, racing the
worker's claim (itself conditional): exactly one of them wins, so a cancel
that succeeds means the email is never sent."""

from django.conf import settings

from emailhub import model
from emailhub.emails import email_get, email_transition, event
from emailhub.errors import ConditionFailed, InvalidSchedule, NotFound, StatusConflict
from emailhub.scheduling.timing import parse_instant, send_at_check
from emailhub.stats import stats_record

_TOO_LATE = {
    model.SENDING: "A worker is sending it right now",
    model.QUEUED: "It is already waiting on the outbox to be sent now",
    model.RETRYING: "It is already waiting on the outbox to be tried again",
    model.DEFERRED: "It is already waiting on the outbox (for the SES quota, or for paused sending)",
}
_ONLY = {
    "canceled": "Only an email no worker is sending and none has sent (scheduled, queued, retrying or deferred)",
    "rescheduled": "Only a scheduled email",
}


def _conflict(email_id, action, code):
    """The StatusConflict to raise when `action` lost to another change."""
    email = email_get(email_id)
    if email is None:
        raise NotFound(f"No email with id {email_id!r}.")
    status = email["status"]
    reason = _TOO_LATE.get(status, f"It is already {status}")
    return StatusConflict(f"This email can no longer be {action}: {reason}. {_ONLY[action]} can be {action}.",
                          code=code, status=status)


def email_cancel(*, email, by=None):
    """Cancel `email` (as loaded by the caller) while no worker holds it and
    none has sent it (model.CANCELABLE); canceling a canceled email again
    changes nothing.
    Returns the status (`canceled`). Raises StatusConflict (code
    `not_cancelable`) when a worker got to it first."""
    if email["status"] == model.CANCELED:
        return model.CANCELED
    moment = model.now()
    try:
        email_transition(
            email["id"], to_status=model.CANCELED, expect_statuses=model.CANCELABLE, moment=moment,
            events=[event("canceled", moment, by=by)], set_attrs={"canceled_at": model.iso(moment)},
            remove_attrs=("schedule_bucket",), companions=email.get("companions", ()),
        )
    except ConditionFailed:
        raise _conflict(email["id"], "canceled", "not_cancelable") from None
    stats_record(outcome=model.CANCELED, moment=moment)
    return model.CANCELED


def email_reschedule(*, email, send_at, by=None):
    """Move a `scheduled` email's send_at to `send_at` (ISO 8601 text with an
    offset). It goes into the schedule-index at its new minute, whatever the
    delay: the tick hands it to the outbox on time (an outbox message the
    email already has finds it not due and is dropped). Returns the new
    send_at (ISO, UTC). Raises InvalidSchedule or StatusConflict (code
    `not_reschedulable`)."""
    moment = model.now()
    try:
        new = parse_instant(send_at)
    except ValueError as err:
        raise InvalidSchedule(str(err), code="invalid_datetime", field="send_at") from err
    send_at_check(new, moment)
    new = max(new, moment)
    if email.get("send_by") and email["send_by"] <= model.iso(new):
        raise InvalidSchedule(f"The email expires at {email['send_by']}, before this send_at: it would never "
                              "be sent. Choose an earlier send_at.", code="expires_before_send", field="send_at")
    if email["status"] != model.SCHEDULED:
        raise _conflict(email["id"], "rescheduled", "not_reschedulable")
    try:
        email_transition(
            email["id"], expect_statuses=(model.SCHEDULED,), moment=moment,
            events=[event("rescheduled", moment, send_at=model.iso(new), previous=email.get("send_at"), by=by)],
            set_attrs={"send_at": model.iso(new), "schedule_bucket": model.schedule_bucket(new),
                       "summary": {**email["summary"], "send_at": model.iso(new)},  # what lists show
                       # The TTL must not remove it before it is sent.
                       model.TTL_ATTRIBUTE: max(email.get(model.TTL_ATTRIBUTE, 0),
                                                model.epoch(new) + settings.EMAILHUB_RETENTION_DAYS * 86400)},
        )
    except ConditionFailed:
        raise _conflict(email["id"], "rescheduled", "not_reschedulable") from None
    return model.iso(new)
