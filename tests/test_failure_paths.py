"""The promise under failure: never lost, never sent twice, always visible."""

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from emailhub import model
from emailhub.aws import ses as ses_module
from emailhub.emails import email_get
from emailhub.errors import AwsUnavailable
from tests.conftest import drain_outbox, message, queue_messages, ses_sent


@pytest.fixture
def accepted(send, verified):
    return send(message()).json()["id"]


def _fail_sends(monkeypatch, cause, times=1):
    """The next `times` SES sends fail at the network with `cause`."""
    real = ses_module.call
    left = [times]

    def call(service, operation, **kwargs):
        if operation == "send_email" and left[0]:
            left[0] -= 1
            raise AwsUnavailable(f"sesv2 send_email: {cause}") from cause
        return real(service, operation, **kwargs)

    monkeypatch.setattr(ses_module, "call", call)


def test_read_timeout_is_parked_as_unknown_not_sent_again(accepted, monkeypatch):
    _fail_sends(monkeypatch, ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"))
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "failed" and email["last_error"]["code"] == "outcome_unknown"
    assert email["attempts"] == 1 and ses_sent() == []  # no second try that could double-send
    assert [m["email_id"] for m in queue_messages("emailhub-dlq")] == [accepted]


def test_connection_refused_is_retried(accepted, monkeypatch):
    _fail_sends(monkeypatch, EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"))
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "sent" and email["attempts"] == 2 and len(ses_sent()) == 1


def test_payload_unreadable_uses_an_attempt_and_is_retried(send, verified, settings, monkeypatch):
    from emailhub import services

    settings.EMAILHUB_INLINE_PAYLOAD_BYTES = 10  # the request goes to S3
    email_id = send(message()).json()["id"]
    real = services.payload_load
    monkeypatch.setattr(services, "payload_load", lambda **k: (_ for _ in ()).throw(AwsUnavailable("S3 down")))
    from emailhub.worker import process_outbox_records
    import json

    record = {"messageId": "m", "body": json.dumps({"email_id": email_id})}
    assert process_outbox_records([record]) == []  # handled: a retry is on the outbox
    email = email_get(email_id)
    assert email["status"] == "retrying" and email["attempts"] == 1 and "claim_id" not in email
    assert email["last_error"]["code"] == "aws_unavailable"
    monkeypatch.setattr(services, "payload_load", real)
    drain_outbox()
    email = email_get(email_id)
    assert email["status"] == "sent" and email["attempts"] == 2 and len(ses_sent()) == 1


def test_recording_sent_is_retried_after_ses_accepted(accepted, monkeypatch):
    from emailhub import services

    real = services.email_transition
    failures = []

    def flaky(email_id, **kwargs):
        if kwargs.get("to_status") == model.SENT and len(failures) < 2:
            failures.append(1)
            raise AwsUnavailable("DynamoDB blinked")
        return real(email_id, **kwargs)

    monkeypatch.setattr(services, "email_transition", flaky)
    monkeypatch.setattr(services.time, "sleep", lambda s: None)
    drain_outbox()
    email = email_get(accepted)
    assert email["status"] == "sent" and email["ses_message_id"] and len(ses_sent()) == 1


def test_enqueue_that_failed_late_keeps_an_email_the_worker_already_has(send, verified, monkeypatch):
    """SendMessage delivered, but its answer was lost: the worker claims the
    email before the API would withdraw it, so the answer is 202, not 503."""
    from emailhub import services

    real_send = services.sqs.send

    def delivered_then_failed(queue, body, **kwargs):
        real_send(queue, body, **kwargs)
        services.email_deliver(email_id=body["email_id"])  # the worker was quick
        raise AwsUnavailable("the answer was lost")

    monkeypatch.setattr(services.sqs, "send", delivered_then_failed)
    response = send(message())
    assert response.status_code == 202
    assert email_get(response.json()["id"])["status"] == "sent" and len(ses_sent()) == 1


def test_replay_is_answered_even_after_an_identity_was_withdrawn(send, verified):
    first = send(message(), idempotency_key="k")
    from emailhub import identities
    from emailhub.aws import clients

    clients.client("sesv2").delete_email_identity(EmailIdentity="alice@example.com")
    identities.cache_clear()
    again = send(message(), idempotency_key="k")
    assert again.status_code == 202 and again.json() == first.json()
    assert send(message()).status_code == 422  # a new email is refused, as it should be


def test_body_over_djangos_limit_is_a_413_not_a_500(send, verified, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = send(message(text="x" * 2000))
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_empty_body_is_malformed_json(send):
    response = send(None, raw="")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"


def test_unverified_sender_is_reported_against_from(send, verified):
    response = send(message(**{"from": "sales@example.net"}))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "from"


def test_status_shows_resend_lineage(client, admin_client, send, verified, ses_failures, api_key):
    from tests.dashboard_helpers import failed_emails

    [email_id] = failed_emails(send, ses_failures, 1)
    admin_client.post("/admin/resend/", {"ids": email_id})
    original = client.get(f"/emails/{email_id}", HTTP_AUTHORIZATION=f"Bearer {api_key}").json()
    child = client.get(f"/emails/{original['resent_as']}", HTTP_AUTHORIZATION=f"Bearer {api_key}").json()
    assert original["status"] == "resent" and child["parent_id"] == email_id


def test_root_leads_to_the_dashboard(client, aws):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_unexpected_error_before_sending_uses_an_attempt(accepted, monkeypatch):
    """A bug before the SES call must not leave the email `sending` (which would
    later read as "SES may have sent it"), nor loop without using attempts."""
    import json

    from emailhub import services
    from emailhub.worker import process_outbox_records

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services.pacing, "wait_for_slot", broken)
    record = {"messageId": "m", "body": json.dumps({"email_id": accepted})}
    assert process_outbox_records([record]) == []
    email = email_get(accepted)
    assert email["status"] == "retrying" and email["attempts"] == 1 and ses_sent() == []
    assert email["last_error"]["code"] == "internal_error" and "RuntimeError: a bug" in email["last_error"]["message"]
    monkeypatch.undo()
    drain_outbox()
    assert email_get(accepted)["status"] == "sent" and len(ses_sent()) == 1
