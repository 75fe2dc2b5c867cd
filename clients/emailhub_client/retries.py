"""When a request is tried again, and how long the client waits first.

Retried: no answer (the connection failed, broke, or timed out, before or
after the request went out), 503 (a service Emailhub depends on was
unreachable; nothing was accepted), and a gateway's 502 or 504 (API Gateway
before Lambda: the function failed or ran out of time, so whether a send was
accepted is unknown, as with a lost answer). Every other answer is final: a
4xx says the request itself is wrong and is wrong again next time; a 500 is
a bug that has been logged and a retry would only repeat it.

A retry can never send an email twice because every send carries one
Idempotency-Key for all its attempts: the server answers a repeat with the
first answer (the same id) and sends nothing more. The other operations
are safe to repeat by what they do (see Emailhub's methods)."""

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3  # attempts after the first
    backoff_base: float = 0.5  # seconds before the first retry (before jitter)
    backoff_max: float = 8.0  # no wait between attempts is longer than this...
    retry_after_max: float = 30.0  # ...except a Retry-After, honoured up to this

    def backoff(self, retry_number):
        """Exponential backoff with jitter: between half and all of
        base * 2**(n-1), capped, so that many clients failing at once do not
        come back at the same instant."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (retry_number - 1))
        return random.uniform(ceiling / 2, ceiling)

    def delay_for_answer(self, retry_number, retry_after):
        """A 503's wait: its Retry-After (capped) when it has one, else the backoff."""
        seconds = retry_after_seconds(retry_after)
        if seconds is None:
            return self.backoff(retry_number)
        return min(max(seconds, 0.0), self.retry_after_max)


def retry_after_seconds(value):
    """Retry-After as seconds: a number of seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - datetime.now(timezone.utc)).total_seconds()


RETRIED_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def may_have_been_sent(exc):
    """False only when the request surely never left: the connection could not be opened."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return not isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return True
