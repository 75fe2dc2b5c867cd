"""Hourly counts of what happened to emails, for the dashboard overview.

Each outcome (sent, delivered, bounced, complained, retrying, failed,
resent, discarded, canceled, expired) adds one to a small
item for the hour it happened in, with a plain UpdateItem ADD. Plain updates
of one item queue up inside DynamoDB instead of conflicting the way
transactions do, so the counters never make a send fail; they stay out of the
status transactions for that reason. The price is that a process dying
between a status change and its count leaves the count one short: the
overview is a picture of the traffic, the email items are the record.

Every figure counts emails, never recipients or events: an email is counted
sent once (its transition to sent), retrying once (its first retry, however
many follow), and in at most one of delivered, bounced
and complained: the furthest its SES events got. A multi-recipient email
delivered to two recipients and bounced by a third counts once, as bounced
(`stats_move` takes it out of delivered, in the hour it was counted there), so
sent >= delivered + bounced + complained always holds.

The overview reads 168 of these items (two batch reads) instead of every email.
One item per hour takes every count of that hour; DynamoDB allows about
1,000 writes a second on one item, well above an SES account's send rate."""

import logging
from datetime import timedelta

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.errors import EmailhubError
from emailhub.metrics import metric_count

logger = logging.getLogger(__name__)

OUTCOMES = (model.SENT, model.DELIVERED, model.BOUNCED, model.COMPLAINED, model.RETRYING, model.FAILED,
            model.RESENT, model.DISCARDED, model.CANCELED, model.EXPIRED)


def stats_key(hour):
    return f"STATS#{hour}", "STATS"


# The outcomes each email reaches at most once and only one of: the chart
# stacks these, so a bar's height is a number of emails.
CHART_OUTCOMES = (model.SENT, model.FAILED)
# Where an email's SES events took it: it counts in the furthest one only.
DELIVERY_OUTCOMES = (model.DELIVERED, model.BOUNCED, model.COMPLAINED)


# The outcomes also written as EMF metrics (emailhub/metrics.py), by name.
METRICS = {model.SENT: "Sent", model.FAILED: "Failed", model.DELIVERED: "Delivered", model.BOUNCED: "Bounced",
           model.COMPLAINED: "Complained"}


def stats_record(*, outcome, moment=None, amount=1):
    """Count one outcome in its hour. Never raises: a lost count must not fail a send."""
    hour = (moment or model.now()).strftime("%Y-%m-%dT%H")
    if amount > 0 and outcome in METRICS:
        metric_count(METRICS[outcome], amount)
    try:
        dynamodb.update(*stats_key(hour), expression="ADD #outcome :one",
                        names={"#outcome": outcome}, values={":one": amount})
    except EmailhubError as err:
        logger.warning("Could not count %s for %s: %s", outcome, hour, err.message)


def stats_move(*, outcome, previous=None, previous_moment=None, moment=None):
    """An email's status moved to `outcome`: count it there, and when it was
    already counted in another delivery outcome (`previous`, counted in the
    hour of `previous_moment`), take it out of that one."""
    stats_record(outcome=outcome, moment=moment)
    if previous in DELIVERY_OUTCOMES and previous != outcome:
        stats_record(outcome=previous, moment=previous_moment or moment, amount=-1)


def stats_hours(*, hours):
    """{hour: {outcome: count}} for each "YYYY-MM-DDTHH" in `hours`."""
    found = dynamodb.batch_get([stats_key(hour) for hour in hours])
    return {hour: {o: found.get(stats_key(hour)[0], {}).get(o, 0) for o in OUTCOMES} for hour in hours}


def _hours_back(moment, count):
    return [(moment - timedelta(hours=n)).strftime("%Y-%m-%dT%H") for n in range(count - 1, -1, -1)]


def stats_overview(*, moment=None):
    """Outcomes in the last 24 hours and 7 days, and the last 24 hours hour
    by hour (oldest first) for the chart: only CHART_OUTCOMES, so that a
    stacked bar counts each email once."""
    hours = _hours_back(moment or model.now(), 7 * 24)
    by_hour = stats_hours(hours=hours)

    def total(selected):
        return {o: sum(by_hour[h][o] for h in selected) for o in OUTCOMES}

    return {
        "outcomes": OUTCOMES,
        "last_24h": total(hours[-24:]),
        "last_7d": total(hours),
        "chart_outcomes": CHART_OUTCOMES,
        "hourly": [(hour, {o: by_hour[hour][o] for o in CHART_OUTCOMES}) for hour in hours[-24:]],
        "by_hour": by_hour,  # the reputation guard's window reads the same hours
    }
