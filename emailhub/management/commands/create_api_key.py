from django.core.management.base import BaseCommand

from emailhub.audit import audit_record
from emailhub.apikeys import FULL, SCOPES, api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what uses the key, e.g. 'shop-backend'.")
        parser.add_argument("--scope", choices=SCOPES, default=FULL,
                            help="full (default): everything; send: send, and read or cancel only the emails "
                                 "sent with this key (no suppression list).")

    def handle(self, *args, name, scope, **options):
        key, secret = api_key_create(name=name, scope=scope)
        audit_record(actor="manage.py", action="api_key.create", target=key.prefix,
                     outcome=f"created {key.prefix} ({name}, {scope})")
        self.stdout.write(f"Created API key {key.prefix} ({key.name}, scope {key.scope}). It is shown only now:")
        self.stdout.write(secret)
