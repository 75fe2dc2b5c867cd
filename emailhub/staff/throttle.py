"""Failed sign-ins, counted per username and per client address.

Each counter is one DynamoDB item (pk=LOGIN#user#<name> or LOGIN#addr#<address>)
with the table's TTL. EMAILHUB_LOGIN_MAX_FAILURES failures of a username within
EMAILHUB_LOGIN_LOCK_MINUTES lock it for that long; each further lock within a
day doubles the time (up to a day). Addresses get more room
(EMAILHUB_LOGIN_MAX_FAILURES_PER_ADDRESS): a whole office can share one.
Unknown usernames are counted like real ones, so a lock-out tells nothing
about which names exist.
"""

import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings

from emailhub.aws import dynamodb
from emailhub.errors import ConditionFailed

MAX_LOCK_SECONDS = 24 * 60 * 60
LOCK_MEMORY_SECONDS = 24 * 60 * 60  # how long a lock makes the next one longer


@dataclass(frozen=True)
class Lock:
    kind: str  # "user" or "addr"
    until: int  # epoch seconds

    @property
    def minutes(self):
        return max(1, -(-(self.until - int(time.time())) // 60))

    @property
    def message(self):
        what = "this username" if self.kind == "user" else "your network address"
        return (f"Too many failed sign-ins for {what}. Sign-in is locked for {self.minutes} more "
                f"minute(s); ask an admin if you have lost your password.")


def client_address(request):
    """Where a request came from: the address API Gateway saw (X-Forwarded-For
    can be written by the client), else the socket's. IPv6 clients are counted
    per /64, which one client usually holds whole."""
    event = request.META.get("lambda.event") or {}
    context = event.get("requestContext") or {}
    raw = ((context.get("identity") or {}).get("sourceIp") or (context.get("http") or {}).get("sourceIp")
           or request.META.get("REMOTE_ADDR") or "unknown")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(username, address):
    return {"user": (f"LOGIN#user#{username}", "LOGIN"), "addr": (f"LOGIN#addr#{address}", "LOGIN")}


def _limits():
    return {"user": settings.EMAILHUB_LOGIN_MAX_FAILURES, "addr": settings.EMAILHUB_LOGIN_MAX_FAILURES_PER_ADDRESS}


def login_lock(*, username, address):
    """The lock in force for this username or address, or None."""
    now = int(time.time())
    for kind, key in _keys(username, address).items():
        item = dynamodb.get(*key)
        if item and item.get("locked_until", 0) > now:
            return Lock(kind, item["locked_until"])
    return None


def login_failed(*, username, address):
    """Count a failure against both; returns the Lock it set off, or None."""
    found = None
    for kind, key in _keys(username, address).items():
        lock = _count(key, kind=kind, limit=_limits()[kind])
        found = found or lock
    return found


def login_succeeded(*, username):
    """A right password clears the username's count (not its lock history)."""
    dynamodb.update(*_keys(username, "-")["user"], expression="SET failures = :zero", values={":zero": 0})


def _count(key, *, kind, limit):
    now = int(time.time())
    window = settings.EMAILHUB_LOGIN_LOCK_MINUTES * 60
    try:  # inside the current window: one more
        item = dynamodb.update(*key, expression="ADD failures :one", condition="window_ends > :now",
                               values={":one": 1, ":now": now})
    except ConditionFailed:  # a new window
        item = dynamodb.update(*key, expression="SET failures = :one, window_ends = :ends, expires_at = :ttl",
                               values={":one": 1, ":ends": now + window, ":ttl": now + window + LOCK_MEMORY_SECONDS})
    if item["failures"] < limit:
        return None
    recent_locks = item.get("lock_count", 0) if item.get("locked_at", 0) > now - LOCK_MEMORY_SECONDS else 0
    until = now + min(window * 2 ** recent_locks, MAX_LOCK_SECONDS)
    try:
        dynamodb.update(*key, condition="failures >= :limit",
                        expression="SET failures = :zero, locked_until = :until, locked_at = :now, lock_count = :locks, "
                                   "window_ends = :now, expires_at = :ttl",
                        values={":limit": limit, ":zero": 0, ":until": until, ":now": now,
                                ":locks": recent_locks + 1, ":ttl": until + LOCK_MEMORY_SECONDS})
    except ConditionFailed:
        return None  # a concurrent failure set the lock
    return Lock(kind, until)
