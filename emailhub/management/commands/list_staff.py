from django.core.management.base import BaseCommand

from emailhub.staff.accounts import staff_list


class Command(BaseCommand):
    help = "List staff users: username, role, status, two-factor, last login."

    def handle(self, *args, **options):
        rows = [("USERNAME", "ROLE", "STATUS", "2FA", "LAST LOGIN")]
        for user in staff_list():
            rows.append((user.username, user.role, "active" if user.is_active else "deactivated",
                         "on" if user.mfa_enabled else "off",
                         user.last_login.strftime("%Y-%m-%d %H:%M") if user.last_login else "never"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
