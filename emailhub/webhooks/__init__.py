"""Signed outbound webhooks: every status change of an email, pushed to the
endpoints that asked for it, signed per the Standard Webhooks specification.

    status write (emails.email_status_changed) --> enqueue.py: one message per
    subscribed endpoint on the webhooks queue (SendMessageBatch)
    webhooks queue --> delivery.py (the webhooks worker): claim the delivery
    item, check the URL again (ssrf.py), POST signed (signing.py); on failure
    come back later (growing schedule, about a day), then park on the
    webhooks dead-letter queue; an endpoint failing too long is disabled.

endpoints.py   the endpoints (DynamoDB items, cached per process)
events.py      event types (derived from model.STATUSES) and payloads
deliveries.py  one item per (endpoint, event): what the dashboard lists and replays
"""
