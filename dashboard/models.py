"""Emailhub's data lives in DynamoDB; this unmanaged model only carries the
dashboard's permissions, so roles are ordinary Django groups."""

from django.db import models


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("resend_email", "Can resend and discard failed emails"),
            ("manage_api_keys", "Can create and revoke API keys"),
            ("manage_identities", "Can verify SES identities"),
            ("manage_suppression", "Can add and remove suppressed addresses"),
        ]
