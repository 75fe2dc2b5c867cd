"""Django's `createsuperuser`, for accounts in DynamoDB: an admin staff user
(the same as `create_staff USERNAME --role admin`). Django's own command would
reach for the ORM. The dashboard app is listed first in INSTALLED_APPS so
that this command, not django.contrib.auth's, answers to the name."""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Create an admin staff user (same as create_staff USERNAME --role admin). The password comes "
            "from DJANGO_SUPERUSER_PASSWORD or EMAILHUB_STAFF_PASSWORD, or is generated and printed once.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME"), required=False)
        parser.add_argument("--email", default=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""))
        parser.add_argument("--noinput", "--no-input", action="store_true", help="accepted; never prompts")

    def handle(self, *args, username, email, **options):
        if not username:
            username = input("Username: ").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if password:
            os.environ["EMAILHUB_STAFF_PASSWORD"] = password
        call_command("create_staff", username, role="admin", email=email, stdout=self.stdout)
