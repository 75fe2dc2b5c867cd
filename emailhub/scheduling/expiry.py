"""expires_at: an email not sent by then is never sent. The worker checks it
at the claim (the claim's condition refuses an overdue email, see
services.email_deliver) and the scheduler's tick for emails still waiting."""

from emailhub import model
from emailhub.emails import email_companions, email_transition, event
from emailhub.stats import stats_record


def email_overdue(email, moment):
    """True when `email` has an expires_at and it has passed at `moment`."""
    return bool(email.get("send_by")) and email["send_by"] <= model.iso(moment)


def email_expire(*, email, moment=None):
    """Move an overdue email to `expired` (from any status before `sending`):
    on its timeline, never on the dead-letter queue, never sent afterwards.
    Raises ConditionFailed when it was claimed or changed meanwhile."""
    moment = moment or model.now()
    email_transition(
        email["id"], to_status=model.EXPIRED, expect_statuses=model.EXPIRABLE, moment=moment,
        condition="send_by <= :now_iso", condition_values={":now_iso": model.iso(moment)},
        events=[event("expired", moment, expires_at=email.get("send_by"))],
        set_attrs={"expired_at": model.iso(moment)},
        remove_attrs=("schedule_bucket",), companions=email_companions(email),
    )
    stats_record(outcome=model.EXPIRED, moment=moment)
    return "expired"
