"""One structured log line per HTTP request (emailhub/logs.py): an API call
("api.request"), a dashboard action (a POST under /admin/, "dashboard.action")
or page ("dashboard.page"). The line carries the Lambda request id, the API
key prefix or the staff user, the email id when there is one, the status and
the duration; never the query string (a search may hold an address) or a body."""

import logging
import time

from emailhub.logs import elapsed_ms, log_context, log_context_get, log_event
from emailhub.metrics import metrics_collect

logger = logging.getLogger("emailhub.requests")
# A path is the client's to choose: kept to this many characters in the line.
PATH_CHARS = 300


def _lambda_request_id(request):
    context = request.META.get("lambda.context")
    return getattr(context, "aws_request_id", None)


def _event(request):
    if request.path.startswith("/admin/"):
        return "dashboard.action" if request.method == "POST" else "dashboard.page"
    return "api.request"


def _who(request, event):
    if event == "api.request":
        return {"api_key_prefix": getattr(getattr(request, "auth", None), "prefix", None)}
    user = getattr(request, "user", None)
    return {"staff_user": user.get_username() if user is not None and user.is_authenticated else None}


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        with log_context(lambda_request_id=_lambda_request_id(request)), metrics_collect():
            response = self.get_response(request)
            event = _event(request)
            match = getattr(request, "resolver_match", None)
            email_id = log_context_get().get("email_id") or (match.kwargs.get("email_id") if match else None)
            level = logging.ERROR if response.status_code >= 500 else logging.INFO
            path = request.path if len(request.path) <= PATH_CHARS else request.path[:PATH_CHARS] + "…"
            log_event(logger, event, f"{request.method[:10]} {path} {response.status_code}", level=level,
                      method=request.method[:10], path=path, status=response.status_code,
                      duration_ms=elapsed_ms(started), email_id=email_id, **_who(request, event))
        return response
