"""Reachability of each AWS dependency, for GET /health."""

from django.conf import settings

from emailhub.aws import dynamodb, ses, sqs
from emailhub.errors import EmailhubError


def _check(probe):
    try:
        detail = probe()
    except EmailhubError as err:
        return {"ok": False, "error": err.message}
    return {"ok": True, **(detail or {})}


def _table():
    return {"table": dynamodb.table_name(), "status": dynamodb.table_status()}


def _queue(name):
    return lambda: {"queue": name, "depth": int(sqs.attributes(name)["ApproximateNumberOfMessages"])}


def _ses():
    quota = ses.send_quota()
    return {"max_24_hour_send": quota["Max24HourSend"], "sent_last_24_hours": quota["SentLast24Hours"],
            "sandbox": settings.EMAILHUB_SES_SANDBOX}


def health_check():
    checks = {
        "dynamodb": _check(_table),
        "outbox": _check(_queue(settings.EMAILHUB_OUTBOX_QUEUE)),
        "dead_letter_queue": _check(_queue(settings.EMAILHUB_DLQ)),
        "ses": _check(_ses),
    }
    return all(c["ok"] for c in checks.values()), checks
