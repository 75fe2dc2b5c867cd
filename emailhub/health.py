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
    return lambda: {"queue": name, "depth": sqs.depth(name)["ready"]}


def _ses():
    quota = ses.send_quota()
    return {"max_24_hour_send": quota["Max24HourSend"], "sent_last_24_hours": quota["SentLast24Hours"],
            "sandbox": settings.EMAILHUB_SES_SANDBOX}


def _stuck():
    from emailhub.stuck import emails_stuck

    stuck = emails_stuck(limit=20)
    return {"stuck_emails": len(stuck), "examples": [s.email["id"] for s in stuck[:5]]}


def _webhooks():
    from emailhub.webhooks.status import webhooks_status

    found = webhooks_status()
    return {**found, "disabled": [e["id"] for e in found["disabled"]], "failing": [e["id"] for e in found["failing"]]}


def _reputation():
    from emailhub.reputation import reputation_read

    return reputation_read().as_dict()


def health_check():
    """(reachable, degraded, checks): reachable is False when an AWS dependency
    cannot be reached; degraded when emails are stuck, a webhook endpoint
    was disabled, webhook events are parked, or the reputation guard has
    paused sending."""
    checks = {
        "dynamodb": _check(_table),
        "outbox": _check(_queue(settings.EMAILHUB_OUTBOX_QUEUE)),
        "dead_letter_queue": _check(_queue(settings.EMAILHUB_DLQ)),
        "ses": _check(_ses),
    }
    reachable = all(c["ok"] for c in checks.values())
    stuck = _check(_stuck) if checks["dynamodb"]["ok"] else {"ok": False, "error": "DynamoDB unreachable"}
    checks["stuck_emails"] = stuck
    webhooks = _check(_webhooks)
    checks["webhooks"] = webhooks
    reachable = reachable and webhooks["ok"]
    webhooks_degraded = bool(webhooks.get("disabled") or webhooks.get("unsent") or webhooks.get("parked"))
    reputation = _check(_reputation) if checks["dynamodb"]["ok"] else {"ok": False, "error": "DynamoDB unreachable"}
    checks["reputation"] = reputation
    paused = bool(reputation.get("sending_paused"))
    return reachable, bool(stuck.get("stuck_emails")) or webhooks_degraded or paused, checks
