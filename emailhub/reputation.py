"""The sending-reputation guard.

SES puts an account under review at a 5 % bounce rate or a 0.1 % complaint
rate, measured over the account's recent sending, and may pause it. This
reads the same rates from the hourly counters (emailhub/stats.py) over
EMAILHUB_REPUTATION_WINDOW_HOURS and, when one reaches its guard
(EMAILHUB_BOUNCE_GUARD, EMAILHUB_COMPLAINT_GUARD: below SES's thresholds, so
Emailhub stops first) with at least EMAILHUB_GUARD_MIN_SENT emails sent in
the window, pauses sending: the worker defers emails (no attempt used) and
the API keeps accepting them.

The pause is not stored: it is the rates, read again (the worker caches the
reading for EMAILHUB_GUARD_CACHE_SECONDS), so it lifts by itself once the
rate falls back under the guard. An operator can resume before that
(`reputation_resume`, from the overview): the guard then stands aside for
EMAILHUB_GUARD_RESUME_HOURS, recorded on one small item, and audited.

Where the bounces come from: one counter item per hour holds a bounce count
per recipient domain, added to by the events worker outside the status
transactions (like the hourly counters), so the send path pays nothing."""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.errors import EmailhubError
from emailhub.stats import stats_hours

logger = logging.getLogger(__name__)

# Where SES reviews an account (percent of emails sent).
SES_BOUNCE_REVIEW = 5.0
SES_COMPLAINT_REVIEW = 0.1
GUARD_KEY = ("GUARD#reputation", "GUARD")
# An hour's item holds about 10,000 domains before DynamoDB's 400 KB limit
# refuses more; past that the hour's counts stop growing (logged), the guard
# itself (the hourly counters) does not depend on them.
DOMAINS_SHOWN = 10


def bounce_domains_key(hour):
    return f"BOUNCEDOMAINS#{hour}", "BOUNCEDOMAINS"


@dataclass(frozen=True)
class Reputation:
    sent: int
    bounced: int
    complained: int
    window_hours: int
    paused: bool = False
    tripped: tuple = ()          # ("bounce", "complaint") past their guards
    reason: str = ""             # plain words for the overview and the deferred emails
    resumed_by: str = None       # an operator's override, while it lasts
    resumed_until: str = None
    domains: list = field(default_factory=list)

    @property
    def bounce_rate(self):
        return 100.0 * self.bounced / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self):
        return 100.0 * self.complained / self.sent if self.sent else 0.0

    def as_dict(self):
        return {
            "window_hours": self.window_hours, "sent": self.sent, "bounced": self.bounced,
            "complained": self.complained, "bounce_rate": round(self.bounce_rate, 3),
            "complaint_rate": round(self.complaint_rate, 4),
            "bounce_guard": settings.EMAILHUB_BOUNCE_GUARD, "complaint_guard": settings.EMAILHUB_COMPLAINT_GUARD,
            "ses_bounce_review": SES_BOUNCE_REVIEW, "ses_complaint_review": SES_COMPLAINT_REVIEW,
            "minimum_sent": settings.EMAILHUB_GUARD_MIN_SENT, "sending_paused": self.paused,
            "reason": self.reason or None, "resumed_by": self.resumed_by, "resumed_until": self.resumed_until,
        }


def _window(moment):
    hours = settings.EMAILHUB_REPUTATION_WINDOW_HOURS
    return [(moment - timedelta(hours=n)).strftime("%Y-%m-%dT%H") for n in range(hours - 1, -1, -1)]


def _tripped(sent, bounced, complained):
    if sent < settings.EMAILHUB_GUARD_MIN_SENT or not sent:
        return ()
    found = []
    if 100.0 * bounced / sent >= settings.EMAILHUB_BOUNCE_GUARD:
        found.append("bounce")
    if 100.0 * complained / sent >= settings.EMAILHUB_COMPLAINT_GUARD:
        found.append("complaint")
    return tuple(found)


def _reason(tripped, sent, bounced, complained, hours):
    parts = []
    if "bounce" in tripped:
        parts.append(f"{bounced} of the {sent} emails sent in the last {_span(hours)} bounced "
                     f"({100.0 * bounced / sent:.2f} %, the guard is {settings.EMAILHUB_BOUNCE_GUARD:g} %, "
                     f"SES reviews accounts at {SES_BOUNCE_REVIEW:g} %)")
    if "complaint" in tripped:
        parts.append(f"{complained} of the {sent} emails sent in the last {_span(hours)} drew a spam complaint "
                     f"({100.0 * complained / sent:.3f} %, the guard is {settings.EMAILHUB_COMPLAINT_GUARD:g} %, "
                     f"SES reviews accounts at {SES_COMPLAINT_REVIEW:g} %)")
    return ("Sending is paused to protect the SES account: " + "; ".join(parts) + ". New emails are accepted "
            "and wait; they are sent when the rate falls back under the guard or an operator resumes sending.")


def _span(hours):
    return f"{hours // 24} days" if hours % 24 == 0 and hours >= 48 else f"{hours} hours"


def reputation_read(*, moment=None, by_hour=None, with_domains=False):
    """The rates over the window and whether sending is paused. `by_hour`
    ({hour: {outcome: count}}, as stats_hours gives) saves reading them again."""
    moment = moment or model.now()
    hours = _window(moment)
    by_hour = by_hour if by_hour is not None and all(h in by_hour for h in hours) else stats_hours(hours=hours)
    sent = sum(by_hour[h].get(model.SENT, 0) for h in hours)
    bounced = sum(by_hour[h].get(model.BOUNCED, 0) for h in hours)
    complained = sum(by_hour[h].get(model.COMPLAINED, 0) for h in hours)
    tripped = _tripped(sent, bounced, complained)
    override = dynamodb.get(*GUARD_KEY) or {}
    resumed = override.get("resumed_until") and model.parse_iso(override["resumed_until"]) > moment
    paused = bool(tripped) and not resumed
    return Reputation(
        sent=sent, bounced=bounced, complained=complained, window_hours=len(hours), paused=paused,
        tripped=tripped, reason=_reason(tripped, sent, bounced, complained, len(hours)) if paused else "",
        resumed_by=override.get("resumed_by") if resumed else None,
        resumed_until=override.get("resumed_until") if resumed else None,
        domains=bounce_domains(hours=hours) if with_domains else [],
    )


# --- the worker's view, cached ------------------------------------------------------

_cache = {"read_at": None, "reputation": None}
_lock = threading.Lock()
clock = time.monotonic  # tests swap in a fake clock


def sending_paused():
    """The reason sending is paused, or "" — read at most every
    EMAILHUB_GUARD_CACHE_SECONDS per process. When the counters cannot be
    read, sending goes on: the guard protects the account, it must not stop it."""
    with _lock:
        fresh = _cache["read_at"] is not None and clock() - _cache["read_at"] < settings.EMAILHUB_GUARD_CACHE_SECONDS
        if fresh:
            return _cache["reputation"].reason if _cache["reputation"] else ""
    try:
        reputation = reputation_read()
    except EmailhubError as err:
        logger.warning("Could not read the reputation counters (%s); sending goes on", err.message)
        reputation = None
    with _lock:
        _cache.update(read_at=clock(), reputation=reputation)
    return reputation.reason if reputation else ""


def reset():
    with _lock:
        _cache.update(read_at=None, reputation=None)


# --- an operator's override ------------------------------------------------------------

def reputation_resume(*, actor, moment=None):
    """Resume sending although a rate is past its guard, for
    EMAILHUB_GUARD_RESUME_HOURS. The caller audits it. Returns the item."""
    moment = moment or model.now()
    until = moment + timedelta(hours=settings.EMAILHUB_GUARD_RESUME_HOURS)
    item = {"pk": GUARD_KEY[0], "sk": GUARD_KEY[1], "resumed_by": actor, "resumed_at": model.iso(moment),
            "resumed_until": model.iso(until)}
    dynamodb.put(item)
    reset()
    return item


# --- where bounces come from ----------------------------------------------------------

def bounce_domains_record(*, addresses, moment=None):
    """Count a bounced email once per recipient domain it bounced at, in the
    hour's item. Never raises: a lost count must not fail the event."""
    hour = (moment or model.now()).strftime("%Y-%m-%dT%H")
    domains = sorted({model.address_domain(a) for a in addresses if "@" in a})
    if not domains:
        return
    names = {f"#d{i}": domain for i, domain in enumerate(domains)}
    expression = "ADD " + ", ".join(f"#d{i} :one" for i in range(len(domains)))
    try:
        dynamodb.update(*bounce_domains_key(hour), expression=expression, names=names, values={":one": 1})
    except EmailhubError as err:
        logger.warning("Could not count bounces by domain for %s: %s", hour, err.message)


def bounce_domains(*, hours):
    """[(domain, bounces)] over `hours`, most first (at most DOMAINS_SHOWN)."""
    found = dynamodb.batch_get([bounce_domains_key(hour) for hour in hours])
    totals = {}
    for item in found.values():
        for name, value in item.items():
            if name not in ("pk", "sk"):
                totals[name] = totals.get(name, 0) + int(value)
    return sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))[:DOMAINS_SHOWN]
