"""The staff dashboard: Django's admin site with Emailhub's pages added.

Every page is wrapped in `admin_view` (staff login), renders with
`each_context` and extends `admin/base_site.html`, so it looks and behaves
like the rest of the admin."""

from django.contrib import admin
from django.urls import path


class EmailhubAdminSite(admin.AdminSite):
    site_header = "Emailhub"
    site_title = "Emailhub"
    index_title = "Overview"
    index_template = "dashboard/overview.html"

    def get_urls(self):
        from dashboard.views import actions, audit, emails, identities, keys, queue, suppression

        wrap = self.admin_view
        return [
            path("emails/", wrap(emails.email_log), name="email_log"),
            path("emails/export.csv", wrap(emails.email_export), name="email_export"),
            path("emails/<str:email_id>/", wrap(emails.email_detail), name="email_detail"),
            path("dlq/", wrap(queue.dlq_page), name="dlq"),
            path("dlq/tidy/", wrap(actions.dlq_tidy), name="dlq_tidy"),
            path("resend/", wrap(actions.resend), name="resend"),
            path("discard/", wrap(actions.discard), name="discard"),
            path("keys/", wrap(keys.key_list), name="api_keys"),
            path("keys/<str:prefix>/revoke/", wrap(keys.key_revoke), name="api_key_revoke"),
            path("identities/", wrap(identities.identity_list), name="identities"),
            path("suppression/", wrap(suppression.suppression_page), name="suppression"),
            path("suppression/remove/", wrap(suppression.suppression_remove_page), name="suppression_remove"),
            path("audit/", wrap(audit.audit_list), name="audit"),
            path("audit/<str:entry_id>/", wrap(audit.audit_detail), name="audit_detail"),
        ] + super().get_urls()

    def index(self, request, extra_context=None):
        from dashboard.views.overview import overview_context

        return super().index(request, {**overview_context(), **(extra_context or {})})
