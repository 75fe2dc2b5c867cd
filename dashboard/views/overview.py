"""The overview panel on the admin index."""

from django.conf import settings

from dashboard.charts import COLORS, stacked_bars
from dashboard.pages import RESUME_SENDING
from emailhub.aws import ses
from emailhub.dlq import dlq_depth, dlq_peek
from emailhub.errors import EmailhubError
from emailhub.reputation import reputation_read
from emailhub.selectors import outbox_depth
from emailhub.stats import stats_overview
from emailhub.stuck import emails_stuck


def overview_context(request=None):
    context = {"sandbox": settings.EMAILHUB_SES_SANDBOX, "colors": COLORS, "overview_errors": []}
    stats = None
    try:
        stats = stats_overview()
        bars, labels, peak = stacked_bars(stats["hourly"], stats["chart_outcomes"])
        context.update(stats=stats, bars=bars, labels=labels, peak=peak, outbox=outbox_depth(),
                       legend=[(s, COLORS.get(s, "#666")) for s in stats["chart_outcomes"]])
    except EmailhubError as err:
        context["overview_errors"].append(f"Counts unavailable: {err.message}")
    try:
        reputation = reputation_read(by_hour=stats["by_hour"] if stats else None, with_domains=True)
        context.update(reputation=reputation, guard=reputation.as_dict(),
                       can_resume=bool(request and request.user.has_perm(RESUME_SENDING)))
    except EmailhubError as err:
        context["overview_errors"].append(f"Sending reputation unavailable: {err.message}")
    try:
        depth = dlq_depth()
        sample = dlq_peek(limit=50)
        context.update(dlq=depth, dlq_oldest_at=sample[0].parked_at if sample else None,
                       dlq_sampled=len(sample) < depth["ready"])
    except EmailhubError as err:
        context["overview_errors"].append(f"Dead-letter queue unavailable: {err.message}")
    try:
        context["stuck"] = emails_stuck(limit=20)
    except EmailhubError as err:
        context["overview_errors"].append(f"Stuck emails unavailable: {err.message}")
    try:
        from emailhub.webhooks.status import webhooks_status

        context["webhooks"] = webhooks_status()
    except EmailhubError as err:
        context["overview_errors"].append(f"Webhooks unavailable: {err.message}")
    try:
        context["quota"] = ses.send_quota()
    except EmailhubError as err:
        context["overview_errors"].append(f"SES quota unavailable: {err.message}")
    return context
