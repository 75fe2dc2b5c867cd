import os

from django.core.management.base import BaseCommand, CommandError

from emailhub.staff.accounts import StaffError, staff_create
from emailhub.staff.roles import ROLES


class Command(BaseCommand):
    help = ("Create a staff user. The password comes from EMAILHUB_STAFF_PASSWORD, or is generated "
            "and printed once, alone on the last line.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, email, **options):
        try:
            user, generated = staff_create(username=username, role=role, email=email, actor="manage.py",
                                           password=os.environ.get("EMAILHUB_STAFF_PASSWORD") or None)
        except StaffError as err:
            raise CommandError(err.message) from err
        if generated is None:
            self.stdout.write(f"Created staff user {user.username} ({user.role}) with the password "
                              "from EMAILHUB_STAFF_PASSWORD.")
            return
        self.stdout.write(f"Created staff user {user.username} ({user.role}). Its password is shown only now:")
        self.stdout.write(generated)
