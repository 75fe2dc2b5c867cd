"""API keys: stored as SHA-256 hashes in DynamoDB, shown in full only once.

A key looks like `eh_<prefix>_<secret>`; the prefix is visible in lists and
names the key in `revoke_api_key`. A key's scope is `full` (everything) or
`send` (sends, and reads and cancels only the emails sent with it; no
suppression list); a key stored before scopes existed is `full`. Lookups are cached per process for
EMAILHUB_API_KEY_CACHE_SECONDS, so a revoked key stops working within that time."""

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.errors import ConditionFailed, Forbidden, NotFound

FEED = "APIKEY"
FULL = "full"
SEND = "send"
SCOPES = (FULL, SEND)
LAST_USED_RESOLUTION = timedelta(hours=1)
_cache = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class ApiKey:
    prefix: str
    name: str
    created_at: str
    last_used_at: Optional[str] = None
    revoked_at: Optional[str] = None
    scope: str = FULL

    @property
    def active(self):
        return not self.revoked_at

    @property
    def search_key(self):
        """What its emails are listed under for its own searches: a `send`
        key's prefix (model.key_sk); None for a `full` key, which sees all."""
        return self.prefix if self.scope != FULL else None

    @property
    def actor(self):
        """How the audit trail names what this key did."""
        return f"api key {self.name} ({self.prefix})"


def _hash(secret_key):
    return hashlib.sha256(secret_key.encode()).hexdigest()


def _key(prefix):
    return f"APIKEY#{prefix}", "APIKEY"


def _from_item(item):
    return ApiKey(
        prefix=item["prefix"], name=item["name"], created_at=item["created_at"],
        last_used_at=item.get("last_used_at"), revoked_at=item.get("revoked_at"),
        scope=item.get("scope", FULL),
    )


def api_key_create(*, name, scope=FULL):
    """Create a key; returns (ApiKey, the full key, which is not stored)."""
    if scope not in SCOPES:
        raise ValueError(f"A key's scope is one of {', '.join(SCOPES)}, not {scope!r}.")
    moment = model.now()
    while True:
        prefix = secrets.token_hex(4)
        full_key = f"eh_{prefix}_{secrets.token_urlsafe(32)}"
        pk, sk = _key(prefix)
        item = {
            "pk": pk, "sk": sk, "prefix": prefix, "name": name, "hash": _hash(full_key),
            "created_at": model.iso(moment), "feed": FEED, "scope": scope,
            "summary": {"prefix": prefix, "name": name, "scope": scope},
        }
        try:
            dynamodb.put(item, condition="attribute_not_exists(pk)")
        except ConditionFailed:
            continue  # prefix collision: draw again
        return _from_item(item), full_key


def api_key_authenticate(*, presented):
    """The active ApiKey for a presented key, or None."""
    parts = (presented or "").split("_")
    if len(parts) < 3 or parts[0] != "eh":
        return None
    digest = _hash(presented)  # the cache holds no plaintext keys
    cached = _cache.get(digest)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    found = _lookup(prefix=parts[1], digest=digest)
    with _cache_lock:
        if len(_cache) > 10_000:  # bounded: random keys from a scanner must not grow memory
            _cache.clear()
        _cache[digest] = (time.monotonic() + settings.EMAILHUB_API_KEY_CACHE_SECONDS, found)
    return found


def _lookup(*, prefix, digest):
    item = dynamodb.get(*_key(prefix))
    if not item or not hmac.compare_digest(item["hash"], digest) or item.get("revoked_at"):
        return None
    moment = model.now()
    # Written at most once an hour (and once per cache period at most): "last
    # used" is for spotting unused keys, and a Lambda cold start then reads
    # the key without also writing it.
    if not item.get("last_used_at") or model.parse_iso(item["last_used_at"]) < moment - LAST_USED_RESOLUTION:
        dynamodb.update(*_key(prefix), expression="SET last_used_at = :now", values={":now": model.iso(moment)})
    return _from_item(item)


def api_key_get(*, prefix):
    """The ApiKey with this prefix, revoked or not, or None."""
    item = dynamodb.get(*_key(prefix))
    return _from_item(item) if item else None


def api_key_require_full(*, api_key):
    """Raise Forbidden unless the key may do everything (suppression list, every email)."""
    if api_key.scope != FULL:
        raise Forbidden(f"This API key's scope is {api_key.scope!r}; this operation needs a {FULL!r} key.")


def api_key_revoke(*, prefix):
    try:
        item = dynamodb.update(
            *_key(prefix),
            expression="SET revoked_at = :now, summary.revoked_at = :now",
            values={":now": model.iso(model.now())},
            condition="attribute_exists(pk) AND attribute_not_exists(revoked_at)",
        )
    except ConditionFailed as err:
        existing = dynamodb.get(*_key(prefix))
        if existing is None:
            raise NotFound(f"No API key with prefix {prefix!r}.") from err
        return _from_item(existing)  # already revoked
    cache_clear()
    return _from_item(item)


def api_key_list():
    """Every key, newest first: a Query on the feed index, then one batch read."""
    entries, start = [], None
    while True:
        page, start = dynamodb.query(
            index=model.FEED_INDEX, key_condition="feed = :feed", values={":feed": FEED}, start_key=start
        )
        entries.extend(page)
        if not start:
            break
    found = dynamodb.batch_get([(entry["pk"], entry["sk"]) for entry in entries])
    return [_from_item(found[entry["pk"]]) for entry in entries if entry["pk"] in found]


def cache_clear():
    with _cache_lock:
        _cache.clear()
