"""What an application writes for any anymail ESP: a `tracking` receiver.
This one appends each event to EXAMPLE_EVENTS_FILE as a JSON line; a real
one would, say, mark a customer's address as bouncing."""

import json
import threading

from anymail.signals import tracking
from django.conf import settings
from django.dispatch import receiver

_lock = threading.Lock()


@receiver(tracking)
def record_tracking_event(sender, event, esp_name, **kwargs):
    line = {
        "esp_name": esp_name, "event_type": event.event_type, "event_id": event.event_id,
        "message_id": event.message_id, "recipient": event.recipient,
        "timestamp": event.timestamp.isoformat() if event.timestamp else None,
        "tags": event.tags, "metadata": event.metadata, "reject_reason": event.reject_reason,
        "description": event.description, "mta_response": event.mta_response, "esp_event": event.esp_event,
    }
    with _lock, open(settings.EXAMPLE_EVENTS_FILE, "a", encoding="utf-8") as events:
        events.write(json.dumps(line) + "\n")
