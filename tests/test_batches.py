"""SQS batches with partial failures: the handlers name exactly the records
to retry, and SQS redelivering a record never sends an email twice."""

import json

import pytest

from emailhub import model
from emailhub.batches import Malformed, sqs_batch_handle
from emailhub.emails import email_get
from emailhub.errors import AwsUnavailable
from emailhub.local.poller import as_lambda_record
from emailhub.aws import sqs
from emailhub.worker import events_handler, outbox_handler
from tests.conftest import drain_outbox, message, ses_sent
from tests.test_ses_events import ses_event, sns_record


class Context:
    """What Lambda passes a handler: its request id and the time left."""

    def __init__(self, remaining_ms=28_000, request_id="req-1"):
        self.aws_request_id, self.remaining_ms = request_id, remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def outbox_batch():
    """The outbox's messages as Lambda delivers them: one event, up to 10 records."""
    messages = sqs.receive("emailhub-outbox", max_messages=10, visibility_timeout=0)
    return {"Records": [as_lambda_record(m) for m in messages]}


@pytest.fixture
def ten_emails(send, verified):
    return [send(message(subject=f"Order {n}")).json()["id"] for n in range(10)]


def test_one_failing_record_is_the_only_one_reported_and_nothing_is_sent_twice(ten_emails, ses_failures,
                                                                             monkeypatch):
    event = outbox_batch()
    assert len(event["Records"]) == 10
    ses_failures("InternalFailure", "SES had a moment", status=500)  # the first send fails...
    # ...and the fourth email's record meets DynamoDB out of reach before its claim.
    unlucky = next(r for r in event["Records"] if json.loads(r["body"])["email_id"] == ten_emails[3])
    from emailhub import services

    real = services.email_get

    def flaky(email_id):
        if email_id == ten_emails[3]:
            raise AwsUnavailable("DynamoDB did not answer")
        return real(email_id)

    unlucky_body = json.loads(unlucky["body"])
    unlucky["body"] = json.dumps({"email_id": unlucky_body["email_id"]})  # no request carried: it reads the email
    with monkeypatch.context() as patched:
        patched.setattr(services, "email_get", flaky)
        answer = outbox_handler(event, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": unlucky["messageId"]}]}
    # The SES failure is not a record failure: that email is `retrying` with its own delayed message.
    retried = [i for i in ten_emails if email_get(i)["status"] == "retrying"]
    assert len(retried) == 1 and len(ses_sent()) == 8

    # SQS redelivers the reported record, and (as it may) the whole batch again.
    again = outbox_handler(event, Context())
    assert again == {"batchItemFailures": []}
    drain_outbox()  # and the retrying email's own delayed message
    assert {email_get(i)["status"] for i in ten_emails} == {"sent"}
    subjects = sorted(m.subject for m in ses_sent())
    assert subjects == sorted(f"Order {n}" for n in range(10))  # each email sent once
    assert all(email_get(i)["attempts"] == 1 for i in ten_emails if i not in retried)


def test_records_not_reached_before_the_time_runs_out_are_reported_untouched(ten_emails):
    event = outbox_batch()
    answer = outbox_handler(event, Context(remaining_ms=1000))
    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == [r["messageId"] for r in event["Records"]]
    assert ses_sent() == []
    assert {email_get(i)["status"] for i in ten_emails} == {"queued"}
    assert {email_get(i).get("attempts", 0) for i in ten_emails} == {0}


def test_a_malformed_record_is_dropped_not_retried(ten_emails):
    event = outbox_batch()
    event["Records"][0]["body"] = "{not json"
    event["Records"][1]["body"] = json.dumps({"no": "email id"})
    assert outbox_handler(event, Context()) == {"batchItemFailures": []}
    assert len(ses_sent()) == 8


def test_the_events_handler_reports_only_the_event_that_matched_no_email(send, verified):
    email_id = send(message()).json()["id"]
    drain_outbox()
    ses_id = email_get(email_id)["ses_message_id"]
    records = [sns_record(ses_event("delivery", ses_id), "n1"), sns_record(ses_event("delivery", "unknown"), "n2"),
               sns_record(ses_event("delivery", ses_id), "n3")]
    assert events_handler({"Records": records}, Context()) == {"batchItemFailures": [{"itemIdentifier": "sqs-n2"}]}
    assert email_get(email_id)["status"] == model.DELIVERED


def test_any_worker_can_use_the_batch_rules():
    """Another queue's worker (webhooks, a scheduler) wraps its own handle_one."""
    seen = []

    def handle_one(record):
        if record["body"] == "bad":
            raise Malformed("not a job")
        if record["body"] == "later":
            raise AwsUnavailable("try again")
        if record["body"] == "bug":
            raise RuntimeError("unexpected")
        seen.append(record["body"])
        return "done"

    retried = []
    records = [{"messageId": str(n), "body": body} for n, body in enumerate(["a", "bad", "later", "bug", "b"])]
    answer = sqs_batch_handle(records, handle_one, worker="webhooks",
                              on_retry=lambda record, error: retried.append(record["messageId"]))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
    assert seen == ["a", "b"] and retried == ["2"]
    assert sqs_batch_handle([], handle_one, worker="webhooks") == {"batchItemFailures": []}
