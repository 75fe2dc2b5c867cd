"""Failed sign-ins, counted per username and per client address.

Each counter is one DynamoDB item (pk=LOGIN#user#<name> or LOGIN#addr#<address>)
with the table's TTL. An attempt *reserves* its place before the password is
checked (a conditional increment that refuses once the limit is reached), so
parallel guesses cannot outrun the count: within EMAILHUB_LOGIN_LOCK_MINUTES a
username gets at most EMAILHUB_LOGIN_MAX_FAILURES password checks that fail.
The failure that reaches the limit locks it for that long; each further lock
within a day doubles the time (up to a day). A right password gives the
reservation back. Addresses get more room
(EMAILHUB_LOGIN_MAX_FAILURES_PER_ADDRESS): a whole office can share one.
Unknown usernames are counted like real ones, so a lock tells nothing about
which names exist. An admin lifts a username's lock (`login_unlock`), and a
password reset does too.
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
                "minute(s); an admin can unlock it sooner.")


class Locked(Exception):
    def __init__(self, lock):
        super().__init__(lock.message)
        self.lock = lock


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


def _user_key(username):
    return f"LOGIN#user#{username}", "LOGIN"


def _counters(username, address):
    """The counters an attempt uses: the username's, and the address's unless
    `address` is None (a check made inside a signed-in session)."""
    counters = [("user", _user_key(username), settings.EMAILHUB_LOGIN_MAX_FAILURES)]
    if address is not None:
        counters.append(("addr", (f"LOGIN#addr#{address}", "LOGIN"), settings.EMAILHUB_LOGIN_MAX_FAILURES_PER_ADDRESS))
    return counters


def guarded(check, *, username, address=None):
    """Run `check()` (True when the secret was right) as one throttled attempt.
    Returns True or False; raises Locked when the attempt may not be made or
    its failure sets off a lock."""
    login_attempt_begin(username=username, address=address)
    if check():
        login_attempt_succeeded(username=username, address=address)
        return True
    lock = login_attempt_failed(username=username, address=address)
    if lock:
        raise Locked(lock)
    return False


def login_attempt_begin(*, username, address):
    """Reserve one attempt against the username and the address, before any
    password is checked. Raises Locked (reserving nothing) when either is
    locked or has no attempt left in its window."""
    reserved = []
    try:
        for kind, key, limit in _counters(username, address):
            _reserve(key, kind=kind, limit=limit)
            reserved.append(key)
    except Locked:
        for key in reserved:
            _give_back(key)
        raise


def login_attempt_failed(*, username, address):
    """The reserved attempt failed: the Lock it set off (the limit reached), or None."""
    found = None
    for kind, key, limit in _counters(username, address):
        found = found or _lock_if_spent(key, kind=kind, limit=limit)
    return found


def login_attempt_succeeded(*, username, address):
    """A right password: the username starts afresh, the address gets its attempt back."""
    for kind, key, _ in _counters(username, address):
        if kind == "user":
            _update_existing(key, "SET failures = :zero", {":zero": 0})
        else:
            _give_back(key)


def login_unlock(*, username):
    """Lift a username's lock and forget its failures (its lock history stays)."""
    _update_existing(_user_key(username), "SET failures = :zero, locked_until = :zero", {":zero": 0})


def login_lock_of(*, username):
    """The lock in force on a username, or None (for the Staff page)."""
    item = dynamodb.get(*_user_key(username))
    if item and item.get("locked_until", 0) > time.time():
        return Lock("user", item["locked_until"])
    return None


def _window():
    return settings.EMAILHUB_LOGIN_LOCK_MINUTES * 60


def _reserve(key, *, kind, limit, tries=5):
    for _ in range(tries):
        now = int(time.time())
        try:  # the common case: inside an open window, below the limit, not locked
            dynamodb.update(*key, expression="ADD failures :one",
                            condition="window_ends > :now AND failures < :limit AND locked_until <= :now",
                            values={":one": 1, ":now": now, ":limit": limit})
            return
        except ConditionFailed:
            pass
        item = dynamodb.get(*key) or {}
        if item.get("locked_until", 0) > now:
            raise Locked(Lock(kind, item["locked_until"]))
        if item.get("window_ends", 0) > now:  # the window's attempts are spent (some still in flight)
            raise Locked(Lock(kind, item["window_ends"]))
        try:  # open a new window with this attempt in it
            dynamodb.update(
                *key, expression="SET failures = :one, window_ends = :ends, locked_until = :zero, expires_at = :ttl",
                condition="attribute_not_exists(window_ends) OR (window_ends <= :now AND locked_until <= :now)",
                values={":one": 1, ":ends": now + _window(), ":zero": 0, ":now": now,
                        ":ttl": now + _window() + LOCK_MEMORY_SECONDS})
            return
        except ConditionFailed:
            continue  # another attempt opened it first: reserve in it
    raise Locked(Lock(kind, int(time.time()) + 60))  # contended beyond reason: refuse this one


def _lock_if_spent(key, *, kind, limit):
    item = dynamodb.get(*key) or {}
    now = int(time.time())
    if item.get("failures", 0) < limit or item.get("locked_until", 0) > now:
        return None
    recent_locks = item.get("lock_count", 0) if item.get("locked_at", 0) > now - LOCK_MEMORY_SECONDS else 0
    until = now + min(_window() * 2 ** recent_locks, MAX_LOCK_SECONDS)
    try:
        dynamodb.update(*key, condition="failures >= :limit AND locked_until <= :now",
                        expression="SET failures = :zero, locked_until = :until, locked_at = :now, "
                                   "lock_count = :locks, window_ends = :now, expires_at = :ttl",
                        values={":limit": limit, ":zero": 0, ":until": until, ":now": now,
                                ":locks": recent_locks + 1, ":ttl": until + LOCK_MEMORY_SECONDS})
    except ConditionFailed:
        return None  # a concurrent failure set the lock
    return Lock(kind, until)


def _give_back(key):
    _update_existing(key, "ADD failures :minus", {":minus": -1, ":zero": 0}, condition="failures > :zero")


def _update_existing(key, expression, values, condition=None):
    condition = f"attribute_exists(pk) AND ({condition})" if condition else "attribute_exists(pk)"
    try:
        dynamodb.update(*key, expression=expression, values=values, condition=condition)
    except ConditionFailed:
        pass  # nothing to change
