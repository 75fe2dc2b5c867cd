"""Content-Security-Policy for the dashboard's pages.

The dashboard loads nothing but its own static files (from this host locally,
from the static-files bucket or its domain in production), uses no inline
script or style, and may not be framed. An HTML email body shown in its
sandboxed iframe inherits the policy too: it can run nothing and load
nothing remote.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.templatetags.static import static

ADMIN_PREFIX = "/admin/"  # emailhub/urls.py mounts the dashboard here


def content_security_policy():
    origin = _static_origin()
    own = f"'self' {origin}".strip()
    return "; ".join([
        "default-src 'none'",
        f"script-src {own}",
        f"style-src {own}",
        f"img-src {own} data:",
        f"font-src {own}",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


def _static_origin():
    """The static files' origin when they are served from elsewhere (S3)."""
    url = urlsplit(static("dashboard/dashboard.css"))
    return f"{url.scheme}://{url.netloc}" if url.scheme and url.netloc else ""


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(ADMIN_PREFIX) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy()
        return response
