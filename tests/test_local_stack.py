"""The real local stack over HTTP: moto's server, Django's server, the worker thread."""

import json
import time
import urllib.error
import urllib.request

import pytest

from emailhub.local.emulator import emulator_start
from emailhub.local.poller import OutboxPoller
from tests.conftest import reset_caches


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def local_stack(live_server, settings):
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{_free_port()}"
    emulator = emulator_start(settings.AWS_ENDPOINT_URL)
    reset_caches()
    poller = None
    try:
        from emailhub.apikeys import api_key_create
        from emailhub.bootstrap import aws_resources_ensure
        from emailhub.identities import identity_verify

        aws_resources_ensure()
        identity_verify(identity="alice@example.com")
        _, key = api_key_create(name="http test")
        poller = OutboxPoller(wait_seconds=1)
        poller.start()
        yield live_server.url, key
    finally:
        if poller:
            poller.stop()
        emulator.stop()


def _request(url, *, key, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.django_db(transaction=True)
def test_send_over_http_is_delivered_by_the_worker(local_stack):
    base, key = local_stack
    assert base.startswith("http://127.0.0.1:")
    status, body = _request(f"{base}/send-email", key=key, headers={"Idempotency-Key": "order-1042"},
                            body={"to": ["alice@example.com"], "subject": "Your order", "text": "Thanks!"})
    assert status == 202 and body["status"] == "queued"

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        _, email = _request(f"{base}/emails/{body['id']}", key=key)
        if email["status"] == "sent":
            break
        time.sleep(0.2)
    assert email["status"] == "sent"
    assert email["ses_message_id"]

    status, health = _request(f"{base}/health", key=key)
    assert status == 200 and health["checks"]["outbox"]["depth"] == 0


def test_run_local_serves_then_stops_cleanly_on_ctrl_c(tmp_path):
    """`make run`'s command as a user runs it: one process, then Ctrl-C."""
    import os
    import signal
    import subprocess
    import sys

    port, aws_port = _free_port(), _free_port()
    env = {**os.environ, "PORT": str(port), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_SUPERUSER_PASSWORD": "pw-for-test",
           "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
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
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0, "".join(output) + rest
    assert "Stopped the worker and the AWS emulator." in rest
    assert "Staff user 'admin'" in "".join(output)
