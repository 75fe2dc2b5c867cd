from django.core.management.base import BaseCommand

from emailhub.webhooks.endpoints import webhook_endpoint_list


class Command(BaseCommand):
    help = "List webhook endpoints: id, state, URL, event types."

    def handle(self, *args, **options):
        for e in webhook_endpoint_list():
            state = "enabled" if e["enabled"] else f"disabled ({e.get('disabled_reason') or 'by staff'})"
            if e["enabled"] and e.get("failing_since"):
                state = f"failing since {e['failing_since']}"
            self.stdout.write(f"{e['id']}  {state}  {e['url']}  {','.join(e['event_types'])}")
