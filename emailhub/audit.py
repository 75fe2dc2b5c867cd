"""The audit trail: every state-changing staff action, who, when, what, and
the result. Kept in DynamoDB beside the emails, listed by month."""

from emailhub import model
from emailhub.aws import dynamodb

MAX_DETAILS = 1000  # per-email results kept on one entry (the item limit is 400 KB)


def audit_record(*, actor, action, target, outcome, details=()):
    moment = model.now()
    entry_id = model.new_email_id(moment)
    details = list(details)
    item = {
        "pk": f"AUDIT#{entry_id}", "sk": "AUDIT", "id": entry_id,
        "feed": f"AUDIT#{model.iso(moment)[:7]}", "created_at": model.iso(moment),
        "summary": {"actor": actor, "action": action, "target": target, "outcome": outcome},
        "details": details[:MAX_DETAILS], "details_total": len(details),
    }
    dynamodb.put(item)
    return item


def audit_get(*, entry_id):
    return dynamodb.get(f"AUDIT#{entry_id}", "AUDIT")


def audit_page(*, month, limit=50, start_key=None):
    """One page of a month's ("YYYY-MM") entries, newest first."""
    return dynamodb.query(index=model.FEED_INDEX, key_condition="feed = :feed",
                          values={":feed": f"AUDIT#{month}"}, limit=limit, start_key=start_key)


def audit_finish(*, entry_id, outcome, details=()):
    """Record how an action that was audited as "started" ended."""
    details = list(details)
    dynamodb.update(
        f"AUDIT#{entry_id}", "AUDIT",
        expression="SET summary.outcome = :outcome, details = :details, details_total = :total",
        values={":outcome": outcome, ":details": details[:MAX_DETAILS], ":total": len(details)},
    )
