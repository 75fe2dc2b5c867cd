"""Email items in DynamoDB: creation and conditional status transitions.

Every status change is a conditional write, so a duplicated SQS delivery or a
second worker can never move an email along a path twice. Every change also
appends to the item's `events` timeline; nothing overwrites an earlier event.
"""

from emailhub import model
from emailhub.aws import dynamodb


def event(event_type, moment, **details):
    return {"at": model.iso(moment), "type": event_type, **{k: v for k, v in details.items() if v is not None}}


def email_get(email_id):
    if not model.is_email_id(email_id):
        return None
    return dynamodb.get(*model.email_key(email_id))


def email_item(*, email_id, moment, summary, payload, api_key_prefix, idempotency_key, expires_at, extra=None):
    pk, sk = model.email_key(email_id)
    item = {
        "pk": pk,
        "sk": sk,
        "id": email_id,
        "status": model.QUEUED,
        "status_day": model.status_day(model.QUEUED, email_id),
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
    item.update(extra or {})
    return item


def recipient_items(*, email_id, moment, addresses, expires_at):
    """One small item per distinct recipient, for the recipient index."""
    pk, _ = model.email_key(email_id)
    return [
        {
            "pk": pk,
            "sk": f"RCPT#{address}",
            "rcpt": address,
            "email_id": email_id,
            "created_at": model.iso(moment),
            model.TTL_ATTRIBUTE: expires_at,
        }
        for address in sorted({a.lower() for a in addresses})
    ]


def email_transition(email_id, *, to_status=None, expect_statuses=None, claim_id=None,
                     moment, events=(), set_attrs=None, remove_attrs=(), increments=None):
    """Move an email to `to_status` (None keeps it) if it is in one of
    `expect_statuses` and, when given, still held by `claim_id`; set
    `set_attrs` and append `events`. Raises ConditionFailed when the email
    was not in that state. Returns the item as it is afterwards."""
    names = {"#events": "events"}
    values = {":now": model.iso(moment), ":events": list(events), ":empty": []}
    sets = ["updated_at = :now", "#events = list_append(if_not_exists(#events, :empty), :events)"]
    if to_status:
        names["#status"] = "status"
        values.update({":to": to_status, ":status_day": model.status_day(to_status, email_id)})
        sets += ["#status = :to", "status_day = :status_day"]
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
    expression = "SET " + ", ".join(sets)
    if remove_attrs:
        expression += " REMOVE " + ", ".join(remove_attrs)
    return dynamodb.update(
        *model.email_key(email_id), expression=expression, names=names, values=values,
        condition=" AND ".join(conditions),
    )


