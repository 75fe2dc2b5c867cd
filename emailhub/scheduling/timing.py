"""send_at and expires_at: what the API accepts, checked at call time.

The format (ISO 8601 with a UTC offset) is checked by the request schema; the
range (not in the past, at most EMAILHUB_MAX_SCHEDULE_DAYS ahead, expiry
after send_at) here, at accept time, so that a client retrying with the same
Idempotency-Key after the time has passed is answered as the first time."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from django.conf import settings

from emailhub import model
from emailhub.errors import InvalidSchedule

# SQS delays a message by at most 15 minutes: later emails wait in the schedule-index.
SQS_MAX_DELAY_SECONDS = 900
# A send_at this close to now (clocks differ, requests take time) counts as now.
PAST_TOLERANCE = timedelta(seconds=5)


def parse_instant(value):
    """An aware datetime from ISO 8601 text with an offset (Z or +hh:mm);
    ValueError otherwise, with a sentence for the client."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40 or not value.isascii():
        raise ValueError("Give an ISO 8601 date and time with an offset, e.g. 2026-12-01T09:00:00+01:00.")
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as err:
        raise ValueError("Not an ISO 8601 date and time; give one with an offset, "
                         "e.g. 2026-12-01T09:00:00+01:00.") from err
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Give the time with its UTC offset (Z, +01:00, ...): without one it is ambiguous.")
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Schedule:
    """When an email may be sent (None: now) and when it stops being worth sending (None: never)."""

    send_at: Optional[datetime] = None
    send_by: Optional[datetime] = None

    def delay_seconds(self, moment):
        """Whole seconds from `moment` until send_at (0 when due), rounded up
        so a delayed message never arrives before its time."""
        if self.send_at is None:
            return 0
        return max(0, math.ceil((self.send_at - moment).total_seconds()))

    def waits_in_index(self, moment):
        """True when send_at is further away than an SQS delay can reach."""
        return self.delay_seconds(moment) > SQS_MAX_DELAY_SECONDS

    def attributes(self, moment):
        """The email item's attributes for this schedule."""
        attrs = {}
        if self.send_at is not None:
            attrs["send_at"] = model.iso(self.send_at)
            if self.waits_in_index(moment):
                attrs["schedule_bucket"] = model.schedule_bucket(self.send_at)
        if self.send_by is not None:
            attrs["send_by"] = model.iso(self.send_by)
        return attrs


def send_at_check(send_at, moment, field="send_at"):
    """Raise InvalidSchedule unless `send_at` is from now to the schedule limit."""
    if send_at < moment - PAST_TOLERANCE:
        raise InvalidSchedule(f"{field} {model.iso(send_at)} is in the past (it is {model.iso(moment)} now); "
                              "leave it out to send now.", code="send_at_in_past", field=field)
    days = settings.EMAILHUB_MAX_SCHEDULE_DAYS
    if send_at > moment + timedelta(days=days):
        raise InvalidSchedule(f"{field} is more than {days} days ahead (EMAILHUB_MAX_SCHEDULE_DAYS).",
                              code="send_at_too_far", field=field)


def schedule_of(request, moment):
    """The Schedule a request asks for (its send_at and expires_at, as
    given), checked against `moment`. Raises InvalidSchedule."""
    send_at = _instant(request.get("send_at"), "send_at")
    send_by = _instant(request.get("expires_at"), "expires_at")
    if send_at is not None:
        send_at_check(send_at, moment)
        if send_at <= moment:
            send_at = None  # "now" (within the tolerance): an ordinary email
    if send_by is not None:
        if send_by <= (send_at or moment):
            raise InvalidSchedule("expires_at must be later than send_at (or than now, without send_at): "
                                  "the email would expire before it could be sent.",
                                  code="expires_before_send", field="expires_at")
        if send_by > moment + timedelta(days=settings.EMAILHUB_MAX_SCHEDULE_DAYS + 1):
            raise InvalidSchedule(f"expires_at is more than {settings.EMAILHUB_MAX_SCHEDULE_DAYS + 1} days ahead.",
                                  code="expires_at_too_far", field="expires_at")
    return Schedule(send_at=send_at, send_by=send_by)


def _instant(value, field):
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as err:
        raise InvalidSchedule(str(err), code="invalid_datetime", field=field) from err
