"""The suppression list: addresses Emailhub refuses to send to."""

from django.urls import reverse

from dashboard.forms import SuppressionFilterForm, SuppressionForm
from dashboard.pages import MANAGE_SUPPRESSION, actor, done, forbid_unless, render_page, require
from dashboard.search import search_further_url, search_start
from emailhub.addresses import InvalidAddress, parse_mailbox
from emailhub.audit import audit_record
from emailhub.suppression import suppression_add, suppression_get, suppression_remove, suppression_search


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
    return render_page(request, "dashboard/suppression.html", title="Suppression list", form=form,
                       can_manage=request.user.has_perm(MANAGE_SUPPRESSION), **_listed(request))


def _listed(request):
    """The list, or what the filter finds: a whole address is a key lookup; part
    of one, or a reason, is checked entry by entry as the list is read (bounded)."""
    search = SuppressionFilterForm(request.GET)
    if not search.is_valid():
        return {"search": search, "entries": []}
    params = {"q": search.cleaned_data["q"].strip().lower(), "reason_has": search.cleaned_data["reason_has"].strip()}
    if params["q"] and not params["reason_has"] and _whole_address(params["q"]):
        entry = suppression_get(address=params["q"])
        return {"search": search, "entries": [entry] if entry else [], "looked_up": True}
    entries, next_key, reads = suppression_search(contains=params["q"] or None, reason=params["reason_has"] or None,
                                                  start_key=search_start(request, params))
    return {"search": search, "entries": entries, "reads": reads, "filtered": bool(params["q"] or params["reason_has"]),
            "further_url": search_further_url(params, next_key)}


def _whole_address(value):
    try:
        return parse_mailbox(value).address.lower() == value
    except InvalidAddress:
        return False


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
