"""The dead-letter queue, peeked without losing anything."""

from django.urls import reverse

from dashboard.explain import explain
from dashboard.pages import RESEND, render_page
from emailhub import model
from emailhub.aws import dynamodb
from emailhub.dlq import dlq_depth, dlq_peek
from emailhub.errors import EmailhubError

MAX_PEEK = 500


def dlq_page(request):
    try:
        limit = max(1, min(MAX_PEEK, int(request.GET.get("limit", 100))))
    except ValueError:
        limit = 100
    context = {"limit": limit, "rows": [], "depth": None}
    try:
        context["depth"] = dlq_depth()
        parked = dlq_peek(limit=limit)
        emails = dynamodb.batch_get([model.email_key(p.email_id) for p in parked if model.is_email_id(p.email_id)])
        context["rows"] = [_row(p, emails.get(f"EMAIL#{p.email_id}")) for p in parked]
    except EmailhubError as err:
        context["error"] = err.message
    context["sampled"] = context["depth"] is not None and context["depth"]["ready"] > len(context["rows"])
    context["settled"] = sum(1 for row in context["rows"] if row["status"] != "failed")
    # Each error code explained once, under the table, rather than on every row.
    context["explanations"] = list({row["error"].get("code"): row["error_in_words"]
                                    for row in context["rows"] if row["error"].get("code")}.items())
    context["can_resend"] = request.user.has_perm(RESEND)
    return render_page(request, "dashboard/dlq.html", title="Dead-letter queue", **context)


def _row(parked, email):
    error = (email or {}).get("last_error") or parked.body.get("error") or {}
    summary = (email or {}).get("summary") or parked.body.get("summary") or {}
    return {
        "parked": parked, "email": email, "summary": summary, "error": error,
        "error_in_words": explain(error), "status": (email or {}).get("status", "unknown"),
        "attempts": (email or {}).get("attempts", parked.body.get("attempts", 0)),
        "url": reverse("admin:email_detail", args=[parked.email_id]) if email else None,
    }
