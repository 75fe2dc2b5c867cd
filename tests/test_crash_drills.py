"""Crash and outage drills: the promise holds when the worker dies at any step.

The worker runs as a separate process (`python -m emailhub.local.poller`)
against moto's server on a free 127.0.0.1 port, with EMAILHUB_FAULT_POINT
naming the step where it kills itself with SIGKILL (emailhub/faults.py) on
its second email. It is started again without the fault, and works until the
outbox is empty. Then every accepted email must be sent, or failed and parked
with its reason; none sent twice; `outcome_unknown` only where SES may have
sent it (a kill between the claim and the answer to the SES call).

The outbox's visibility timeout and the claim lease are shortened to seconds
so the restarted worker sees the dead one's messages at once."""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from emailhub import model
from emailhub.aws import clients, sqs
from emailhub.emails import email_get
from emailhub.local.emulator import emulator_start
from tests.conftest import RECIPIENT, message, reset_caches, ses_sent

ROOT = Path(__file__).resolve().parent.parent
VISIBILITY_SECONDS = 2
LEASE_SECONDS = 1
REJECTED_SENDER = "rejected@example.org"  # the emulated SES rejects it: these emails fail and park


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        server = emulator_start(url)
        try:
            with override_settings(AWS_ENDPOINT_URL=url):
                from emailhub.bootstrap import aws_resources_ensure
                from emailhub.identities import identity_verify

                reset_caches()
                aws_resources_ensure()
                identity_verify(identity=RECIPIENT)
                clients.client("sqs").set_queue_attributes(
                    QueueUrl=sqs.queue_url(django_settings.EMAILHUB_OUTBOX_QUEUE),
                    Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS)})
            yield url
        finally:
            reset_caches()
            server.stop()


def _rejecting(monkeypatch):
    """moto's SES, serving the worker process from this one, refuses REJECTED_SENDER."""
    from moto.core.exceptions import JsonRESTError
    from moto.sesv2.models import SESV2Backend

    original = SESV2Backend.send_email

    def send_email(self, source, *args, **kwargs):
        if REJECTED_SENDER in source:
            raise JsonRESTError("MessageRejected", "Email address is not verified.")
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(SESV2Backend, "send_email", send_email)


@pytest.fixture
def drill(moto_server, settings, monkeypatch):
    _rejecting(monkeypatch)
    settings.AWS_ENDPOINT_URL = moto_server
    settings.EMAILHUB_SES_SANDBOX = False
    reset_caches()
    return moto_server


def _worker(url, tmp_path, name, fault=None, max_seconds=45):
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "EMAILHUB_ENV": "local", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "EMAILHUB_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS), "EMAILHUB_RETRY_BASE_SECONDS": "0",
           "EMAILHUB_SES_PACING": "false", "EMAILHUB_SES_EVENT_SIMULATOR": "false",
           "EMAILHUB_FAULT_POINT": fault or ""}
    env.pop("EMAILHUB_SECRETS_ID", None)
    log = tmp_path / f"{name}.log"
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-m", "emailhub.local.poller", "--max-seconds", str(max_seconds)],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=max_seconds + 30)
    return done.returncode, log.read_text()


def _accept(count, tag, **overrides):
    from emailhub.services import email_send

    return [email_send(request=message(subject=f"{tag} {n}", **overrides), api_key_prefix="drill").body["id"]
            for n in range(count)]


def _dlq_email_ids():
    from tests.conftest import queue_messages

    return Counter(m["email_id"] for m in queue_messages(django_settings.EMAILHUB_DLQ))


# (fault point, the emails' sender, whether the crash can leave an unknown outcome)
DRILLS = [
    ("before_claim", None, False),
    ("after_claim", None, True),       # claimed, then killed before the call: indistinguishable from during it
    ("after_ses_call", None, True),    # SES accepted it, the worker died before recording it
    ("during_park", REJECTED_SENDER, False),
    ("after_park", REJECTED_SENDER, False),
]


@pytest.mark.parametrize("step, sender, unknown_possible", DRILLS, ids=[d[0] for d in DRILLS])
def test_worker_killed_at_each_step_keeps_the_promise(drill, tmp_path, step, sender, unknown_possible):
    started = time.monotonic()
    overrides = {"sender": sender} if sender else {}
    ids = _accept(4, f"drill-{step}", **overrides)

    code, log = _worker(drill, tmp_path, "killed", fault=f"{step}:2")
    assert code == -9, f"the worker was to die at {step}:\n{log}"
    code, log = _worker(drill, tmp_path, "restarted")
    assert code == 0, f"the restarted worker did not empty the outbox:\n{log}"

    sends = Counter(m.subject for m in ses_sent())
    parked = _dlq_email_ids()
    unknown = []
    for n, email_id in enumerate(ids):
        email = email_get(email_id)
        subject = f"drill-{step} {n}"
        assert sends[subject] <= 1, f"{subject} was sent {sends[subject]} times"
        if email["status"] == model.SENT:
            assert sends[subject] == 1
            continue
        assert email["status"] == model.FAILED, (subject, email["status"], email["events"])
        assert email["last_error"]["code"] and email["last_error"]["message"]
        assert email.get("dlq_message_id") and parked[email_id] >= 1, f"{subject} failed but is not parked"
        if email["last_error"]["code"] == "outcome_unknown":
            unknown.append(subject)
    if sender:
        assert all(email_get(i)["status"] == model.FAILED for i in ids)
        assert {email_get(i)["last_error"]["code"] for i in ids} == {"MessageRejected"}
        assert not any(sends[f"drill-{step} {n}"] for n in range(4))
    if unknown_possible:
        assert len(unknown) == 1, unknown  # the one email the worker died on
    else:
        assert unknown == []
        if not sender:
            assert all(sends[f"drill-{step} {n}"] == 1 for n in range(4))
    assert time.monotonic() - started < 60


def test_an_ses_outage_ends_sent_or_recovered_by_one_bulk_resend(send, verified, ses_failures, settings):
    """SES answers 503 to every call for a while (the first 28 calls: enough to
    use up the attempts of some emails, not of all). Every email ends sent, or
    parked with `attempts_exhausted`; one bulk resend then sends the parked
    ones; no email reaches SES twice."""
    from emailhub.resends import emails_resend
    from tests.conftest import drain_outbox, queue_messages

    settings.EMAILHUB_RESEND_PAUSE_SECONDS = 0
    for _ in range(45):
        ses_failures("ServiceUnavailable", "SES is down", status=503)
    ids = [send(message(subject=f"outage {n}")).json()["id"] for n in range(10)]
    drain_outbox(rounds=80)

    statuses = Counter(email_get(i)["status"] for i in ids)
    assert set(statuses) <= {model.SENT, model.FAILED} and statuses[model.FAILED], statuses
    failed = [i for i in ids if email_get(i)["status"] == model.FAILED]
    assert {email_get(i)["last_error"]["code"] for i in failed} == {"attempts_exhausted"}
    assert sorted(m["email_id"] for m in queue_messages("emailhub-dlq")) == sorted(failed)

    results = emails_resend(email_ids=failed, actor="staff")
    assert [r.outcome for r in results] == ["resent"] * len(failed)
    drain_outbox(rounds=40)
    children = [email_get(i)["resent_as"] for i in failed]
    assert all(email_get(c)["status"] == model.SENT for c in children)
    assert queue_messages("emailhub-dlq") == []
    sends = Counter(m.subject for m in ses_sent())
    assert sends == Counter({f"outage {n}": 1 for n in range(10)})
