"""Over real HTTP against the local stack: the scheduler's ticker (what
`manage.py run_local` runs beside the pollers) sends an email rescheduled
into the schedule-index."""

import json
import urllib.request
from datetime import datetime, timedelta, timezone

from emailhub.local.poller import SchedulerTicker
from tests.test_local_stack import _request, _wait_for, local_stack  # noqa: F401 (a fixture)


def _patch(url, key, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PATCH")
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_the_local_ticker_sends_a_scheduled_email(local_stack):
    base, key = local_stack
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    status, body = _request(f"{base}/send-email", key=key, body={
        "to": ["alice@example.com"], "subject": "Later", "text": "Hi", "send_at": later})
    assert status == 202 and body["status"] == "scheduled"
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    status, moved = _patch(f"{base}/emails/{body['id']}", key, {"send_at": soon})
    assert status == 200 and moved["status"] == "scheduled"
    ticker = SchedulerTicker(interval=1)
    ticker.start()
    try:
        email = _wait_for(base, key, body["id"], "delivered", seconds=30)
    finally:
        ticker.stop()
    assert [e["type"] for e in email["events"]][:4] == ["accepted", "rescheduled", "due", "sent"]
