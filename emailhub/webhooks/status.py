"""What needs a human about webhooks, for /health and the overview:
disabled and failing endpoints, events parked unsent, the dead-letter queue."""

from django.conf import settings

from emailhub.aws import sqs
from emailhub.webhooks.endpoints import webhook_endpoint_list
from emailhub.webhooks.enqueue import webhooks_unsent

UNSENT_SHOWN = 100


def webhooks_status():
    endpoints = webhook_endpoint_list()
    unsent = webhooks_unsent(limit=UNSENT_SHOWN)
    return {
        "endpoints": len(endpoints),
        "disabled": [{"id": e["id"], "url": e["url"], "reason": e.get("disabled_reason"), "at": e.get("disabled_at")}
                     for e in endpoints if not e.get("enabled")],
        "failing": [{"id": e["id"], "url": e["url"], "since": e["failing_since"]}
                    for e in endpoints if e.get("enabled") and e.get("failing_since")],
        "unsent": len(unsent),
        "unsent_more": len(unsent) >= UNSENT_SHOWN,
        "parked": sqs.depth(settings.EMAILHUB_WEBHOOKS_DLQ)["ready"],
    }


def webhooks_need_attention(status):
    return bool(status["disabled"] or status["unsent"] or status["parked"])
