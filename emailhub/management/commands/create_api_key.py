from django.core.management.base import BaseCommand

from emailhub.audit import audit_record
from emailhub.apikeys import api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what uses the key, e.g. 'shop-backend'.")

    def handle(self, *args, name, **options):
        key, secret = api_key_create(name=name)
        audit_record(actor="manage.py", action="api_key.create", target=key.prefix, outcome=f"created {key.prefix} ({name})")
        self.stdout.write(f"Created API key {key.prefix} ({key.name}). It is shown only now:")
        self.stdout.write(secret)
