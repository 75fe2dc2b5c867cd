"""The suppression list: addresses Emailhub refuses to send to."""

from django.urls import reverse

from dashboard.forms import SuppressionForm
from dashboard.pages import MANAGE_SUPPRESSION, actor, done, forbid_unless, render_page, require
from emailhub.audit import audit_record
from emailhub.suppression import suppression_add, suppression_list, suppression_remove


def suppression_page(request):
    form = SuppressionForm(request.POST or None)
    if request.method == "POST":
        forbid_unless(request, MANAGE_SUPPRESSION)
        if form.is_valid():
            address = form.cleaned_data["address"]
            added = suppression_add(address=address, reason=form.cleaned_data["reason"] or "added by staff",
                                    actor=actor(request))
            audit_record(actor=actor(request), action="suppression.add", target=address,
                         outcome="added" if added else "already suppressed")
            return done(request, f"{address} " + ("suppressed." if added else "was already suppressed."),
                        reverse("admin:suppression"))
    entries, _ = suppression_list()
    return render_page(request, "dashboard/suppression.html", title="Suppression list", entries=entries,
                       form=form, can_manage=request.user.has_perm(MANAGE_SUPPRESSION))


@require(MANAGE_SUPPRESSION)
def suppression_remove_page(request):
    address = (request.POST.get("address") or request.GET.get("address") or "").strip().lower()
    if request.method == "POST":
        removed = suppression_remove(address=address)
        audit_record(actor=actor(request), action="suppression.remove", target=address,
                     outcome="removed" if removed else "was not suppressed")
        return done(request, f"{address} " + ("can receive email again." if removed else "was not suppressed."),
                    reverse("admin:suppression"))
    return render_page(request, "dashboard/confirm_unsuppress.html", title=f"Remove {address}",
                       breadcrumbs=[("Suppression list", reverse("admin:suppression"))], address=address)
