"""The scheduler's tick: every minute (a Zappa `events` rule; a thread of
`manage.py run_local`), hand the emails due in the next minute to the outbox.

Its cost does not depend on how many emails are scheduled: it Queries only
the minute buckets of the schedule-index from the last minute it finished to
the coming one, and each Query's key condition (send_at <= now + a minute)
reads only the emails that are due. Per tick: one UpdateItem to take the
tick's lease (and read where the last tick stopped), a Query per minute
bucket (two, normally), and per due email a share of a SendMessageBatch (with
the delay left, so it is sent on the second) and one UpdateItem that takes it
out of the index.

Each email is enqueued *before* it leaves the index: a tick that dies between
the two leaves it in the index for the next tick (the extra message is
harmless: the worker's claim is conditional), never lost. The lease keeps two
ticks from working at the same time, so they do not enqueue an email twice.
An email whose expires_at has passed is expired here instead of enqueued."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb, sqs
from emailhub.emails import email_transition, event
from emailhub.errors import ConditionFailed
from emailhub.scheduling.expiry import email_expire, email_overdue
from emailhub.scheduling.timing import Schedule

logger = logging.getLogger(__name__)

TICK_KEY = ("SCHEDULER", "TICK")
# Emails due within this much of the tick are enqueued with the delay left:
# the next tick may come up to a minute later.
LOOKAHEAD = timedelta(seconds=60)
# At most this many emails handed off per tick (one UpdateItem each), so a
# tick after an outage ends well inside the function's timeout; the rest wait
# for the next tick, which starts from the same buckets.
MAX_PER_TICK = 500
# A tick that has not finished in this long is taken to have died.
LEASE_SECONDS = 120


@dataclass
class TickReport:
    enqueued: list = field(default_factory=list)
    expired: list = field(default_factory=list)
    skipped: int = 0  # changed by someone else meanwhile (canceled, rescheduled, sent)
    buckets: int = 0
    items_read: int = 0
    busy: bool = False  # another tick holds the lease


def scheduler_tick(*, moment=None):
    """Hand every email due by `moment` + LOOKAHEAD to the outbox (expire the
    overdue ones). Returns a TickReport."""
    moment = moment or model.now()
    report = TickReport()
    state = _lease_take(moment)
    if state is None:
        report.busy = True
        return report
    done = state.get("done_bucket")
    try:
        due = []
        for bucket in _buckets(done, moment):
            report.buckets += 1
            due += _due_in(bucket, moment + LOOKAHEAD)
        report.items_read = len(due)
        _hand_off(sorted(due, key=lambda e: e["send_at"])[:MAX_PER_TICK], moment, report)
        if len(due) <= MAX_PER_TICK:
            # The current minute is looked at again next time: a reschedule can still add to it.
            done = model.schedule_bucket(moment - timedelta(minutes=1))
    finally:
        _lease_release(done)
    if report.enqueued or report.expired:
        logger.info("scheduler: %d enqueued, %d expired", len(report.enqueued), len(report.expired))
    return report


def _lease_take(moment):
    """Take the tick's lease; returns the tick's item, or None when another tick holds it."""
    try:
        return dynamodb.update(
            *TICK_KEY, expression="SET lease_until = :until",
            condition="attribute_not_exists(lease_until) OR lease_until < :now",
            values={":until": model.epoch(moment) + LEASE_SECONDS, ":now": model.epoch(moment)})
    except ConditionFailed:
        logger.info("scheduler: the previous tick is still running")
        return None


def _lease_release(done_bucket):
    values = {":done": done_bucket} if done_bucket else None
    dynamodb.update(*TICK_KEY, expression=("SET done_bucket = :done " if done_bucket else "") + "REMOVE lease_until",
                    values=values)


def _buckets(done_bucket, moment):
    """The minute buckets to look at: after the last one finished (at most
    EMAILHUB_SCHEDULER_CATCH_UP_MINUTES back) through the coming minute."""
    first = moment - timedelta(minutes=settings.EMAILHUB_SCHEDULER_CATCH_UP_MINUTES)
    if done_bucket:
        first = max(first, model.parse_iso(done_bucket + ":00.000000Z") + timedelta(minutes=1))
    first = first.replace(second=0, microsecond=0)
    last = moment + LOOKAHEAD
    buckets = []
    while first <= last:
        buckets.append(model.schedule_bucket(first))
        first += timedelta(minutes=1)
    return buckets


def _due_in(bucket, until):
    """The index entries of `bucket` due by `until` (every page)."""
    found, start_key = [], None
    while True:
        entries, start_key = dynamodb.query(
            index=model.SCHEDULE_INDEX, key_condition="schedule_bucket = :b AND send_at <= :until",
            values={":b": bucket, ":until": model.iso(until)}, start_key=start_key, newest_first=False)
        found += entries
        if not start_key:
            return found


def _hand_off(entries, moment, report):
    overdue = [e for e in entries if email_overdue(e, moment)]
    for entry in overdue:
        try:
            email_expire(email=entry, moment=moment)
            report.expired.append(entry["id"])
        except ConditionFailed:
            report.skipped += 1
    due = [e for e in entries if not email_overdue(e, moment)]
    if not due:
        return
    delays = [Schedule(send_at=model.parse_iso(e["send_at"])).delay_seconds(moment) for e in due]
    failed = set(sqs.send_batch(settings.EMAILHUB_OUTBOX_QUEUE, [{"email_id": e["id"]} for e in due],
                                delays=delays))
    for index, entry in enumerate(due):
        if index in failed:
            continue  # still in the index: the next tick tries again
        report.enqueued.append(entry["id"])
        try:
            email_transition(
                entry["id"], expect_statuses=(model.SCHEDULED,), moment=moment,
                condition="schedule_bucket = :bucket", condition_values={":bucket": entry["schedule_bucket"]},
                events=[event("due", moment, send_at=entry["send_at"])], remove_attrs=("schedule_bucket",),
                companions=())
        except ConditionFailed:
            # Claimed, canceled or rescheduled meanwhile: the message finds it so.
            report.skipped += 1
