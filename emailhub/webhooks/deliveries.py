"""Delivery items: one per (endpoint, event), pk=WHDEL#<endpoint id>#<event id>.

The item is the lock that keeps one event from being in flight twice: the
worker claims it (`sending`, with a lease) with a conditional write before
each POST, and a replay may only put it back on the queue (`queued`) from
`delivered` or `parked`. Listed per endpoint and day on the feed index
(feed=WHDEL#<endpoint id>#<day>): the dashboard's recent deliveries and the
replay of a time range are Queries, never a Scan.

States: queued (a replay is on its way) -> sending -> delivered | retrying
(back on the queue later) | parked (given up: on the webhooks dead-letter queue)."""

import uuid
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb, sqs
from emailhub.errors import ConditionFailed, EmailhubError

QUEUED, SENDING, RETRYING, DELIVERED, PARKED = "queued", "sending", "retrying", "delivered", "parked"
REPLAYABLE = (DELIVERED, PARKED)
SNIPPET_CHARS = 300
RETENTION_DAYS = 30


class DeliveryBusy(EmailhubError):
    """Another worker is posting this event right now: try the message later."""

    code = "webhook_delivery_busy"


class NotReplayable(EmailhubError):
    code = "webhook_not_replayable"


def _key(endpoint_id, event_id):
    return f"WHDEL#{endpoint_id}#{event_id}", "WHDEL"


def _feed(endpoint_id, day):
    return f"WHDEL#{endpoint_id}#{day}"


def delivery_get(*, endpoint_id, event_id):
    return dynamodb.get(*_key(endpoint_id, event_id))


def delivery_claim(*, endpoint_id, event, moment, lease_seconds):
    """Take the delivery for one attempt. Returns the claim id, or None when
    it was already delivered or parked (a duplicate message). Raises
    DeliveryBusy when another attempt holds it."""
    claim_id = uuid.uuid4().hex
    now = model.iso(moment)
    names = {"#status": "status", "#summary": "summary"}
    values = {
        ":sending": SENDING, ":queued": QUEUED, ":retrying": RETRYING, ":claim": claim_id, ":now": now,
        ":lease": model.epoch(moment) + lease_seconds, ":epoch": model.epoch(moment), ":zero": 0, ":one": 1,
        ":payload": event, ":feed": _feed(endpoint_id, now[:10]), ":endpoint": endpoint_id, ":event": event["id"],
        ":summary": {"event_type": event["type"], "event_id": event["id"]},
        ":ttl": model.epoch(moment + timedelta(days=RETENTION_DAYS)),
    }
    try:
        dynamodb.update(
            *_key(endpoint_id, event["id"]),
            expression="SET #status = :sending, claim_id = :claim, lease_until = :lease, updated_at = :now, "
                       "attempts = if_not_exists(attempts, :zero) + :one, payload = if_not_exists(payload, :payload), "
                       "feed = if_not_exists(feed, :feed), created_at = if_not_exists(created_at, :now), "
                       "id = :event, endpoint_id = :endpoint, #summary = if_not_exists(#summary, :summary), "
                       "expires_at = :ttl",
            names=names, values=values,
            condition="attribute_not_exists(pk) OR #status IN (:queued, :retrying) "
                      "OR (#status = :sending AND lease_until < :epoch)")
    except ConditionFailed:
        current = delivery_get(endpoint_id=endpoint_id, event_id=event["id"]) or {}
        if current.get("status") in REPLAYABLE:
            return None
        raise DeliveryBusy(f"Event {event['id']} is being delivered to {endpoint_id} by another attempt.")
    return claim_id


def delivery_record(*, endpoint_id, event_id, claim_id, state, moment, answer=None, error=None, extra=None):
    """Record how an attempt ended (state: delivered, retrying or parked)."""
    names = {"#status": "status"}
    values = {":state": state, ":now": model.iso(moment), ":claim": claim_id}
    sets = ["#status = :state", "updated_at = :now"]
    if answer is not None:
        names["#summary"] = "summary"
        values.update({":code": answer.status, ":ms": answer.latency_ms,
                       ":snippet": (answer.snippet or answer.error)[:SNIPPET_CHARS]})
        sets += ["#summary.code = :code", "#summary.latency_ms = :ms", "#summary.snippet = :snippet"]
    if error:
        values[":error"] = {"message": error[:500], "at": model.iso(moment)}
        sets.append("last_error = :error")
    for i, (attr, value) in enumerate((extra or {}).items()):
        names[f"#x{i}"], values[f":x{i}"] = attr, value
        sets.append(f"#x{i} = :x{i}")
    try:
        dynamodb.update(*_key(endpoint_id, event_id),
                        expression="SET " + ", ".join(sets) + " REMOVE claim_id, lease_until",
                        names=names, values=values, condition="claim_id = :claim")
    except ConditionFailed:
        pass  # our lease ran out and another attempt took over: its outcome is the one kept


def deliveries_recent(*, endpoint_id, limit=50, days=7, moment=None):
    """The endpoint's latest deliveries, newest first, from the last `days` days."""
    found, day = [], (moment or model.now())
    for _ in range(days):
        items, _ = dynamodb.query(index=model.FEED_INDEX, key_condition="feed = :feed",
                                  values={":feed": _feed(endpoint_id, model.iso(day)[:10])},
                                  limit=limit - len(found))
        found += items
        if len(found) >= limit:
            break
        day -= timedelta(days=1)
    return found


def deliveries_parked(*, endpoint_id, since, until, max_items=1000):
    """Parked deliveries created between `since` and `until` (datetimes):
    one Query per day, filtered to `parked`."""
    found, day = [], since.date()
    while day <= until.date() and len(found) < max_items:
        start = None
        while len(found) < max_items:
            items, start = dynamodb.query(
                index=model.FEED_INDEX, key_condition="feed = :feed AND created_at BETWEEN :since AND :until",
                filter_expression="#status = :parked", names={"#status": "status"},
                values={":feed": _feed(endpoint_id, day.isoformat()), ":since": model.iso(since),
                        ":until": model.iso(until), ":parked": PARKED},
                start_key=start, newest_first=False)
            found += items
            if not start:
                break
        day += timedelta(days=1)
    return found[:max_items]


def delivery_replay(*, endpoint_id, event_id):
    """Put one delivered or parked event back on the webhooks queue. The
    conditional move to `queued` makes a second replay (or one while the event
    is still being tried) refuse instead of sending a second copy."""
    moment = model.now()
    try:
        item = dynamodb.update(
            *_key(endpoint_id, event_id),
            expression="SET #status = :queued, updated_at = :now, replays = if_not_exists(replays, :zero) + :one",
            names={"#status": "status"},
            values={":queued": QUEUED, ":now": model.iso(moment), ":zero": 0, ":one": 1,
                    ":delivered": DELIVERED, ":parked": PARKED},
            condition="#status IN (:delivered, :parked)")
    except ConditionFailed as err:
        raise NotReplayable(f"Event {event_id} is not delivered or parked (it may be on its way already).") from err
    try:
        sqs.send(settings.EMAILHUB_WEBHOOKS_QUEUE, {"endpoint_id": endpoint_id, "event": item["payload"]})
    except EmailhubError:
        # Nothing went out: it stays replayable.
        dynamodb.update(*_key(endpoint_id, event_id), expression="SET #status = :parked",
                        names={"#status": "status"}, values={":parked": PARKED, ":queued": QUEUED},
                        condition="#status = :queued")
        raise
    return item


def deliveries_replay_parked(*, endpoint_id, since, until):
    """Replay every parked delivery of the endpoint created in [since, until].
    Returns (replayed event ids, refused: [(event id, why)])."""
    replayed, refused = [], []
    for entry in deliveries_parked(endpoint_id=endpoint_id, since=since, until=until):
        try:
            delivery_replay(endpoint_id=endpoint_id, event_id=entry["id"])
        except EmailhubError as err:
            refused.append((entry["id"], err.message))
            continue
        replayed.append(entry["id"])
    return replayed, refused
