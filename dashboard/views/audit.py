"""The audit trail of staff actions."""

from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from dashboard.pages import render_page
from emailhub.audit import audit_get, audit_page


def audit_list(request):
    month = request.GET.get("month") or timezone.now().strftime("%Y-%m")
    entries, _ = audit_page(month=month, limit=200)
    return render_page(request, "dashboard/audit.html", title="Audit log", entries=entries, month=month)


def audit_detail(request, entry_id):
    entry = audit_get(entry_id=entry_id)
    if entry is None:
        raise Http404("No such audit entry.")
    return render_page(request, "dashboard/audit_detail.html", title="Audit entry",
                       breadcrumbs=[("Audit log", reverse("admin:audit"))], entry=entry)
