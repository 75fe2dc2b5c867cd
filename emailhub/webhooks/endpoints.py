"""Webhook endpoints: DynamoDB items (pk=WEBHOOK#<id>, sk=WEBHOOK) listed by
the feed index (feed=WEBHOOK: a Query, never a Scan).

Each process keeps the list for EMAILHUB_WEBHOOK_CACHE_SECONDS: with no
endpoint configured the send path makes no extra AWS call per email (one
Query per process every few seconds at most). A change made here clears this
process's copy; other processes see it within those seconds.

The signing secret is shown once, when it is made. It has to be kept in the
item (an HMAC needs the key itself, unlike an API key's hash)."""

import secrets as random_tokens
import threading
import time
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.errors import ConditionFailed, EmailhubError, NotFound
from emailhub.webhooks import signing
from emailhub.webhooks.events import event_types
from emailhub.webhooks.ssrf import url_resolve

FEED = "WEBHOOK"
_cache = {"until": 0.0, "endpoints": None}
_lock = threading.Lock()


class InvalidEndpoint(EmailhubError):
    code = "invalid_webhook_endpoint"


def _key(endpoint_id):
    return f"WEBHOOK#{endpoint_id}", "WEBHOOK"


def _checked_types(types):
    known = event_types()
    types = list(dict.fromkeys(types or ()))
    unknown = [t for t in types if t not in known]
    if unknown or not types:
        raise InvalidEndpoint(f"Event types must be some of {', '.join(known)}"
                              + (f"; unknown: {', '.join(unknown)[:200]}" if unknown else "") + ".")
    return types


def webhook_endpoint_create(*, url, types, description=""):
    """Create an enabled endpoint; returns (endpoint, its secret: shown once)."""
    url_resolve(url)  # UnsafeUrl before anything is stored
    moment = model.now()
    endpoint_id = f"we_{random_tokens.token_hex(6)}"
    secret = signing.secret_new()
    pk, sk = _key(endpoint_id)
    item = {
        "pk": pk, "sk": sk, "id": endpoint_id, "url": url, "event_types": _checked_types(types),
        "description": (description or "")[:200], "enabled": True, "created_at": model.iso(moment),
        "updated_at": model.iso(moment), "feed": FEED, "secrets": [{"secret": secret, "expires_at": None}],
        "summary": {"url": url},
    }
    dynamodb.put(item, condition="attribute_not_exists(pk)")
    cache_clear()
    return _public(item), secret


def _public(item):
    """The endpoint without its secrets (what pages and commands show)."""
    return {k: v for k, v in item.items() if k not in ("secrets", "pk", "sk", "feed", "summary")}


def webhook_endpoint_get(*, endpoint_id, with_secrets=False):
    item = dynamodb.get(*_key(endpoint_id)) if endpoint_id else None
    if item is None:
        raise NotFound(f"No webhook endpoint {endpoint_id!r}.")
    return item if with_secrets else _public(item)


def webhook_endpoint_list(*, with_secrets=False):
    """Every endpoint, newest first: a Query on the feed index, then one batch read."""
    entries, start = [], None
    while True:
        page, start = dynamodb.query(index=model.FEED_INDEX, key_condition="feed = :feed",
                                     values={":feed": FEED}, start_key=start)
        entries.extend(page)
        if not start:
            break
    if not entries:
        return []
    found = dynamodb.batch_get([(e["pk"], e["sk"]) for e in entries])
    items = [found[e["pk"]] for e in entries if e["pk"] in found]
    return items if with_secrets else [_public(i) for i in items]


def endpoints_cached():
    """Every endpoint with its secrets, at most EMAILHUB_WEBHOOK_CACHE_SECONDS old."""
    if _cache["endpoints"] is not None and _cache["until"] > time.monotonic():
        return _cache["endpoints"]
    endpoints = webhook_endpoint_list(with_secrets=True)
    with _lock:
        _cache.update(endpoints=endpoints, until=time.monotonic() + settings.EMAILHUB_WEBHOOK_CACHE_SECONDS)
    return endpoints


def endpoints_subscribed(event_type):
    return [e for e in endpoints_cached() if e.get("enabled") and event_type in e.get("event_types", ())]


def cache_clear():
    with _lock:
        _cache.update(endpoints=None, until=0.0)


def webhook_endpoint_update(*, endpoint_id, url=None, types=None, enabled=None, description=None):
    """Change an endpoint's URL, event types, description or enabled flag.
    Enabling it again forgets how long it had been failing."""
    sets, values, removes = ["updated_at = :now"], {":now": model.iso(model.now())}, []
    if url is not None:
        url_resolve(url)
        sets += ["#url = :url", "summary.#url = :url"]
        values[":url"] = url
    if types is not None:
        sets.append("event_types = :types")
        values[":types"] = _checked_types(types)
    if description is not None:
        sets.append("description = :description")
        values[":description"] = description[:200]
    if enabled is not None:
        sets.append("enabled = :enabled")
        values[":enabled"] = bool(enabled)
        if enabled:
            removes += ["failing_since", "disabled_reason", "disabled_at"]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    try:
        item = dynamodb.update(*_key(endpoint_id), expression=expression, names={"#url": "url"} if url else None,
                               values=values, condition="attribute_exists(pk)")
    except ConditionFailed as err:
        raise NotFound(f"No webhook endpoint {endpoint_id!r}.") from err
    cache_clear()
    return _public(item)


def webhook_endpoint_rotate(*, endpoint_id):
    """A new secret, returned once. The current ones stay valid (and keep
    signing, beside the new one) for EMAILHUB_WEBHOOK_SECRET_OVERLAP_HOURS."""
    item = webhook_endpoint_get(endpoint_id=endpoint_id, with_secrets=True)
    moment = model.now()
    overlap_end = model.iso(moment + timedelta(hours=settings.EMAILHUB_WEBHOOK_SECRET_OVERLAP_HOURS))
    kept = [{"secret": s["secret"], "expires_at": s.get("expires_at") or overlap_end}
            for s in signing_secrets(item, moment)]
    secret = signing.secret_new()
    try:
        dynamodb.update(*_key(endpoint_id), expression="SET secrets = :secrets, updated_at = :now",
                        values={":secrets": [{"secret": secret, "expires_at": None}] + kept,
                                ":now": model.iso(moment), ":old": item["secrets"]},
                        condition="secrets = :old")  # two rotations at once: one wins, the other is told
    except ConditionFailed as err:
        raise InvalidEndpoint("The secret was rotated by someone else at the same moment; look again.") from err
    cache_clear()
    return secret


def signing_secrets(endpoint, moment):
    """The secrets still valid at `moment`, newest first."""
    now_iso = model.iso(moment)
    return [s for s in endpoint.get("secrets", ()) if not s.get("expires_at") or s["expires_at"] > now_iso]


def endpoint_failing(*, endpoint_id, moment):
    """Note when an endpoint started failing (kept until a success). Returns
    the start of the failing streak."""
    try:
        item = dynamodb.update(*_key(endpoint_id), expression="SET failing_since = :now",
                               values={":now": model.iso(moment)},
                               condition="attribute_exists(pk) AND attribute_not_exists(failing_since)")
        cache_clear()  # so this process's next success clears it
        return item["failing_since"]
    except ConditionFailed:
        item = dynamodb.get(*_key(endpoint_id)) or {}
        return item.get("failing_since") or model.iso(moment)


def endpoint_recovered(*, endpoint_id, failing_since=None):
    """End the failing streak (the one that began at `failing_since`, when given)."""
    condition, values = "attribute_exists(failing_since)", None
    if failing_since:
        condition, values = "failing_since = :since", {":since": failing_since}
    try:
        dynamodb.update(*_key(endpoint_id), expression="REMOVE failing_since", condition=condition, values=values)
    except ConditionFailed:
        return
    cache_clear()


def endpoint_disable_failing(*, endpoint_id, moment, reason):
    """Disable an endpoint that has failed too long. True when this call did it."""
    try:
        dynamodb.update(*_key(endpoint_id), expression="SET enabled = :off, disabled_reason = :reason, "
                                                       "disabled_at = :now",
                        values={":off": False, ":on": True, ":reason": reason[:500], ":now": model.iso(moment)},
                        condition="enabled = :on")
    except ConditionFailed:
        return False
    cache_clear()
    return True
