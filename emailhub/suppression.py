"""The suppression list: addresses Emailhub will not send to.

Addresses join it on a hard bounce or a complaint (from SES events) or by
staff (the dashboard, `manage.py suppress`). The API refuses an email with a
suppressed recipient (422 naming them): the check rides in the accept
transaction as one ConditionCheck per recipient, so it costs no extra call."""

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.errors import ConditionFailed
from emailhub.feeds import feed_filtered

FEED = "SUPPRESSED"


def suppression_key(address):
    return f"SUPPRESSED#{address.lower()}", "SUPPRESSED"


def suppression_add(*, address, reason, source_email_id=None, actor=None):
    """Add an address; False when it was already there (the first reason stays)."""
    moment = model.now()
    pk, sk = suppression_key(address)
    item = {
        "pk": pk, "sk": sk, "address": address.lower(), "reason": reason, "feed": FEED,
        "created_at": model.iso(moment), "summary": {"address": address.lower(), "reason": reason},
    }
    if source_email_id:
        item["source_email_id"] = source_email_id
    if actor:
        item["added_by"] = actor
    try:
        dynamodb.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def suppression_remove(*, address):
    """Remove an address; False when it was not there."""
    try:
        dynamodb.delete(*suppression_key(address), condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


def suppression_list(*, limit=200, start_key=None):
    """Suppressed addresses, newest first: (items, next key)."""
    entries, next_key = dynamodb.query(index=model.FEED_INDEX, key_condition="feed = :feed",
                                       values={":feed": FEED}, limit=limit, start_key=start_key)
    found = dynamodb.batch_get([(e["pk"], e["sk"]) for e in entries])
    return [found[e["pk"]] for e in entries if e["pk"] in found], next_key


def suppression_get(*, address):
    """One address's entry (a key lookup), or None."""
    return dynamodb.get(*suppression_key(address))


def suppression_search(*, contains=None, reason=None, start_key=None, max_reads=1000):
    """Entries whose address contains `contains` (a domain, a name) and whose
    reason contains `reason`, newest first, applied as entries are read:
    (entries, next key, read)."""
    names, values, conditions = {"#s": "summary"}, {}, []
    if contains:
        names["#address"], values[":address"] = "address", contains.lower()
        conditions.append("contains(#s.#address, :address)")
    if reason:
        names["#reason"], values[":reason"] = "reason", reason
        conditions.append("contains(#s.#reason, :reason)")
    entries, next_key, reads = feed_filtered(feed=FEED, filter_expression=" AND ".join(conditions) or None,
                                             names=names if conditions else None, values=values,
                                             start_key=start_key, max_reads=max_reads)
    found = dynamodb.batch_get([(e["pk"], e["sk"]) for e in entries])
    return [found[e["pk"]] for e in entries if e["pk"] in found], next_key, reads


def suppressed_among(addresses):
    """The suppressed ones among `addresses`, sorted."""
    wanted = sorted({a.lower() for a in addresses})
    found = dynamodb.batch_get([suppression_key(a) for a in wanted])
    return [a for a in wanted if suppression_key(a)[0] in found]


def suppression_checks(addresses):
    """ConditionCheck operations that cancel a transaction if any address is suppressed."""
    return [("ConditionCheck", dynamodb.condition_args(*suppression_key(a), condition="attribute_not_exists(pk)"))
            for a in sorted({a.lower() for a in addresses})]
