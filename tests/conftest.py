"""Shared fixtures: every test runs against moto (in-process), never the internet."""

import base64  # noqa: F401  (re-exported for tests that build attachments)
import json
import threading

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError

from emailhub import apikeys, identities, pacing, reputation
from emailhub.aws import clients, sqs
from emailhub.bootstrap import aws_resources_ensure
from emailhub.local.emulator import make_dynamodb_atomic
from emailhub.local.poller import poll_once
from emailhub.staff import accounts
from emailhub.staff.roles import ADMIN
from tests import aws_operations

RECIPIENT = "alice@example.com"
# The webhook tests' receiver on 127.0.0.1 and DNS stub (fixtures `receiver`, `dns`).
pytest_plugins = ["tests.webhook_helpers"]


# --- IAM: every AWS operation of the run must be in the policies --------------
# (how it works: tests/aws_operations.py)

def pytest_configure(config):
    aws_operations.install()


def pytest_sessionfinish(session, exitstatus):
    if aws_operations.missing_actions():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    missing = aws_operations.missing_actions()
    counts, _ = aws_operations.summary()
    if missing:
        terminalreporter.section("IAM policies are missing actions the code calls", red=True)
        for path, entries in missing.items():
            for action, operation in entries:
                terminalreporter.line(f"{path}: {action} (called as {operation})")
    elif counts:
        terminalreporter.line(f"IAM: the {counts['app']} actions the application called are in "
                              f"deploy/iam/emailhub-*.json; bootstrap's {counts['bootstrap']} in deploy/iam/bootstrap.json")


def reset_caches():
    from emailhub.webhooks.endpoints import cache_clear as webhook_endpoints_cache_clear

    webhook_endpoints_cache_clear()
    clients.reset()
    sqs.reset()
    apikeys.cache_clear()
    identities.cache_clear()
    pacing.reset()
    reputation.reset()
    accounts.cache_clear()


@pytest.fixture(autouse=True)
def _offline_aws(monkeypatch, settings):
    """Fake credentials, no endpoint from the shell: nothing can reach real AWS."""
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings.AWS_ENDPOINT_URL = None
    settings.AWS_REGION = "us-east-1"
    settings.EMAILHUB_RETRY_BASE_SECONDS = 0  # retries become visible at once
    settings.EMAILHUB_SES_EVENT_SIMULATOR = False  # the tests that want SES events turn it on
    settings.EMAILHUB_SES_PACING = False  # moto's quota is 1/s; the pacing tests turn it on
    reset_caches()
    yield
    reset_caches()


@pytest.fixture
def aws():
    """moto in-process with every Emailhub resource bootstrapped."""
    with mock_aws():
        make_dynamodb_atomic()
        reset_caches()
        aws_resources_ensure()
        yield
    reset_caches()


@pytest.fixture
def api_key(aws):
    _, secret = apikeys.api_key_create(name="tests")
    return secret


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """The DynamoDB operations Emailhub makes from here on, in order (snake_case names)."""
    from emailhub.aws import calls

    seen = []
    real = calls.call

    def spy(service, operation, **kwargs):
        seen.append(operation)
        return real(service, operation, **kwargs)

    monkeypatch.setattr("emailhub.aws.dynamodb.call", spy)
    return seen


STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff_client(aws):
    """A test client signed in as a new staff user (in DynamoDB) of `role`."""
    from django.test import Client

    def _signed_in(role, username=None, **client_options):
        user, _ = accounts.staff_create(username=username or role, role=role, actor="tests",
                                        password=STAFF_PASSWORD)
        signed_in = Client(**client_options)
        signed_in.force_login(user)
        return signed_in

    return _signed_in


@pytest.fixture
def admin_client(staff_client):
    """pytest-django's name, but the admin lives in DynamoDB: there is no database."""
    return staff_client(ADMIN, "admin")


@pytest.fixture
def http_server():
    """Django over real HTTP on 127.0.0.1 (a free port), static files included:
    what pytest-django's live_server does, without the database it insists on."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def verified(aws):
    identities.identity_verify(identity=RECIPIENT)
    return RECIPIENT


def api_post(client, path, body, *, key, idempotency_key=None, raw=None):
    """POST a JSON body (or `raw` bytes) to the API as an application would."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if idempotency_key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    data = raw if raw is not None else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


@pytest.fixture
def send(client, api_key):
    """POST /send-email as an application would."""

    def _send(body, *, key=api_key, idempotency_key=None, raw=None):
        return api_post(client, "/send-email", body, key=key, idempotency_key=idempotency_key, raw=raw)

    return _send


def message(**overrides):
    body = {"to": [RECIPIENT], "subject": "Your order", "text": "Thanks!"}
    body.update(overrides)
    return body


def ses_sent():
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


def drain_outbox(rounds=20):
    """Run the worker until the outbox is empty."""
    for _ in range(rounds):
        if not poll_once(wait_seconds=0):
            return
    raise AssertionError("the outbox did not drain")


def queue_messages(name):
    """Every message on a queue, returned to it at once (a peek)."""
    found = []
    while True:
        batch = sqs.receive(name, max_messages=10, visibility_timeout=30)
        if not batch:
            break
        found.extend(batch)
    for m in found:
        clients.client("sqs").change_message_visibility(
            QueueUrl=sqs.queue_url(name), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in found]


class ServerError(JsonRESTError):
    code = 500


@pytest.fixture
def ses_failures(monkeypatch):
    """Make SES fail: each call to the returned function queues one error
    (by SES error code) for the next send; later sends succeed."""
    from moto.sesv2.models import SESV2Backend

    pending = []

    def fail_next(code, message="injected", status=400):
        pending.append((code, message, status))

    for name in ("send_email", "send_raw_email"):
        original = getattr(SESV2Backend, name)

        def failing(self, *args, _original=original, **kwargs):
            if pending:
                code, text, status = pending.pop(0)
                raise (ServerError if status >= 500 else JsonRESTError)(code, text)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SESV2Backend, name, failing)
    return fail_next


class Clock:
    """The time Emailhub sees (model.now) and moto's SQS delays and
    visibility follow, moved only by the test."""

    def __init__(self, start):
        self.now = start

    def advance(self, delta):
        self.now += delta
        return self.now

    @staticmethod
    def minutes(count):
        from datetime import timedelta

        return timedelta(minutes=count)


@pytest.fixture
def clock(monkeypatch):
    from datetime import datetime, timezone

    import moto.sqs.models

    from emailhub import model

    # A whole second, so ISO text and SQS's whole-second delays line up.
    injected = Clock(datetime.now(timezone.utc).replace(microsecond=0))
    monkeypatch.setattr(model, "now", lambda: injected.now)
    # Delays and visibility only: moto's long polls keep the real time, or a wait would never end.
    monkeypatch.setattr(moto.sqs.models, "unix_time_millis", lambda: injected.now.timestamp() * 1000)
    return injected
