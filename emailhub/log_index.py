"""Back-filling the email log's index keys on emails stored before them.

Emails accepted by an earlier release lack some of what `email_accept`
writes today (model.LOG_INDEX_VERSION): the tag, domain, combination and
address-prefix keys on their small items, the status on those items, the
email's `email_status` and `feed` partitions, or, for an email sent with a
`send` key, that key's KEY# item and copies of the small items. The back-fill walks the
feed index day by day, oldest first (Queries, never a Scan), and writes
each such email's small items as `email_accept` would today, with the
email's current status. It is

- complete: each day is read from the day's feed partition of earlier
  releases and from every shard of today's feed;
- idempotent: an email at the current `log_index` version is left alone,
  so a second run writes nothing;
- resumable: after every page of the feed it records where it got to in a
  checkpoint item, and the next run starts there (`restart=True` starts
  over); `max_emails` ends a run early, for Lambda's 15-minute limit;
- safe beside the live pipeline: the email's update is conditional on the
  status it read and on its version, in the same transaction as its small
  items; if the email moved meanwhile, it is read again.
"""

import functools
import json
from datetime import date, timedelta

from django.conf import settings

from emailhub import model
from emailhub.apikeys import api_key_get
from emailhub.aws import dynamodb
from emailhub.emails import TRANSACTION_ITEMS, companion_items
from emailhub.errors import ConditionFailed

CHECKPOINT_KEY = ("BACKFILL#log-index", "BACKFILL")
PAGE = 100
TRIES = 3


def log_index_backfill(*, restart=False, max_emails=None, progress=None, today=None):
    """Back-fill every email in the retention window. Returns a dict of
    counts: emails seen, back-filled, already done, and `finished` (False
    when max_emails stopped it; run it again to go on)."""
    progress = progress or (lambda line: None)
    today = today or model.now().date()
    first_day = today - timedelta(days=settings.EMAILHUB_RETENTION_DAYS)
    checkpoint = None if restart else dynamodb.get(*CHECKPOINT_KEY)
    if checkpoint and checkpoint.get("finished"):
        checkpoint = None if checkpoint.get("today") != today.isoformat() else checkpoint
    day = date.fromisoformat(checkpoint["day"]) if checkpoint else first_day
    part = int(checkpoint.get("part", 0)) if checkpoint else 0
    start_key = json.loads(checkpoint["key"]) if checkpoint and checkpoint.get("key") else None
    if checkpoint:
        progress(f"Resuming at {day.isoformat()} (checkpoint of an earlier run).")
    counts = {"seen": 0, "backfilled": 0, "already": 0, "busy": 0, "finished": False}
    busy = []
    while day <= today:
        day_counts = {"seen": 0, "backfilled": 0, "already": 0}
        partitions = _day_partitions(day)
        while part < len(partitions):
            condition, values = partitions[part]
            entries, start_key = dynamodb.query(index=model.FEED_INDEX, key_condition=condition, values=values,
                                                limit=PAGE, start_key=start_key, newest_first=False)
            for entry in entries:
                outcome = _backfill_email(entry["id"])
                day_counts["seen"] += 1
                if outcome == "busy":
                    busy.append(entry["id"])
                else:
                    day_counts[outcome] += 1
                if max_emails is not None and counts["backfilled"] + day_counts["backfilled"] >= max_emails:
                    resume_at = dynamodb.serialize({k: entry[k] for k in ("pk", "sk", "feed", "created_at")})
                    _save_checkpoint(day, part, resume_at, today)
                    _add(counts, day_counts)
                    _finish_busy(busy, counts, progress)
                    progress(f"{day.isoformat()}: {_line(day_counts)} "
                             f"(stopped after {max_emails:,}; run again to go on)")
                    return counts
            if not start_key:
                part += 1
            _save_checkpoint(day, part, start_key, today)
        _add(counts, day_counts)
        if day_counts["seen"]:
            progress(f"{day.isoformat()}: {_line(day_counts)}")
        day, part = day + timedelta(days=1), 0
        _save_checkpoint(day, part, None, today)
    _finish_busy(busy, counts, progress)
    dynamodb.put({"pk": CHECKPOINT_KEY[0], "sk": CHECKPOINT_KEY[1], "finished": True, "day": today.isoformat(),
                  "today": today.isoformat()})
    counts["finished"] = True
    progress(f"Done: {_line(counts)}.")
    return counts


def _day_partitions(day):
    """(key condition, values) of the feed partitions holding a day's emails:
    that day of every shard of today's feed, then the day's own partition of
    earlier releases, last because a back-filled email moves from it into
    one of the others: each email is seen once."""
    low, high = day.isoformat(), (day + timedelta(days=1)).isoformat()
    return [
        ("feed = :f AND created_at BETWEEN :low AND :high", {":f": feed, ":low": low, ":high": high})
        for feed in model.shard_keys(model.EMAIL_FEED)
    ] + [("feed = :f", {":f": f"EMAIL#{low}"})]


def _finish_busy(busy, counts, progress, *, wait_seconds=5):
    """The emails that were being sent when their day was walked: by now
    their send has ended (a claim lasts one SES call)."""
    import time

    if busy:
        time.sleep(min(wait_seconds, settings.EMAILHUB_CLAIM_LEASE_SECONDS))
    for email_id in busy:
        outcome = _backfill_email(email_id)
        if outcome == "busy":
            counts["busy"] += 1
            progress(f"{email_id} is still being sent: run the back-fill again with --restart to cover it.")
        else:
            counts[outcome] += 1


def _line(counts):
    return (f"{counts['seen']:,} emails, {counts['backfilled']:,} back-filled, "
            f"{counts['already']:,} already had their index items")


def _add(total, part):
    for name in ("seen", "backfilled", "already"):
        total[name] += part[name]


def _save_checkpoint(day, part, start_key, today):
    dynamodb.put({"pk": CHECKPOINT_KEY[0], "sk": CHECKPOINT_KEY[1], "day": day.isoformat(), "part": part,
                  "key": json.dumps(start_key) if start_key else "", "today": today.isoformat()})


@functools.lru_cache(maxsize=1024)
def _send_key(prefix):
    """`prefix` if it names a `send` key (its emails get the key's copies), else None."""
    api_key = api_key_get(prefix=prefix) if prefix else None
    return api_key.search_key if api_key else None


def _backfill_email(email_id):
    """"backfilled", "already" (also when the email is gone) or "busy" (being sent)."""
    pk, _ = model.email_key(email_id)
    for _attempt in range(TRIES):
        items, _ = dynamodb.query(key_condition="pk = :pk", values={":pk": pk}, newest_first=False)
        email = next((i for i in items if i["sk"] == "EMAIL"), None)
        if email is None or email.get("log_index", 0) >= model.LOG_INDEX_VERSION:
            return "already"
        status = email["status"]
        if status in model.NOT_ON_COMPANIONS:
            # The worker sending it read the email's old `companions` and
            # would not move the new ones: it is done at the end of the run.
            return "busy"
        search_key = email.get("search_key") or _send_key(email.get("api_key_prefix"))
        small = companion_items(
            email_id=email_id, moment=email["created_at"],
            # `rcpt` may carry a shard, and a key's copies start KEY#: the sort key says the address.
            addresses=[i["sk"].removeprefix("RCPT#") for i in items if i["sk"].startswith("RCPT#")],
            tags=email["summary"].get("tags"), expires_at=email.get(model.TTL_ATTRIBUTE), status=status,
            search_key=search_key)
        writes = []
        for item in small:
            if item[model.TTL_ATTRIBUTE] is None:
                del item[model.TTL_ATTRIBUTE]
            writes.append(("Put", dynamodb.put_args(item)))  # replaces an earlier release's item whole
        # The email's own update goes last, so it commits only once every small item is there.
        writes.append(("Update", dynamodb.update_args(
            pk, "EMAIL",
            expression="SET companions = :c, email_status = :es, feed = :feed, log_index = :v"
                       + (", search_key = :key" if search_key else "") + " REMOVE status_day",
            condition="#status = :seen AND (attribute_not_exists(log_index) OR log_index < :v)",
            names={"#status": "status"},
            values={":c": [i["sk"] for i in small], ":seen": status, ":es": model.sharded(status, email_id),
                    ":feed": model.email_feed(email_id), ":v": model.LOG_INDEX_VERSION,
                    **({":key": search_key} if search_key else {})})))
        try:
            for start in range(0, len(writes) - TRANSACTION_ITEMS, TRANSACTION_ITEMS):
                dynamodb.transact(writes[start:start + TRANSACTION_ITEMS])
            dynamodb.transact(writes[-(len(writes) % TRANSACTION_ITEMS or TRANSACTION_ITEMS):])
        except ConditionFailed:
            continue  # it moved meanwhile (or was back-filled by another run): look again
        return "backfilled"
    raise ConditionFailed(f"Email {email_id} kept changing while being back-filled; run the back-fill again.")
