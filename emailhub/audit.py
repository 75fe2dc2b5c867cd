"""The audit trail: every state-changing staff action, who, when, what, and
the result. Kept in DynamoDB beside the emails, listed by month."""

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.feeds import feed_filtered

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


def audit_search(*, month, actor=None, action=None, target=None, start_key=None, max_reads=1000):
    """A month's entries by who (exact), what (the action or its start, e.g.
    "email." for resends and discards) and target (contains), newest first.
    The filter is applied as entries are read: (entries, next key, read)."""
    names, values, conditions = {"#s": "summary"}, {}, []
    if actor:
        names["#actor"], values[":actor"] = "actor", actor
        conditions.append("#s.#actor = :actor")
    if action:
        names["#action"], values[":action"] = "action", action
        conditions.append("begins_with(#s.#action, :action)")
    if target:
        names["#target"], values[":target"] = "target", target
        conditions.append("contains(#s.#target, :target)")
    return feed_filtered(feed=f"AUDIT#{month}", filter_expression=" AND ".join(conditions) or None,
                         names=names if conditions else None, values=values, start_key=start_key,
                         max_reads=max_reads)


def audit_finish(*, entry_id, outcome, details=()):
    """Record how an action that was audited as "started" ended."""
    details = list(details)
    dynamodb.update(
        f"AUDIT#{entry_id}", "AUDIT",
        expression="SET summary.outcome = :outcome, details = :details, details_total = :total",
        values={":outcome": outcome, ":details": details[:MAX_DETAILS], ":total": len(details)},
    )
