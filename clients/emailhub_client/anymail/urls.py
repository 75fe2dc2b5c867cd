"""The tracking webhook's URL: `path("anymail/emailhub/", include("emailhub_client.anymail.urls"))`
answers at /anymail/emailhub/tracking/ (the URL to give Emailhub's webhook endpoint)."""

from django.urls import path

from emailhub_client.anymail.webhooks import EmailhubTrackingWebhookView

app_name = "emailhub_anymail"
urlpatterns = [
    path("tracking/", EmailhubTrackingWebhookView.as_view(), name="tracking_webhook"),
]
