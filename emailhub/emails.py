"""Email items in DynamoDB: creation and conditional status transitions.

Every status change is a conditional write, so a duplicated SQS delivery or a
second worker can never move an email along a path twice. Every change also
appends to the item's `events` timeline; nothing overwrites an earlier event.
"""

import random
import time
import uuid

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.errors import TransactionConflict


def event(event_type, moment, **details):
    return {"at": model.iso(moment), "type": event_type, **{k: v for k, v in details.items() if v is not None}}


def email_get(email_id):
    if not model.is_email_id(email_id):
        return None
    return dynamodb.get(*model.email_key(email_id))


def email_item(*, email_id, moment, summary, payload, api_key_prefix, idempotency_key, expires_at, extra=None,
               companions=(), status=model.QUEUED, search_key=None):
    pk, sk = model.email_key(email_id)
    item = {
        "pk": pk,
        "sk": sk,
        "id": email_id,
        "status": status,
        "email_status": model.sharded(status, email_id),
        "log_index": model.LOG_INDEX_VERSION,
        "feed": model.email_feed(email_id),
        "created_at": model.iso(moment),
        "updated_at": model.iso(moment),
        "summary": summary,
        "attempts": 0,
        "events": [event("accepted", moment, api_key=api_key_prefix,
                         resend_of=(extra or {}).get("parent_id"), by=(extra or {}).get("resent_by"))],
        "api_key_prefix": api_key_prefix,
        model.TTL_ATTRIBUTE: expires_at,
        **payload,
    }
    if idempotency_key:
        item["idempotency_key"] = idempotency_key
    if search_key:
        item["search_key"] = search_key  # the `send` key whose copies of the small items it has
    if companions:
        item["companions"] = list(companions)  # the sort keys of its small items
    item.update(extra or {})
    return item


def companion_items(*, email_id, moment, addresses, tags, expires_at, status=model.QUEUED, search_key=None):
    """Every small item of an email, for the log's indexes (see model):
    one per distinct recipient, per recipient domain and per tag, and the
    recipient×tag and domain×tag combinations (or, past
    model.COMBINATIONS_PER_EMAIL, one wildcard per recipient and domain).
    With `search_key` (the `send` key that sent it), that key's KEY# item
    and its copy of each of the others. Each carries the email's status for
    the match-status index."""
    addresses = sorted({a.lower() for a in addresses})
    domains = sorted({model.address_domain(a) for a in addresses})
    tags = sorted((tags or {}).items())
    # (sort key, {index partition attribute: value}, extra attributes)
    specs = [_recipient_spec(address, moment) for address in addresses]
    specs += [(model.domain_sk(domain), {"rcpt_domain": domain}, {}) for domain in domains]
    specs += [(model.tag_sk(name, value), {"tag": f"{name}={value}"}, {}) for name, value in tags]
    whos = [model.recipient_sk(a) for a in addresses] + [model.domain_sk(d) for d in domains]
    if len(whos) * len(tags) <= model.COMBINATIONS_PER_EMAIL:
        combinations = [model.combination_sk(who, f"{name}={value}") for who in whos for name, value in tags]
    else:
        combinations = [model.combination_sk(who, model.ANY_TAG) for who in whos] if tags else []
    specs += [(sk, {"tag": sk}, {}) for sk in combinations]
    if search_key:
        scope = lambda value: model.key_scoped(search_key, value)  # noqa: E731
        specs = specs + [(model.key_sk(search_key), {"tag": model.key_sk(search_key)}, {})] + [
            (scope(sk), {name: scope(value) for name, value in keys.items()}, extra) for sk, keys, extra in specs]
    return [_companion(email_id, moment, expires_at, status, sk, extra, **keys) for sk, keys, extra in specs]


def _recipient_spec(address, moment):
    """A recipient item's spec: its prefix partition is an index key; the order within it is not."""
    prefix_keys = model.recipient_prefix_keys(address, moment)
    return (model.recipient_sk(address), {"rcpt": address, "rcpt_prefix": prefix_keys["rcpt_prefix"]},
            {"rcpt_order": prefix_keys["rcpt_order"]})


def _companion(email_id, moment, expires_at, status, sk, extra, **keys):
    """A small item; `keys` are its index partition keys, put in the email's shard."""
    pk, _ = model.email_key(email_id)
    return {
        "pk": pk,
        "sk": sk,
        **{name: model.sharded(value, email_id) for name, value in keys.items()},
        "email_id": email_id,
        "created_at": model.iso(moment) if not isinstance(moment, str) else moment,
        "status": status,
        "match_status": model.sharded(model.match_status(sk, status), email_id),
        model.TTL_ATTRIBUTE: expires_at,
        **extra,
    }


# A transaction takes at most 100 operations.
TRANSACTION_ITEMS = 100
CONFLICT_RETRIES = 4


def companion_updates(*, email_id, companions, status):
    """("Update", args) for each small item of an email, to carry `status`.
    Unconditional: the email's own write in the same transaction holds the
    condition, and its pk going missing cancels them all."""
    pk, _ = model.email_key(email_id)
    return [
        ("Update", dynamodb.update_args(
            pk, sk, expression="SET #status = :to, match_status = :ms",
            names={"#status": "status"},
            values={":to": status, ":ms": model.sharded(model.match_status(sk, status), email_id)}))
        for sk in companions
    ]


def email_write_with_companions(*, update, email_id, companions, status):
    """Apply one UpdateItem of an email (update_args) and move its small items
    to `status`, atomically in one TransactWriteItems (one call). An email
    with more than 99 small items (50 recipients and 50 tags) moves the rest
    in a second transaction right after. Returns nothing: a transaction does
    not hand back the item."""
    writes = [("Update", update)] + companion_updates(email_id=email_id, companions=companions, status=status)
    first, rest = writes[:TRANSACTION_ITEMS], writes[TRANSACTION_ITEMS:]
    for attempt in range(CONFLICT_RETRIES):
        try:
            # The token makes an SDK retry of a transaction that did commit succeed, not fail its condition.
            dynamodb.transact(first, token=str(uuid.uuid4()))
            break
        except TransactionConflict:
            # Another write touched one of the items at the same moment: try
            # again, and the email's condition decides.
            if attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)
    while rest:
        chunk, rest = rest[:TRANSACTION_ITEMS], rest[TRANSACTION_ITEMS:]
        dynamodb.transact(chunk)


def email_transition(email_id, *, to_status=None, expect_statuses=None, claim_id=None,
                     moment, events=(), set_attrs=None, remove_attrs=(), increments=None, companions=None,
                     condition=None, condition_values=None):
    """Move an email to `to_status` (None keeps it) if it is in one of
    `expect_statuses` and, when given, still held by `claim_id` and true to
    `condition` (an extra condition expression, `#status` available, with
    `condition_values`); set `set_attrs` and append `events`. Raises
    ConditionFailed when the email was not in that state.

    The email's small items (`companions`: their sort keys, as the email
    item lists them; None to read them from the email) move to the new
    status in the same transaction, so the recipient+status and tag+status
    pages never disagree with the email. That is one call either way (a
    TransactWriteItems instead of an UpdateItem), at twice the write units
    for the items in it. Two transitions leave the small items alone, and
    return the item as it is afterwards (an UpdateItem's ALL_NEW), which a
    transaction cannot: the claim into `sending` (it lasts one SES call and
    the worker needs the attempts it counted) and any call with
    `companions=()`. Otherwise, with small items to move, returns None."""
    names = {"#events": "events"}
    values = {":now": model.iso(moment), ":events": list(events), ":empty": []}
    sets = ["updated_at = :now", "#events = list_append(if_not_exists(#events, :empty), :events)"]
    if to_status:
        names["#status"] = "status"
        values.update({":to": to_status, ":email_status": model.sharded(to_status, email_id)})
        sets += ["#status = :to", "email_status = :email_status"]
    for i, (attr, value) in enumerate((set_attrs or {}).items()):
        names[f"#a{i}"] = attr
        values[f":a{i}"] = value
        sets.append(f"#a{i} = :a{i}")
    for i, (attr, step) in enumerate((increments or {}).items()):
        names[f"#n{i}"] = attr
        values.update({f":n{i}": step, ":zero": 0})
        sets.append(f"#n{i} = if_not_exists(#n{i}, :zero) + :n{i}")
    conditions = ["attribute_exists(pk)"]
    if expect_statuses:
        names["#status"] = "status"
        placeholders = []
        for i, status in enumerate(expect_statuses):
            values[f":from{i}"] = status
            placeholders.append(f":from{i}")
        conditions.append(f"#status IN ({', '.join(placeholders)})")
    if claim_id:
        values[":claim"] = claim_id
        conditions.append("claim_id = :claim")
    if condition:
        names["#status"] = "status"
        values.update(condition_values or {})
        conditions.append(f"({condition})")
    expression = "SET " + ", ".join(sets)
    if remove_attrs:
        expression += " REMOVE " + ", ".join(remove_attrs)
    pk, sk = model.email_key(email_id)
    condition = " AND ".join(conditions)
    if to_status and to_status not in model.NOT_ON_COMPANIONS and companions != ():
        if companions is None:
            companions = (email_get(email_id) or {}).get("companions", ())
        if companions:
            update = dynamodb.update_args(pk, sk, expression=expression, names=names, values=values,
                                          condition=condition)
            email_write_with_companions(update=update, email_id=email_id, companions=companions, status=to_status)
            if events:
                email_status_changed(email_id=email_id, status=to_status, timeline_event=events[0])
            return None
    item = dynamodb.update(pk, sk, expression=expression, names=names, values=values, condition=condition)
    if to_status and events:
        email_status_changed(email_id=email_id, status=to_status, timeline_event=events[0], email=item)
    return item


def email_status_changed(*, email_id, status, timeline_event, email=None, event_type=None):
    """Called once an email's status write has succeeded: every status change
    (email_transition, the SES events' writes, the accept) passes here, so
    webhooks (emailhub/webhooks/) see each change exactly where it happens.
    A move without a timeline event (the claim into `sending`, the attempt
    count before a retry's own write) is not news and is not passed on.
    Never raises: the status write stands whatever happens to the webhook."""
    from emailhub.webhooks.enqueue import webhook_events_enqueue

    webhook_events_enqueue(email_id=email_id, status=status, timeline_event=timeline_event, email=email,
                           event_type=event_type)


