"""Sending at the account's pace.

SES allows MaxSendRate recipients a second and Max24HourSend a day
(GetSendQuota, cached per process). A token bucket spreads a burst into a steady stream at
that rate instead of a wall of throttling errors, and when the day's quota is
used up the worker defers emails (status `deferred`, retried later without
burning an attempt) instead of failing them.

The bucket lives in the worker process: with several workers running at
once, set EMAILHUB_WORKER_CONCURRENCY to their number (and cap the worker
Lambda's concurrency to match) so that together they stay under the rate."""

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from emailhub.aws import ses
from emailhub.errors import AwsUnavailable


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`. `clock` and `sleep`
    are injectable so tests can run it on a fake clock."""

    def __init__(self, rate, *, burst=1.0, clock=time.monotonic, sleep=time.sleep):
        self.rate, self.burst = float(rate), float(burst)
        self.clock, self.sleep = clock, sleep
        self.tokens, self.updated = self.burst, clock()
        self.lock = threading.Lock()

    def acquire(self, tokens=1):
        """Take `tokens`, waiting for them if need be; returns the seconds waited."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= tokens
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait:
            self.sleep(wait)
        return wait


@dataclass
class Quota:
    max_24h: float
    sent_24h: float
    max_rate: float
    read_at: float


_state = {"quota": None, "bucket": None, "sent_since_read": 0}
# The worker's bucket runs on these; tests swap in a fake clock.
clock, sleep = time.monotonic, time.sleep
_lock = threading.Lock()
_refresh = threading.Lock()  # one GetSendQuota at a time: AWS allows it once a second


def quota(*, clock=time.monotonic):
    """The account's quota, read from SES at most every EMAILHUB_QUOTA_CACHE_SECONDS."""
    def stale(current):
        return current is None or clock() - current.read_at > settings.EMAILHUB_QUOTA_CACHE_SECONDS

    if stale(_state["quota"]):
        with _refresh:
            if stale(_state["quota"]):  # another thread may have read it meanwhile
                answer = ses.send_quota()
                with _lock:
                    _state.update(quota=Quota(max_24h=answer["Max24HourSend"], sent_24h=answer["SentLast24Hours"],
                                              max_rate=answer["MaxSendRate"], read_at=clock()),
                                  sent_since_read=0)
    return _state["quota"]


def quota_exhausted():
    """True when the account's 24-hour quota is used up (-1 means unlimited)."""
    current = quota()
    return current.max_24h >= 0 and current.sent_24h + _state["sent_since_read"] >= current.max_24h


def wait_for_slot(*, recipients=1):
    """Block until this worker may send an email to `recipients` addresses
    (SES counts each one); returns the seconds waited. Paces at
    EMAILHUB_SES_RATE_SHARE of the rate: exactly the rate leaves no room for
    the jitter between taking a slot and SES receiving the call."""
    if not settings.EMAILHUB_SES_PACING:
        return 0.0
    try:
        max_rate = quota().max_rate
    except AwsUnavailable:
        return 0.0  # cannot tell the rate: send, and let SES's throttling answer be retried
    rate = max_rate * settings.EMAILHUB_SES_RATE_SHARE / max(1, settings.EMAILHUB_WORKER_CONCURRENCY)
    bucket = _state["bucket"]
    if bucket is None or bucket.rate != rate:
        with _lock:
            bucket = _state["bucket"]
            if bucket is None or bucket.rate != rate:
                bucket = _state["bucket"] = TokenBucket(rate, clock=clock, sleep=sleep)
    return bucket.acquire(recipients)


def count_sent(*, recipients=1):
    with _lock:
        _state["sent_since_read"] += recipients


def reset():
    with _lock:
        _state.update(quota=None, bucket=None, sent_since_read=0)
