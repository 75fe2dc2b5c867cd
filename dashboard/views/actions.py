"""Resend and discard: a confirmation page on GET showing exactly what will
happen, the action on POST, answered by a message and a redirect to the
audit entry that lists each email's result."""

from django.contrib import messages
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from dashboard.forms import LogFilterForm
from dashboard.pages import RESEND, actor, done, render_page, require
from emailhub.audit import audit_finish, audit_record
from emailhub.model import is_email_id
from emailhub.dlq import dlq_tidy as dlq_tidy_service
from emailhub.resends import discard_plan, emails_discard, emails_resend, resend_plan
from emailhub.selectors import email_log_all

# Per click, so that one request fits in API Gateway's 29 seconds; a second
# click picks up the rest and skips what is done.
MAX_BULK = 200

ACTIONS = {
    "resend": {"plan": resend_plan, "act": emails_resend, "verb": "Resend", "done": "resent"},
    "discard": {"plan": discard_plan, "act": emails_discard, "verb": "Discard", "done": "discarded"},
}


def _valid(ids):
    return [i for i in dict.fromkeys(ids) if is_email_id(i)][:MAX_BULK]


def _selected_ids(request):
    """Ids ticked on a list, or every failed email matching the log's filter."""
    if request.GET.get("all") != "1":
        return _valid(request.GET.getlist("ids")), None
    params = request.GET.copy()
    params["status"] = "failed"
    form = LogFilterForm(params)
    if not form.is_valid():
        return [], form
    ids = []
    for email in email_log_all(log_filter=form.log_filter()):
        ids.append(email["id"])
        if len(ids) >= MAX_BULK:
            break
    return ids, form


def _bulk(request, kind):
    action = ACTIONS[kind]
    if request.method == "POST":
        ids = _valid(request.POST.getlist("ids"))
        # Recorded before acting, so an action cut short still leaves a trace.
        entry = audit_record(actor=actor(request), action=f"email.{kind}", target=f"{len(ids)} email(s)",
                             outcome="started", details=[{"email_id": i, "outcome": "pending"} for i in ids])
        results = action["act"](email_ids=ids, actor=actor(request))
        counts = {}
        for result in results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing to do"
        audit_finish(entry_id=entry["id"], outcome=summary, details=[r.as_dict() for r in results])
        level = messages.SUCCESS if counts.get(action["done"]) else messages.WARNING
        return done(request, f"{action['verb']}: {summary}.", reverse("admin:audit_detail", args=[entry["id"]]),
                    level=level)
    ids, form = _selected_ids(request)
    if not ids and form is None:
        return done(request, f"Tick the emails to {kind} first.", _back(request), level=messages.WARNING)
    plan = action["plan"](email_ids=ids) if ids else []
    return render_page(
        request, "dashboard/confirm_bulk.html", title=f"{action['verb']} emails",
        kind=kind, verb=action["verb"], plan=plan, form_errors=form.errors if form else None,
        doing=[p for p in plan if p.action != "skip"], skipping=[p for p in plan if p.action == "skip"],
        truncated=len(ids) >= MAX_BULK, max_bulk=MAX_BULK,
    )


def _back(request):
    """The list the click came from (this site only), else the email log."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return referer
    return reverse("admin:email_log")


@require(RESEND)
def resend(request):
    return _bulk(request, "resend")


@require(RESEND)
def discard(request):
    return _bulk(request, "discard")


@require(RESEND)
def dlq_tidy(request):
    """POST: settle parked messages whose email is no longer failed."""
    if request.method != "POST":
        return done(request, "Tidying the dead-letter queue is a POST.", reverse("admin:dlq"), level=messages.ERROR)
    outcome = dlq_tidy_service()
    text = f"{len(outcome['requeued'])} in-flight email(s) put back on the outbox, " \
           f"{len(outcome['dropped'])} settled message(s) removed."
    audit_record(actor=actor(request), action="dlq.tidy", target="dead-letter queue", outcome=text,
                 details=[{"email_id": i, "outcome": "requeued"} for i in outcome["requeued"]]
                 + [{"email_id": i, "outcome": "dropped"} for i in outcome["dropped"]])
    return done(request, text, reverse("admin:dlq"))
