from django.urls import include, path

urlpatterns = [
    # Emailhub's webhook endpoint URL: http(s)://<this host>/anymail/emailhub/tracking/
    path("anymail/emailhub/", include("emailhub_client.anymail.urls")),
]
