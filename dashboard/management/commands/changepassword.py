"""Django's `changepassword`, for accounts in DynamoDB: asks for the new
password twice, sets it, and ends the user's sessions (as `set_staff_password`
does). Django's own command would reach for the ORM."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from emailhub.staff.accounts import StaffError, staff_set_password


class Command(BaseCommand):
    help = "Change a staff user's password (asked twice); their sessions end."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        password = getpass.getpass(f"New password for {username}: ")
        if password != getpass.getpass("Again: "):
            raise CommandError("The passwords do not match; nothing changed.")
        try:
            staff_set_password(username=username, password=password, actor="manage.py")
        except StaffError as err:
            raise CommandError(err.message) from err
        self.stdout.write(f"Password of {username} changed; their sessions ended.")
