from django.core.management.base import BaseCommand, CommandError

from emailhub.staff.accounts import StaffError, staff_set_active


class Command(BaseCommand):
    help = "Deactivate a staff user (every session ends at once), or reactivate one with --reactivate."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reactivate", action="store_true")

    def handle(self, *args, username, reactivate, **options):
        try:
            user = staff_set_active(username=username, active=reactivate, actor="manage.py")
        except StaffError as err:
            raise CommandError(err.message) from err
        self.stdout.write(f"{user.username} is {'active' if user.is_active else 'deactivated'}.")
