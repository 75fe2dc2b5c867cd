"""Structured logs and EMF metric lines: what the configured handlers write,
parsed back. Every line is one JSON object; metric lines follow CloudWatch's
Embedded Metric Format specification."""

import io
import json
import logging
import numbers
import re
from contextlib import contextmanager

import pytest

from emailhub.worker import outbox_handler
from tests.conftest import drain_outbox, message
from tests.test_batches import Context, outbox_batch
from tests.test_ses_events import ses_event, sns_record


@contextmanager
def written(logger_name):
    """What the logger's configured handler (settings.LOGGING) writes, as lines."""
    [handler] = [h for h in logging.getLogger(logger_name).handlers
                 if type(h) is logging.StreamHandler and h.formatter is not None]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    lines = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(line for line in buffer.getvalue().splitlines() if line)


def parsed(lines):
    return [json.loads(line) for line in lines]  # every line is JSON, or this fails


def test_api_request_is_one_json_line_with_its_ids_and_no_address_or_body(send, verified, api_key):
    with written("emailhub") as lines:
        response = send(message(text="The secret body"), idempotency_key="k-1")
    email_id = response.json()["id"]
    records = parsed(lines)
    [request] = [r for r in records if r["event"] == "api.request"]
    assert request["status"] == 202 and request["method"] == "POST" and request["path"] == "/send-email"
    assert request["email_id"] == email_id
    assert request["api_key_prefix"] == api_key.split("_")[1]
    assert request["level"] == "INFO" and isinstance(request["duration_ms"], float)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", request["time"])
    text = "\n".join(lines)
    assert "alice@example.com" not in text and "The secret body" not in text and api_key not in text


def test_the_lambda_request_id_is_on_the_lines_of_its_invocation(client, aws):
    class LambdaContext:
        aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    with written("emailhub") as lines:
        client.get("/health", **{"lambda.context": LambdaContext()})
    [line] = [r for r in parsed(lines) if r["event"] == "api.request"]
    assert line["lambda_request_id"] == LambdaContext.aws_request_id and line["path"] == "/health"


def test_a_hostile_path_stays_one_bounded_line(client, aws):
    path = "/x\n{\"level\":\"CRITICAL\"}\u2028" + "a" * 20_000
    with written("emailhub") as lines:
        client.get(path)
    [line] = [r for r in parsed(lines) if r["event"] == "api.request"]
    assert line["status"] == 404 and line["path"].startswith("/x") and len(line["path"]) <= 301
    assert all(len(text) < 2_000 for text in lines)


def test_each_worker_record_is_a_line_with_the_email_and_the_outcome(send, verified):
    ids = [send(message(subject=f"n{n}")).json()["id"] for n in range(3)]
    event = outbox_batch()
    with written("emailhub") as lines:
        outbox_handler(event, Context(request_id="req-42"))
    records = [r for r in parsed(lines) if r["event"] == "worker.record"]
    assert sorted(r["email_id"] for r in records) == sorted(ids)
    assert {r["message_id"] for r in records} == {r["messageId"] for r in event["Records"]}
    assert {(r["outcome"], r["status"], r["worker"], r["lambda_request_id"]) for r in records} == {
        ("sent", "sent", "outbox", "req-42")}
    assert all(r["duration_ms"] >= 0 for r in records)


def test_a_dashboard_action_is_a_line_naming_the_staff_user(staff_client, aws):
    operator = staff_client("operator", "olivia")
    with written("emailhub") as lines:
        operator.post("/admin/dlq/tidy/")
    [action] = [r for r in parsed(lines) if r["event"] == "dashboard.action"]
    assert action["staff_user"] == "olivia" and action["status"] == 302 and action["path"] == "/admin/dlq/tidy/"


@pytest.mark.parametrize("shown, expected", [("masked", "to a***@example.com"), ("full", "to alice@example.com")])
def test_addresses_are_masked_unless_the_setting_says_full(settings, shown, expected):
    settings.EMAILHUB_LOG_ADDRESSES = shown
    logger = logging.getLogger("emailhub.tests")
    with written("emailhub") as lines:
        logger.info("sent to %s", "alice@example.com")
        logger.debug("debug keeps it: %s", "bob@example.com")
    records = parsed(lines)
    assert records[0]["message"] == f"sent {expected}"
    assert records[0]["logger"] == "emailhub.tests"


def test_hostile_text_stays_one_json_line(settings):
    logger = logging.getLogger("emailhub.tests")
    with written("emailhub") as lines:
        logger.warning("evil\n{\"level\": \"CRITICAL\"}\r\x00\u2028" + "x" * 100_000)
    [record] = parsed(lines)
    assert record["level"] == "WARNING" and record["message"].startswith("evil\n")
    assert len(lines[0]) < 40_000  # a CloudWatch event is at most 256 KB


# --- Embedded Metric Format -------------------------------------------------------------
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
UNITS = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}


def emf_valid(document):
    """The specification's rules for one EMF document; returns {metric: values}."""
    metadata = document["_aws"]
    assert isinstance(metadata["Timestamp"], int) and metadata["Timestamp"] > 1_600_000_000_000
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    values = {}
    for directive in directives:
        assert isinstance(directive["Namespace"], str) and 1 <= len(directive["Namespace"]) <= 255
        assert isinstance(directive["Dimensions"], list)
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(document[name], str), name  # each dimension is a string member
        assert isinstance(directive["Metrics"], list) and 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert isinstance(metric["Name"], str) and 1 <= len(metric["Name"]) <= 1024
            assert metric.get("Unit", "None") in UNITS
            value = document[metric["Name"]]
            samples = value if isinstance(value, list) else [value]
            assert 1 <= len(samples) <= 100 and all(isinstance(v, numbers.Real) for v in samples)
            values.setdefault(metric["Name"], []).extend(samples)
    return values


@pytest.fixture(autouse=True)
def emf_on(settings):
    settings.EMAILHUB_METRICS = True  # on in production; off locally and in the other tests


def metrics_of(lines):
    found = {}
    for line in lines:
        document = json.loads(line)
        for name, samples in emf_valid(document).items():
            found.setdefault(name, []).append((samples, {k: document[k] for k in ("Function", "Worker")
                                                         if k in document}))
    return found


def total(found, name):
    return sum(sum(samples) for samples, _ in found.get(name, []))


def test_emf_lines_count_what_happens_without_any_extra_call(send, verified, ses_failures, dynamodb_calls):
    with written("emailhub.metrics") as lines:
        for n in range(3):
            send(message(subject=f"n{n}"))
        ses_failures("TooManyRequestsException", "slow down")
        ses_failures("MessageRejected", "Email address is not verified.")
        drain_outbox()
    found = metrics_of(lines)
    assert total(found, "Accepted") == 3
    assert total(found, "Sent") == 2 and total(found, "Retried") == 1 and total(found, "Failed") == 1
    assert len([v for samples, _ in found["SesLatency"] for v in samples]) == 4  # every SES call
    ages = found["OldestMessageAge"]
    assert ages and all(dims == {"Function": "emailhub-local", "Worker": "outbox"} for _, dims in ages)
    assert all(0 <= v < 60 for samples, _ in ages for v in samples)


def test_emf_lines_count_bounces_complaints_and_deferrals(send, verified, settings):
    from emailhub.emails import email_get
    from emailhub.worker import process_event_records

    ids = [send(message()).json()["id"] for _ in range(2)]
    drain_outbox()
    with written("emailhub.metrics") as lines:
        process_event_records([sns_record(ses_event("bounce_permanent", email_get(ids[0])["ses_message_id"]), "b")])
        process_event_records([sns_record(ses_event("complaint", email_get(ids[1])["ses_message_id"]), "c")])
    found = metrics_of(lines)
    assert total(found, "Bounced") == 1 and total(found, "Complained") == 1
    assert all(dims["Function"] == "emailhub-local" for samples, dims in found["Bounced"])


def test_no_metric_lines_when_turned_off(settings, send, verified):
    settings.EMAILHUB_METRICS = False
    with written("emailhub.metrics") as lines:
        send(message())
        drain_outbox()
    assert lines == []


def test_emf_oldest_age_comes_from_the_records_own_timestamps():
    from emailhub.metrics import oldest_age_seconds

    records = [{"attributes": {"SentTimestamp": "1700000000000"}}, {"attributes": {"SentTimestamp": "1700000030000"}},
               {"attributes": {}}]
    assert oldest_age_seconds(records, now_ms=1700000060000) == 60.0
    assert oldest_age_seconds([{"attributes": {}}]) is None
