"""SES identities: who may send and receive while the account is in the sandbox."""

from django.conf import settings
from django.urls import reverse

from dashboard.forms import IdentityForm
from dashboard.pages import MANAGE_IDENTITIES, actor, done, forbid_unless, render_page
from emailhub.audit import audit_record
from emailhub.errors import EmailhubError
from emailhub.identities import identities_list, identity_verify, rejected_addresses


def identity_list(request):
    form = IdentityForm(request.POST or None)
    if request.method == "POST":
        forbid_unless(request, MANAGE_IDENTITIES)
        if form.is_valid():
            identity = form.cleaned_data["identity"]
            status = identity_verify(identity=identity)
            audit_record(actor=actor(request), action="identity.verify", target=identity, outcome=status or "PENDING")
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
