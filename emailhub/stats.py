"""Hourly counts of emails by status, for the dashboard overview.

Each email counts once, in the hour it was created, under its current status.
A status change moves it between counters in the same DynamoDB transaction as
the change itself, so the overview reads 24 or 168 small items instead of
every email. (`sending` counts as `queued`: claiming an email is not a change
anyone needs to see in a chart, and it keeps the send path's calls down.)

One item per hour takes every write of that hour; DynamoDB allows about 1,000
writes a second on one item, far above an SES account's send rate."""

from datetime import timedelta

from emailhub import model
from emailhub.aws import dynamodb

COUNTED_AS = {model.SENDING: model.QUEUED}


def stats_key(hour):
    return f"STATS#{hour}", "STATS"


def counted(status):
    return COUNTED_AS.get(status, status)


def stats_change(email_id, *, from_status, to_status):
    """The transaction operation that moves one email between counters (None
    for either side: only the other one changes), or None when the move does
    not change the counts."""
    old = counted(from_status) if from_status else None
    new = counted(to_status) if to_status else None
    if old == new:
        return None
    names, values, adds = {}, {}, []
    for placeholder, status, step in (("new", new, 1), ("old", old, -1)):
        if status:
            names[f"#{placeholder}"] = status
            values[f":{placeholder}"] = step
            adds.append(f"#{placeholder} :{placeholder}")
    return "Update", dynamodb.update_args(
        *stats_key(model.email_created_hour(email_id)),
        expression="ADD " + ", ".join(adds), names=names, values=values,
    )


def stats_move(email_id, *, from_status, to_status):
    """Move one email between counters on its own (for changes that cannot
    share a transaction with the status write)."""
    change = stats_change(email_id, from_status=from_status, to_status=to_status)
    if change:
        dynamodb.transact([change])


def stats_hours(*, hours):
    """{hour: {status: count}} for each "YYYY-MM-DDTHH" in `hours`."""
    found = dynamodb.batch_get([stats_key(hour) for hour in hours])
    result = {}
    for hour in hours:
        item = found.get(stats_key(hour)[0], {})
        result[hour] = {status: item.get(status, 0) for status in model.STATUSES if status != model.SENDING}
    return result


def _hours_back(moment, count):
    return [(moment - timedelta(hours=n)).strftime("%Y-%m-%dT%H") for n in range(count - 1, -1, -1)]


def stats_overview(*, moment=None):
    """Counts by status for the last 24 hours and 7 days, and the last 24
    hours hour by hour (oldest first): 168 small items in two batch reads."""
    moment = moment or model.now()
    hours = _hours_back(moment, 7 * 24)
    by_hour = stats_hours(hours=hours)
    statuses = [s for s in model.STATUSES if s != model.SENDING]

    def total(selected):
        return {s: sum(by_hour[h][s] for h in selected) for s in statuses}

    return {
        "statuses": statuses,
        "last_24h": total(hours[-24:]),
        "last_7d": total(hours),
        "hourly": [(hour, by_hour[hour]) for hour in hours[-24:]],
    }
