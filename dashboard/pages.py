"""What every dashboard view shares: rendering inside the admin, permission
checks, and the redirect-with-message answer to a POST."""

from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse

RESEND = "dashboard.resend_email"
MANAGE_KEYS = "dashboard.manage_api_keys"
MANAGE_IDENTITIES = "dashboard.manage_identities"
MANAGE_SUPPRESSION = "dashboard.manage_suppression"


def render_page(request, template, *, title, breadcrumbs=(), **context):
    """`breadcrumbs` are (label, url) pairs between Home and the title."""
    return TemplateResponse(request, template, {
        **admin.site.each_context(request), "title": title, "breadcrumbs": breadcrumbs, **context,
    })


def require(permission):
    """The view needs `permission` besides staff access."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionDenied(f"You need the '{permission}' permission.")
            return view(request, *args, **kwargs)

        return checked

    return decorator


def done(request, text, url, *, level=messages.SUCCESS):
    messages.add_message(request, level, text)
    return redirect(url)


def actor(request):
    return request.user.get_username()
