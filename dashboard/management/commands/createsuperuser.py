"""Django's `createsuperuser`, for accounts in DynamoDB: an admin staff user
(the same as `create_staff USERNAME --role admin`). Django's own command would
reach for the ORM. The dashboard app is listed first in INSTALLED_APPS so
that this command, not django.contrib.auth's, answers to the name."""

import os

from django.core.management.base import BaseCommand, CommandError

from emailhub.staff.accounts import StaffError, staff_create
from emailhub.staff.roles import ADMIN


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
        source = next((name for name in ("DJANGO_SUPERUSER_PASSWORD", "EMAILHUB_STAFF_PASSWORD")
                       if os.environ.get(name)), None)
        try:
            user, generated = staff_create(username=username, role=ADMIN, email=email, actor="manage.py",
                                           password=os.environ[source] if source else None)
        except StaffError as err:
            raise CommandError(err.message) from err
        if generated is None:
            self.stdout.write(f"Created staff user {user.username} (admin) with the password from {source}.")
            return
        self.stdout.write(f"Created staff user {user.username} (admin). Its password is shown only now:")
        self.stdout.write(generated)
