"""The audit trail of staff actions."""

from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from dashboard.forms import AuditFilterForm
from dashboard.pages import render_page
from dashboard.search import search_further_url, search_start
from emailhub.audit import audit_get, audit_search


def audit_list(request):
    params = request.GET.copy()
    params.setdefault("month", timezone.now().strftime("%Y-%m"))  # the form shows the month the page reads
    form = AuditFilterForm(params)
    context = {"form": form, "entries": []}
    if form.is_valid():
        params = {name: form.cleaned_data[name].strip() for name in ("month", "actor", "action", "target")}
        entries, next_key, reads = audit_search(start_key=search_start(request, params), **params)
        context.update(entries=entries, further_url=search_further_url(params, next_key), reads=reads,
                       filtered=any(params[name] for name in ("actor", "action", "target")), month=params["month"])
    return render_page(request, "dashboard/audit.html", title="Audit log", **context)


def audit_detail(request, entry_id):
    entry = audit_get(entry_id=entry_id)
    if entry is None:
        raise Http404("No such audit entry.")
    return render_page(request, "dashboard/audit_detail.html", title="Audit entry",
                       breadcrumbs=[("Audit log", reverse("admin:audit"))], entry=entry)
