import os

from django.core.management.base import BaseCommand, CommandError

from emailhub.staff.accounts import StaffError, staff_set_password


class Command(BaseCommand):
    help = ("Set a staff user's password and end their sessions. The password comes from "
            "EMAILHUB_STAFF_PASSWORD, or is generated and printed once, alone on the last line.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            generated = staff_set_password(username=username, actor="manage.py",
                                           password=os.environ.get("EMAILHUB_STAFF_PASSWORD") or None)
        except StaffError as err:
            raise CommandError(err.message) from err
        if generated is None:
            self.stdout.write(f"Password of {username} set from EMAILHUB_STAFF_PASSWORD; their sessions ended.")
            return
        self.stdout.write(f"New password of {username} (their sessions ended). It is shown only now:")
        self.stdout.write(generated)
