"""What every dashboard view shares: rendering inside the admin, permission
checks, and the redirect-with-message answer to a POST."""

from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from emailhub.staff.roles import (  # noqa: F401  (the views import them from here)
    MANAGE_IDENTITIES, MANAGE_KEYS, MANAGE_STAFF, MANAGE_SUPPRESSION, MANAGE_WEBHOOKS, REPLAY_WEBHOOKS, RESEND,
    RESUME_SENDING,
)


def render_page(request, template, *, title, breadcrumbs=(), **context):
    """`breadcrumbs` are (label, url) pairs between Home and the title."""
    return TemplateResponse(request, template, {
        **admin.site.each_context(request), "title": title, "breadcrumbs": breadcrumbs, **context,
    })


def require(permission):
    """The view needs `permission` besides staff access; without it, 403."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            forbid_unless(request, permission)
            return view(request, *args, **kwargs)

        return checked

    return decorator


def forbid_unless(request, permission):
    """For a page anyone may see whose POST needs `permission`."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"Your role ({request.user.role}) does not allow this.")


def done(request, text, url, *, level=messages.SUCCESS):
    messages.add_message(request, level, text)
    return redirect(url)


def actor(request):
    return request.user.get_username()
