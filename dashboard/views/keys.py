"""API keys: list, create (the key is shown once), revoke (confirm, then POST)."""

from django.http import Http404
from django.urls import reverse

from dashboard.forms import ApiKeyForm
from dashboard.pages import MANAGE_KEYS, actor, done, forbid_unless, render_page, require
from emailhub.apikeys import api_key_create, api_key_list, api_key_revoke
from emailhub.audit import audit_record
from emailhub.errors import NotFound


NEW_KEY = "dashboard.new_api_key"


def key_list(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST":
        forbid_unless(request, MANAGE_KEYS)
        if form.is_valid():
            key, secret = api_key_create(name=form.cleaned_data["name"], scope=form.cleaned_data["scope"])
            audit_record(actor=actor(request), action="api_key.create", target=key.prefix,
                         outcome=f"created {key.prefix} ({key.name}, {key.scope})")
            # Handed to the next page once through the session, then gone: a
            # reload of that page cannot show it again or create another key.
            request.session[NEW_KEY] = secret
            return done(request, f"API key {key.prefix} ({key.name}, scope {key.scope}) created.",
                        reverse("admin:api_keys"))
    return render_page(request, "dashboard/api_keys.html", title="API keys", keys=api_key_list(),
                       form=form, created=request.session.pop(NEW_KEY, None),
                       can_manage=request.user.has_perm(MANAGE_KEYS))


@require(MANAGE_KEYS)
def key_revoke(request, prefix):
    keys = {k.prefix: k for k in api_key_list()}
    if prefix not in keys:
        raise Http404("No such key.")
    if request.method == "POST":
        try:
            key = api_key_revoke(prefix=prefix)
        except NotFound as err:
            raise Http404(err.message) from err
        audit_record(actor=actor(request), action="api_key.revoke", target=prefix,
                     outcome=f"revoked {prefix} ({key.name})")
        return done(request, f"API key {prefix} ({key.name}) revoked.", reverse("admin:api_keys"))
    return render_page(request, "dashboard/confirm_revoke.html", title=f"Revoke API key {prefix}",
                       breadcrumbs=[("API keys", reverse("admin:api_keys"))], key=keys[prefix])
