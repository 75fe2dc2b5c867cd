"""The staff dashboard: Django's admin site with Emailhub's pages added.

Every page is wrapped in `admin_view` (staff login), renders with
`each_context` and extends `admin/base_site.html`, so it looks and behaves
like the rest of the admin. No ModelAdmin is registered: staff accounts,
like everything else, live in DynamoDB and have pages of their own."""

from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.defaults import permission_denied

from emailhub.staff.roles import mfa_required


class EmailhubAdminSite(admin.AdminSite):
    site_header = "Emailhub"
    site_title = "Emailhub"
    index_title = "Overview"
    index_template = "dashboard/overview.html"
    login_template = "dashboard/login.html"
    enable_nav_sidebar = False

    @property
    def login_form(self):
        from dashboard.login import LoginForm

        return LoginForm

    def get_urls(self):
        from dashboard.views import (
            actions, audit, emails, identities, keys, mfa, queue, reputation, staff, suppression, webhooks,
        )

        wrap = self.admin_view
        return [
            path("emails/", wrap(emails.email_log), name="email_log"),
            path("emails/export.csv", wrap(emails.email_export), name="email_export"),
            path("emails/find/", wrap(emails.email_find), name="email_find"),
            path("emails/<str:email_id>/", wrap(emails.email_detail), name="email_detail"),
            path("dlq/", wrap(queue.dlq_page), name="dlq"),
            path("dlq/tidy/", wrap(actions.dlq_tidy), name="dlq_tidy"),
            path("sending/resume/", wrap(reputation.sending_resume), name="sending_resume"),
            path("resend/", wrap(actions.resend), name="resend"),
            path("discard/", wrap(actions.discard), name="discard"),
            path("keys/", wrap(keys.key_list), name="api_keys"),
            path("keys/<str:prefix>/revoke/", wrap(keys.key_revoke), name="api_key_revoke"),
            path("identities/", wrap(identities.identity_list), name="identities"),
            path("identities/<str:domain>/dns/", wrap(identities.identity_dns), name="identity_dns"),
            path("suppression/", wrap(suppression.suppression_page), name="suppression"),
            path("suppression/remove/", wrap(suppression.suppression_remove_page), name="suppression_remove"),
            path("audit/", wrap(audit.audit_list), name="audit"),
            path("audit/<str:entry_id>/", wrap(audit.audit_detail), name="audit_detail"),
            path("staff/", wrap(staff.staff_page), name="staff"),
            path("staff/<str:username>/", wrap(staff.staff_detail), name="staff_detail"),
            path("staff/<str:username>/<str:change>/", wrap(staff.staff_change), name="staff_change"),
            path("two-factor/", wrap(mfa.mfa_page), name="two_factor"),
            path("webhooks/", wrap(webhooks.webhook_list), name="webhooks"),
            path("webhooks/<str:endpoint_id>/", wrap(webhooks.webhook_detail), name="webhook_detail"),
            path("webhooks/<str:endpoint_id>/test/", wrap(webhooks.webhook_test), name="webhook_test"),
            path("webhooks/<str:endpoint_id>/rotate/", wrap(webhooks.webhook_rotate), name="webhook_rotate"),
            path("webhooks/<str:endpoint_id>/replay/", wrap(webhooks.webhook_replay_range), name="webhook_replay_range"),
            path("webhooks/<str:endpoint_id>/replay/<str:event_id>/", wrap(webhooks.webhook_replay),
                 name="webhook_replay"),
        ] + [url for url in super().get_urls() if url.name not in ORM_VIEWS]

    def admin_view(self, view, cacheable=False):
        """With EMAILHUB_REQUIRE_MFA, an admin without a second factor can only
        enrol one (or sign out) until they have."""

        @wraps(view)
        def enrolled_first(request, *args, **kwargs):
            if mfa_missing(request.user) and request.resolver_match.url_name not in MFA_EXEMPT:
                return redirect(reverse("admin:two_factor"))
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as refused:
                # An expected answer, not an error: the 403 page, logged as one
                # line by Django ("Forbidden: ..."), without a traceback.
                return permission_denied(request, refused)

        return super().admin_view(enrolled_first, cacheable)

    def password_change(self, request, extra_context=None):
        """Django's, with the old password's check throttled (dashboard/login.py)."""
        from django.contrib.auth.views import PasswordChangeView

        from dashboard.login import PasswordChangeForm
        from emailhub.audit import audit_record

        request.current_app = self.name
        response = PasswordChangeView.as_view(
            form_class=PasswordChangeForm, success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)
        if request.method == "POST" and response.status_code == 302:
            audit_record(actor=request.user.get_username(), action="staff.password",
                         target=request.user.get_username(), outcome="changed their own password")
        return response

    def index(self, request, extra_context=None):
        from dashboard.views.overview import overview_context

        return super().index(request, {**overview_context(request), **(extra_context or {})})


# Django's admin URLs that need the ORM ("view on site" looks up content types).
ORM_VIEWS = {"view_on_site"}
MFA_EXEMPT = {"two_factor", "logout", "password_change", "password_change_done", "jsi18n"}


def mfa_missing(user):
    return mfa_required(user) and not user.mfa_enabled
