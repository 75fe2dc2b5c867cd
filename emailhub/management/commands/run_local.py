"""`make run`: the whole stack on this machine, against an in-process AWS emulator."""

import os
import signal
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from emailhub.apikeys import api_key_create
from emailhub.audit import audit_record
from emailhub.aws import clients
from emailhub.local.state import local_state_clear, local_state_path, local_state_write
from emailhub.staff.accounts import StaffError, staff_create, staff_set_password
from emailhub.staff.roles import ADMIN


class Command(BaseCommand):
    help = "Start the AWS emulator, bootstrap it, and serve Emailhub with its worker on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, port, **options):
        if settings.PRODUCTION or not settings.AWS_ENDPOINT_URL:
            raise CommandError("run_local is for local mode only (AWS_ENDPOINT_URL must point at the emulator).")
        from emailhub.local.emulator import emulator_start
        from emailhub.local.poller import EventsPoller, OutboxPoller, SchedulerTicker, WebhooksPoller

        from emailhub.local.emulator import port_in_use

        if port_in_use("127.0.0.1", port):
            raise CommandError(f"Port {port} is taken: is another `make run` still running? Stop it or use PORT=...")
        try:
            emulator = emulator_start(settings.AWS_ENDPOINT_URL)
        except RuntimeError as err:
            raise CommandError(str(err)) from err
        clients.reset()
        pollers = []
        # `kill` (SIGTERM) stops it like Ctrl-C does: the cleanup below runs and
        # the state file that points other terminals at this stack goes.
        signal.signal(signal.SIGTERM, _stop)
        try:
            local_state_write(aws_endpoint_url=settings.AWS_ENDPOINT_URL, url=f"http://127.0.0.1:{port}")
            self.stdout.write(f"AWS emulator on {settings.AWS_ENDPOINT_URL} (manage.py in other terminals "
                              f"finds it through {local_state_path().name})")
            call_command("bootstrap_aws", stdout=self.stdout)
            self._admin()
            key, secret = api_key_create(name="local")
            audit_record(actor="make run", action="api_key.create", target=key.prefix, outcome="created for local use")
            pollers = [OutboxPoller(), EventsPoller(), WebhooksPoller(), SchedulerTicker()]
            for poller in pollers:
                poller.start()
            self.stdout.write(self.style.SUCCESS(
                f"\nWorkers polling the outbox, the SES events and the webhooks queues; scheduler ticking. API key ({key.prefix}):\n\n    export KEY={secret}\n\n"
                f"Dashboard: http://127.0.0.1:{port}/admin/   API docs: http://127.0.0.1:{port}/api/docs\n"
            ))
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
        finally:
            for poller in pollers:
                poller.stop()
            emulator.stop()
            local_state_clear()
            self.stdout.write("Stopped the worker and the AWS emulator.")

    def _admin(self):
        """An admin for the dashboard: DJANGO_SUPERUSER_USERNAME (default admin)
        with DJANGO_SUPERUSER_PASSWORD, or a generated password printed here."""
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or None
        try:
            try:
                _, generated = staff_create(username=username, role=ADMIN, actor="make run", password=password)
            except StaffError as err:
                if err.code != "staff_exists":
                    raise
                generated = staff_set_password(username=username, actor="make run", password=password)
        except StaffError as err:
            raise CommandError(f"Cannot create the staff user {username!r}: {err.message}") from err
        self.stdout.write(f"Staff user {username!r} (admin)" + (f", password {generated}" if generated else ""))


def _stop(signum, frame):
    sys.exit(0)
