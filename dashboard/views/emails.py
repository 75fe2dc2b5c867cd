"""The email log, its CSV export, and one email in detail."""

import csv

import nh3
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.cursors import cursor_dump, cursor_load, filter_fingerprint
from dashboard.explain import explain
from dashboard.forms import FindForm, LogFilterForm
from dashboard.pages import RESEND, render_page
from dashboard.timeline import timeline_in_words
from emailhub import model
from emailhub.emails import email_get
from emailhub.errors import EmailhubError
from emailhub.payloads import payload_load
from emailhub.selectors import email_by_ses_message_id, email_log_all, email_log_page


def _query(request, **changes):
    params = request.GET.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value:
            params[name] = value
    return params.urlencode()


def email_log(request):
    form = LogFilterForm(LogFilterForm.with_defaults(request.GET))
    context = {"form": form, "emails": [], "next_url": None, "prev_url": None}
    if form.is_valid():
        fingerprint = filter_fingerprint(form.fingerprint_params())
        position, trail = cursor_load(request.GET.get("cursor"), fingerprint=fingerprint)
        try:
            emails, next_position = email_log_page(
                log_filter=form.log_filter(), position=position, size=form.cleaned_data["size"])
        except EmailhubError as err:
            emails, next_position, context["error"] = [], None, err.message
        if next_position:
            token = cursor_dump(position=next_position, trail=trail + [position], fingerprint=fingerprint)
            context["next_url"] = "?" + _query(request, cursor=token)
        if trail:
            token = cursor_dump(position=trail[-1], trail=trail[:-1], fingerprint=fingerprint) if trail[-1] else ""
            context["prev_url"] = "?" + _query(request, cursor=token)
        context.update(emails=emails, page_number=len(trail) + 1,
                       filter_query=_query(request, cursor=None),
                       by_address=bool(form.log_filter().recipient_prefix),
                       any_failed=any(e["status"] == "failed" for e in emails))
    context["can_resend"] = request.user.has_perm(RESEND)
    return render_page(request, "dashboard/email_log.html", title="Email log", **context)


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    """Spreadsheets run cells that start with = + - @ as formulas: an email's
    subject must not be able to do that on a staff member's machine."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = ["id", "created_at", "status", "from", "to", "cc", "subject", "tags", "attempts",
               "last_error", "ses_message_id"]


def email_export(request):
    form = LogFilterForm(request.GET)
    if not form.is_valid():  # the log shows what is wrong with the filter
        return redirect(reverse("admin:email_log") + "?" + request.GET.urlencode())
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for email in email_log_all(log_filter=form.log_filter()):
            summary = email["summary"]
            error = email.get("last_error") or {}
            yield writer.writerow([_cell(value) for value in [
                email["id"], email["created_at"], email["status"], summary["sender"],
                " ".join(summary["to"]), " ".join(summary.get("cc", [])), summary["subject"],
                " ".join(f"{k}={v}" for k, v in summary.get("tags", {}).items()), email.get("attempts", 0),
                f"{error.get('code', '')}: {error.get('message', '')}" if error else "",
                email.get("ses_message_id", ""),
            ]])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="emails.csv"'
    return response


def _no_remote_images(tag, attribute, value):
    """The sandboxed frame blocks scripts, not network loads: a remote image
    would be a tracking pixel firing from a staff member's browser."""
    if tag == "img" and attribute in ("src", "srcset") and not value.startswith("data:"):
        return None
    return value


def sanitise_html(html):
    return nh3.clean(html, attribute_filter=_no_remote_images)


def email_detail(request, email_id):
    email = email_get(email_id)
    if email is None:
        raise Http404("No such email.")
    try:
        request_body = payload_load(email=email)
    except Exception:  # noqa: BLE001 - a missing S3 payload must not hide the rest of the page
        request_body = {}
    html = request_body.get("html")
    return render_page(
        request, "dashboard/email_detail.html", title=f"Email {email_id}",
        breadcrumbs=[("Email log", reverse("admin:email_log"))],
        email=email, request_body=request_body, summary=email["summary"],
        timeline=timeline_in_words(email.get("events")),
        # Sanitised, then shown only inside a sandboxed iframe that may not run scripts.
        safe_html=sanitise_html(html) if html else None,
        error_in_words=explain(email.get("last_error")),
        can_resend=email["status"] == "failed" and not email.get("resent_as"),
    )


def email_find(request):
    """One box: an email id (a key lookup) or an SES message id (the
    ses-message-index) opens that email; anything else says what was not found."""
    form = FindForm(request.GET or None)
    if form.is_valid():
        wanted = form.cleaned_data["q"].strip()
        email = email_get(wanted) if model.is_email_id(wanted) else None
        email = email or email_by_ses_message_id(ses_message_id=wanted)
        if email is not None:
            return redirect(reverse("admin:email_detail", args=[email["id"]]))
        form.add_error("q", f"No email has the id or SES message id {wanted!r}.")
    return render_page(request, "dashboard/find.html", title="Find an email", find_form=form,
                       breadcrumbs=[("Email log", reverse("admin:email_log"))])
