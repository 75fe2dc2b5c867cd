"""The stuck-email alarm: emails that should have moved on by now.

- still queued, retrying or sending EMAILHUB_STUCK_QUEUED_MINUTES after they
  were accepted (a lost outbox message, a worker that is down), or deferred
  (daily quota) for more than a day;
- sent, but no delivery event after EMAILHUB_STUCK_SENT_HOURS (the SES event
  pipeline is broken, or the receiving server is slow).

Each is one Query per status (and index shard) on the status index, oldest first, bounded by
EMAILHUB_STUCK_LOOKBACK_DAYS and a result limit; shown on the dashboard,
reported by /health as degraded and by `manage.py stuck_emails`."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.services import outbox_enqueue

WAITING = (model.QUEUED, model.RETRYING, model.SENDING)


@dataclass(frozen=True)
class Stuck:
    email: dict
    reason: str


def _older_than(status, cutoff, limit):
    """Emails in `status` created within the lookback window and before
    `cutoff`, oldest first: one Query per index shard."""
    since = model.now() - timedelta(days=settings.EMAILHUB_STUCK_LOOKBACK_DAYS + 1)
    found = []
    for key in model.shard_keys(status):
        items, _ = dynamodb.query(
            index=model.STATUS_INDEX, key_condition="email_status = :status AND created_at BETWEEN :since AND :cutoff",
            values={":status": key, ":since": model.iso(since), ":cutoff": model.iso(cutoff)}, limit=limit,
            newest_first=False,
        )
        # Its last change must be that old too: a scheduled email is sent (or
        # queued) long after it was created, and waits only from then.
        found += [email for email in items if email.get("updated_at", email["created_at"]) < model.iso(cutoff)]
    return sorted(found, key=lambda email: email["created_at"])[:limit]


def emails_stuck(*, limit=100):
    """Stuck emails, oldest reason first: [Stuck]."""
    moment = model.now()
    stuck = []
    queued_cutoff = moment - timedelta(minutes=settings.EMAILHUB_STUCK_QUEUED_MINUTES)
    for status in WAITING:
        for email in _older_than(status, queued_cutoff, limit - len(stuck)):
            stuck.append(Stuck(email, f"still {status} {settings.EMAILHUB_STUCK_QUEUED_MINUTES}+ minutes after it was accepted"))
        if len(stuck) >= limit:
            return stuck
    # A deferred email waits for the 24-hour quota window to move, or for paused
    # sending to resume (emailhub/reputation.py): stuck only past a day.
    deferred_cutoff = moment - timedelta(days=1, minutes=settings.EMAILHUB_STUCK_QUEUED_MINUTES)
    for email in _older_than(model.DEFERRED, deferred_cutoff, limit - len(stuck)):
        waiting = ("sending to resume" if (email.get("last_error") or {}).get("code") == "sending_paused"
                   else "the daily quota")
        stuck.append(Stuck(email, f"deferred for more than a day, waiting for {waiting}"))
    if len(stuck) >= limit:
        return stuck
    if settings.EMAILHUB_STUCK_SENT_HOURS:
        sent_cutoff = moment - timedelta(hours=settings.EMAILHUB_STUCK_SENT_HOURS)
        for email in _older_than(model.SENT, sent_cutoff, limit - len(stuck)):
            stuck.append(Stuck(email, f"sent, but no delivery event in {settings.EMAILHUB_STUCK_SENT_HOURS}+ hours"))
    return stuck


def emails_requeue_stuck(*, stuck):
    """Put stuck queued (or long-deferred) emails back on the outbox; the worker's conditional
    claim makes a second message for one email harmless. Returns their ids."""
    ids = [s.email["id"] for s in stuck if s.email["status"] in (model.QUEUED, model.DEFERRED)]
    for email_id in ids:
        outbox_enqueue(email_id=email_id)
    return ids
