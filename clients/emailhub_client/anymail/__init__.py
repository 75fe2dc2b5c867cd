"""Emailhub for Django through django-anymail (pip install "emailhub-client[anymail]").

    EMAIL_BACKEND = "emailhub_client.anymail.EmailBackend"
    ANYMAIL = {"EMAILHUB_API_KEY": "eh_...", "EMAILHUB_API_URL": "https://mail.example.com",
               "EMAILHUB_WEBHOOK_SECRET": "whsec_..."}
    urlpatterns += [path("anymail/emailhub/", include("emailhub_client.anymail.urls"))]

See clients/README.md, "Django (anymail)"."""

from emailhub_client.anymail.backend import EmailBackend, EmailhubAPIError
from emailhub_client.anymail.webhooks import EmailhubTrackingWebhookView

__all__ = ["EmailBackend", "EmailhubAPIError", "EmailhubTrackingWebhookView"]
