"""The real local stack over HTTP: moto's server, Django's server, the worker thread."""

import json
import time
import urllib.error
import urllib.request

import pytest

from emailhub.local.emulator import emulator_start
from emailhub.local.poller import EventsPoller, OutboxPoller, WebhooksPoller
from tests.conftest import reset_caches


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def local_stack(http_server, settings):
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{_free_port()}"
    emulator = emulator_start(settings.AWS_ENDPOINT_URL)
    reset_caches()
    settings.EMAILHUB_SES_EVENT_SIMULATOR = True
    pollers = []
    try:
        from emailhub.apikeys import api_key_create
        from emailhub.bootstrap import aws_resources_ensure
        from emailhub.identities import identity_verify

        aws_resources_ensure()
        identity_verify(identity="alice@example.com")
        _, key = api_key_create(name="http test")
        pollers = [OutboxPoller(wait_seconds=1), EventsPoller(wait_seconds=1), WebhooksPoller(wait_seconds=1)]
        for poller in pollers:
            poller.start()
        yield http_server, key
    finally:
        for poller in pollers:
            poller.stop()
        emulator.stop()


def _wait_for(base, key, email_id, status, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, email = _request(f"{base}/emails/{email_id}", key=key)
        if email["status"] == status:
            return email
        time.sleep(0.2)
    raise AssertionError(f"email {email_id} is {email['status']}, not {status}: {email['events']}")


def _request(url, *, key, body=None, headers=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_send_over_http_is_delivered_by_the_worker(local_stack):
    base, key = local_stack
    assert base.startswith("http://127.0.0.1:")
    status, body = _request(f"{base}/send-email", key=key, headers={"Idempotency-Key": "order-1042"},
                            body={"to": ["alice@example.com"], "subject": "Your order", "text": "Thanks!"})
    assert status == 202 and body["status"] == "queued"

    email = _wait_for(base, key, body["id"], "delivered")  # the simulated SES Delivery event came back
    assert email["ses_message_id"]
    types = [e["type"] for e in email["events"]]
    assert types[:2] == ["accepted", "sent"] and "delivery" in types  # SQS may hand over Send after Delivery

    status, health = _request(f"{base}/health", key=key)
    assert status == 200 and health["checks"]["outbox"]["depth"] == 0


def test_webhooks_reach_a_local_receiver_through_the_pollers(local_stack):
    """make run's shape: API, outbox, SES events and webhooks pollers, a receiver on 127.0.0.1."""
    from standardwebhooks import Webhook

    from emailhub.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_update
    from tests.webhook_helpers import Receiver

    base, key = local_stack
    receiver = Receiver()
    endpoint = None
    try:
        endpoint, secret = webhook_endpoint_create(url=receiver.url,
                                            types=["email.accepted", "email.sent", "email.delivered"])
        # Not a bouncing address: the emulator's state (the suppression list) outlives the test.
        status, body = _request(f"{base}/send-email", key=key,
                                body={"to": "success@simulator.amazonses.com", "subject": "Hi", "text": "x"})
        assert status == 202
        deadline = time.monotonic() + 20
        while len(receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        events = [Webhook(secret).verify(raw, headers) for headers, raw in receiver.received]
    finally:
        receiver.close()
        if endpoint:  # the emulator's table outlives the test: later tests must not post to a closed port
            webhook_endpoint_update(endpoint_id=endpoint["id"], enabled=False)
    by_sequence = sorted(events, key=lambda e: e["data"]["sequence"])
    assert [e["type"] for e in by_sequence] == ["email.accepted", "email.sent", "email.delivered"]
    assert {e["data"]["email_id"] for e in events} == {body["id"]}


def test_mailbox_simulator_bounce_becomes_a_suppression(local_stack):
    """A newcomer's first look at the feedback loop, on the local stack."""
    base, key = local_stack
    bounce = "bounce@simulator.amazonses.com"
    status, body = _request(f"{base}/send-email", key=key, body={"to": bounce, "subject": "Hi", "text": "x"})
    assert status == 202, body  # simulator addresses need no verification in the sandbox
    email = _wait_for(base, key, body["id"], "bounced")
    assert "550 5.1.1" in email["events"][-1]["diagnostic"]
    status, again = _request(f"{base}/send-email", key=key, body={"to": bounce, "subject": "Hi", "text": "x"})
    assert status == 422 and again["error"]["code"] == "suppressed_recipient"

    status, body = _request(f"{base}/send-email", key=key,
                            body={"to": "complaint@simulator.amazonses.com", "subject": "Hi", "text": "x"})
    email = _wait_for(base, key, body["id"], "complained")
    assert {"delivery", "complaint"} <= {e["type"] for e in email["events"]}


def test_local_reject_addresses_fail_park_and_resend(local_stack):
    """The README's way to make an email fail locally: the DLQ and resend can be tried."""
    from emailhub.dlq import dlq_peek
    from emailhub.resends import emails_resend

    base, key = local_stack
    status, body = _request(f"{base}/send-email", key=key,
                            body={"to": "reject-once@simulator.amazonses.com", "subject": "Hi", "text": "x"})
    assert status == 202, body
    failed = _wait_for(base, key, body["id"], "failed")
    assert failed["last_error"]["code"] == "MessageRejected"
    assert body["id"] in {p.email_id for p in dlq_peek(limit=10)}
    [result] = emails_resend(email_ids=[body["id"]], actor="tests")
    child = _wait_for(base, key, body["id"], "resent")["resent_as"]
    assert result and _wait_for(base, key, child, "delivered")["parent_id"] == body["id"]

    status, body = _request(f"{base}/send-email", key=key,
                            body={"to": "reject@simulator.amazonses.com", "subject": "Hi", "text": "x"})
    assert _wait_for(base, key, body["id"], "failed")["last_error"]["code"] == "MessageRejected"


def test_run_local_serves_then_stops_cleanly_on_ctrl_c(tmp_path):
    """`make run`'s command as a user runs it: one process, then Ctrl-C."""
    import os
    import signal
    import subprocess
    import sys

    port, aws_port = _free_port(), _free_port()
    state = tmp_path / "local-state.json"
    env = {**os.environ, "PORT": str(port), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
           "DJANGO_SUPERUSER_PASSWORD": "local-test-passphrase", "EMAILHUB_LOCAL_STATE": str(state),
           "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # A second terminal: no PORT, no AWS_ENDPOINT_URL.
    second_terminal = {k: v for k, v in env.items() if k not in ("PORT", "AWS_ENDPOINT_URL")}

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], env=second_terminal, text=True,
                              capture_output=True, timeout=60)
    process = subprocess.Popen([sys.executable, "manage.py", "run_local"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, key = [], None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and key is None:
            line = process.stdout.readline()
            output.append(line)
            if "export KEY=" in line:
                key = line.split("KEY=")[1].strip()
        assert key, "".join(output)
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):  # the server starts listening just after the banner
            try:
                status, _ = _request(f"{base}/health", key=key)
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        assert status == 200
        status, body = _request(f"{base}/send-email", key=key,
                                body={"to": ["no-reply@example.com"], "subject": "Hi", "text": "Hello"})
        assert status == 202, body
        for _ in range(50):
            _, email = _request(f"{base}/emails/{body['id']}", key=key)
            if email["status"] == "sent":
                break
            time.sleep(0.2)
        assert email["status"] == "sent"
        assert _sign_in(base, "admin", "local-test-passphrase") == f"{base}/admin/"
        found = manage("verify_identity", "bob@example.com")  # finds the running stack by itself
        assert found.returncode == 0, found.stdout + found.stderr
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0, "".join(output) + rest
    assert "Stopped the worker and the AWS emulator." in rest
    assert "Staff user 'admin'" in "".join(output)
    assert not state.exists()
    # The stack is gone: one line saying what to do, no traceback.
    gone = manage("verify_identity", "bob@example.com")
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert gone.stderr.strip().count("\n") == 0 and "make run" in gone.stderr and "AWS_ENDPOINT_URL" in gone.stderr


def _sign_in(base, username, password):
    """The admin's login form over HTTP, as a browser fills it; where it led."""
    import http.cookiejar
    import re
    import urllib.parse

    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = browser.open(f"{base}/admin/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password,
                                   "next": "/admin/"}).encode()
    request = urllib.request.Request(f"{base}/admin/login/", data=form, headers={"Referer": f"{base}/admin/login/"})
    with browser.open(request, timeout=10) as response:
        assert "Last 24 hours" in response.read().decode()
        return response.url


def test_reject_addresses_are_not_special_in_production(send, verified, settings, monkeypatch):
    from emailhub.local import ses_simulator
    from emailhub.selectors import email_status
    from tests.conftest import drain_outbox, message

    settings.PRODUCTION, settings.EMAILHUB_SES_EVENT_SIMULATOR = True, True  # even if someone turned it on
    monkeypatch.setattr(ses_simulator, "simulate_events", lambda **kwargs: None)
    email_id = send(message(to="reject@simulator.amazonses.com")).json()["id"]
    drain_outbox()
    assert email_status(email_id=email_id)["status"] == "sent"


def test_run_local_stopped_with_kill_cleans_up_too(tmp_path):
    """`kill` (SIGTERM), as a process manager stops it: the same clean stop, state file gone."""
    import os
    import signal
    import subprocess
    import sys

    state = tmp_path / "local-state.json"
    env = {**os.environ, "PORT": str(_free_port()), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}",
           "DJANGO_SUPERUSER_PASSWORD": "local-test-passphrase", "EMAILHUB_LOCAL_STATE": str(state),
           "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen([sys.executable, "manage.py", "run_local"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("export KEY=" in line for line in output):
            output.append(process.stdout.readline())
        assert state.exists(), "".join(output)
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    assert "Stopped the worker and the AWS emulator." in rest, "".join(output) + rest
    assert not state.exists()
