"""`bootstrap_aws --stage S` creates the stage's alarms on one SNS topic, and
`--after-deploy` completes the SQS event sources Zappa created."""

import io

import pytest
from django.core.management import CommandError, call_command
from moto import mock_aws

from emailhub.aws import clients
from emailhub.bootstrap import mapping_settings
from emailhub.stages import stage_config
from tests.conftest import reset_caches

STAGE = "dev"


def _client(name):
    return clients.new_client(name, region="us-east-1", endpoint_url=None)


@pytest.fixture
def moto():
    with mock_aws():
        reset_caches()
        yield
    reset_caches()


def _bootstrap(*extra):
    out = io.StringIO()
    call_command("bootstrap_aws", "--stage", STAGE, *extra, stdout=out)
    return out.getvalue()


def test_alarms_exist_after_the_bootstrap_and_notify_one_topic(moto):
    printed = _bootstrap()
    alarms = {a["AlarmName"]: a for a in _client("cloudwatch").describe_alarms()["MetricAlarms"]}
    env = stage_config(STAGE)["environment_variables"]
    assert set(alarms) == {
        f"emailhub-dev-dlq-{env['EMAILHUB_DLQ']}", f"emailhub-dev-dlq-{env['EMAILHUB_EVENTS_DLQ']}",
        f"emailhub-dev-dlq-{env['EMAILHUB_WEBHOOKS_DLQ']}", "emailhub-dev-outbox-age", "emailhub-dev-bounce-rate", "emailhub-dev-complaint-rate", "emailhub-dev-errors"}
    [topic] = [t["TopicArn"] for t in _client("sns").list_topics()["Topics"] if t["TopicArn"].endswith(":emailhub-dev-alarms")]
    assert all(a["AlarmActions"] == [topic] for a in alarms.values())
    dlq = alarms[f"emailhub-dev-dlq-{env['EMAILHUB_DLQ']}"]
    assert (dlq["Namespace"], dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold")
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": env["EMAILHUB_DLQ"]}]
    assert alarms["emailhub-dev-errors"]["Dimensions"] == [{"Name": "FunctionName", "Value": "emailhub-dev"}]
    bounce = alarms["emailhub-dev-bounce-rate"]
    assert bounce["Threshold"] == 4.0
    queried = {q["Id"]: q for q in bounce["Metrics"]}
    # The rate is read from the EMF counts the Lambda logs, for this function.
    assert queried["events"]["MetricStat"]["Metric"]["MetricName"] == "Bounced"
    assert queried["events"]["MetricStat"]["Metric"]["Namespace"] == "Emailhub"
    assert queried["sent"]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "Function", "Value": "emailhub-dev"}]
    assert "100 * events / sent" in queried["rate"]["Expression"]
    assert alarms["emailhub-dev-complaint-rate"]["Threshold"] == 0.08
    assert "emailhub-dev-alarms" in printed and "subscribe" in printed

    again = _bootstrap()  # safe to run again: the same alarms, updated
    assert "CloudWatch alarm emailhub-dev-errors: updated" in again
    assert len(_client("cloudwatch").describe_alarms()["MetricAlarms"]) == len(alarms)


def _deploy_like_zappa(config, name="emailhub-dev"):
    """What `zappa deploy` leaves: the function and its SQS mappings, batch size and window set."""
    role = _client("iam").create_role(RoleName="zappa", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context): return {}")
    function = _client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": buffer.getvalue()})["FunctionArn"]
    sqs = _client("sqs")
    for spec in [e for e in config["events"] if "event_source" in e]:
        source = spec["event_source"]
        sqs.create_queue(QueueName=source["arn"].rsplit(":", 1)[1])
        _client("lambda").create_event_source_mapping(
            EventSourceArn=source["arn"], FunctionName=function, BatchSize=source["batch_size"],
            MaximumBatchingWindowInSeconds=source["batch_window"])  # as Zappa's SqsEventSource does
    return function


def test_after_deploy_sets_partial_batch_responses_and_concurrency(moto):
    config = stage_config(STAGE)
    with pytest.raises(CommandError, match="deploy the stage first"):
        _bootstrap("--after-deploy")
    _deploy_like_zappa(config)
    printed = _bootstrap("--after-deploy")
    assert printed.count("updated (ReportBatchItemFailures") == 3  # outbox, events, webhooks
    for spec in [e for e in config["events"] if "event_source" in e]:
        [mapping] = _client("lambda").list_event_source_mappings(
            EventSourceArn=spec["event_source"]["arn"])["EventSourceMappings"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": spec["event_source"]["maximum_concurrency"]}
        assert mapping["BatchSize"] == spec["event_source"]["batch_size"]
        assert mapping["MaximumBatchingWindowInSeconds"] == spec["event_source"]["batch_window"]
    assert _bootstrap("--after-deploy").count(": exists") == 3  # nothing left to change


@pytest.mark.parametrize("stage", ["dev", "production"])
def test_the_outbox_runs_no_more_workers_than_the_pacing_divides_the_rate_among(stage):
    config = stage_config(stage)
    [outbox] = [e["event_source"] for e in config["events"] if e["function"] == "emailhub.worker.outbox_handler"]
    workers = int(config["environment_variables"]["EMAILHUB_WORKER_CONCURRENCY"])
    assert mapping_settings(config, outbox)["ScalingConfig"]["MaximumConcurrency"] == workers
    assert mapping_settings(config, {})["ScalingConfig"]["MaximumConcurrency"] == max(2, workers)
    # The outbox's batch is sent at the paced rate within the Lambda's 28 s; SES events
    # are a few DynamoDB writes each, so their queue takes bigger batches.
    queues = [e for e in config["events"] if "event_source" in e]  # not the scheduler's rule
    sizes = {e["function"].rsplit(".", 1)[1]: e["event_source"]["batch_size"] for e in queues}
    assert sizes == {"outbox_handler": 10, "events_handler": 100, "webhooks_handler": 10}
    for event in queues:
        assert 1 <= event["event_source"]["batch_window"] <= 5  # short: a lone email is not held back long


def test_after_deploy_needs_a_stage():
    with pytest.raises(CommandError, match="needs --stage"):
        call_command("bootstrap_aws", "--after-deploy", stdout=io.StringIO())
