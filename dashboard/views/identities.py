"""SES identities: who may send and receive while the account is in the sandbox."""

from django.conf import settings
from django.http import Http404
from django.urls import reverse

from dashboard.forms import IdentityForm
from dashboard.pages import MANAGE_IDENTITIES, actor, done, forbid_unless, render_page
from emailhub.audit import audit_record
from emailhub.errors import EmailhubError
from emailhub.identities import (
    InvalidIdentity, identities_list, identity_dns_records, identity_verify, rejected_addresses,
)


def identity_list(request):
    form = IdentityForm(request.POST or None)
    if request.method == "POST":
        forbid_unless(request, MANAGE_IDENTITIES)
        if form.is_valid():
            identity = form.cleaned_data["identity"]
            status = identity_verify(identity=identity)
            audit_record(actor=actor(request), action="identity.verify", target=identity, outcome=status or "PENDING")
            if "@" not in identity:  # a domain: what to publish next
                return done(request, f"{identity}: publish the DNS records below; SES checks them on its own.",
                            reverse("admin:identity_dns", args=[identity]))
            text = (f"{identity} is verified." if status == "SUCCESS" else
                    f"SES sent a verification link to {identity}; it can be used once the link is clicked.")
            return done(request, text, reverse("admin:identities"))
    context = {"form": form, "sandbox": settings.EMAILHUB_SES_SANDBOX,
               "can_verify": request.user.has_perm(MANAGE_IDENTITIES)}
    try:
        context.update(identities=identities_list(), rejected=rejected_addresses())
    except EmailhubError as err:
        context["error"] = err.message
    return render_page(request, "dashboard/identities.html", title="SES identities", **context)


def identity_dns(request, domain):
    """A domain's DNS records with SES's status for each, read afresh on every load."""
    breadcrumbs = [("SES identities", reverse("admin:identities"))]
    try:
        details = identity_dns_records(identity=domain)
    except InvalidIdentity as err:
        raise Http404(str(err)) from err
    except EmailhubError as err:  # SES unreachable: say so, as the identities page does
        return render_page(request, "dashboard/identity_dns.html", title=f"DNS records for {domain}",
                           breadcrumbs=breadcrumbs, domain=domain, error=err.message, records=[])
    if details is None:
        raise Http404("SES does not know this domain.")
    return render_page(request, "dashboard/identity_dns.html", title=f"DNS records for {details['domain']}",
                       breadcrumbs=breadcrumbs, **details)
