"""bootstrap_aws: every resource, the right settings, safe to run twice."""

import json
from io import StringIO

from django.core.management import call_command
from moto import mock_aws

from emailhub.aws import clients, sqs


def _bootstrap(*args):
    out = StringIO()
    call_command("bootstrap_aws", *args, stdout=out)
    return out.getvalue()


def test_bootstrap_creates_everything_then_reports_it_exists():
    with mock_aws():
        clients.reset()
        first = _bootstrap()
        assert first.count(": created") == 13, first
        second = _bootstrap()
        assert ": created" not in second and second.count(": exists") == 13, second


def test_queues_have_redrive_sizes_and_retention():
    with mock_aws():
        clients.reset()
        _bootstrap()
        outbox = sqs.attributes("emailhub-outbox")
        dlq = sqs.attributes("emailhub-dlq")
        redrive = json.loads(outbox["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == 5
        assert outbox["MaximumMessageSize"] == dlq["MaximumMessageSize"] == str(256 * 1024)
        assert int(dlq["MessageRetentionPeriod"]) == 14 * 86400
        assert int(dlq["MessageRetentionPeriod"]) > int(outbox["MessageRetentionPeriod"])


def test_webhooks_queue_outlives_its_retry_schedule_and_parks_on_its_own_dlq(settings):
    with mock_aws():
        clients.reset()
        _bootstrap()
        webhooks = sqs.attributes("emailhub-webhooks")
        redrive = json.loads(webhooks["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == sqs.queue_arn("emailhub-webhooks-dlq")
        # SQS's redrive never cuts the schedule short: the worker parks after its last step.
        assert int(redrive["maxReceiveCount"]) > len(settings.EMAILHUB_WEBHOOK_RETRY_SECONDS) + 1
        assert int(webhooks["MessageRetentionPeriod"]) > sum(settings.EMAILHUB_WEBHOOK_RETRY_SECONDS)
        assert 20 * 3600 < sum(settings.EMAILHUB_WEBHOOK_RETRY_SECONDS) < 30 * 3600  # about a day


def test_drifted_queue_is_brought_back_in_line():
    with mock_aws():
        clients.reset()
        _bootstrap()
        clients.client("sqs").set_queue_attributes(
            QueueUrl=sqs.queue_url("emailhub-dlq"), Attributes={"MessageRetentionPeriod": "60"})
        assert "SQS queue emailhub-dlq: updated" in _bootstrap()
        assert sqs.attributes("emailhub-dlq")["MessageRetentionPeriod"] == str(14 * 86400)


def test_table_has_the_indexes_and_ttl():
    with mock_aws():
        clients.reset()
        _bootstrap()
        dynamo = clients.client("dynamodb")
        table = dynamo.describe_table(TableName="emailhub")["Table"]
        assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
            "email-status-index", "feed-index", "recipient-index", "ses-message-index", "tag-index",
            "match-status-index", "recipient-domain-index", "recipient-prefix-index", "schedule-index"}
        ttl = dynamo.describe_time_to_live(TableName="emailhub")["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED"


def test_an_earlier_releases_table_gains_the_new_indexes_and_loses_the_retired_ones():
    from emailhub import model

    with mock_aws():
        clients.reset()
        dynamo = clients.client("dynamodb")
        spec = model.table_spec("emailhub")
        earlier = [i for i in spec["GlobalSecondaryIndexes"]
                   if i["IndexName"] not in ("email-status-index", "recipient-prefix-index")]
        earlier.append({"IndexName": "status-index", "Projection": {"ProjectionType": "KEYS_ONLY"},
                        "KeySchema": [{"AttributeName": "status_day", "KeyType": "HASH"},
                                      {"AttributeName": "created_at", "KeyType": "RANGE"}]})
        earlier.append({"IndexName": "api-key-index", "Projection": {"ProjectionType": "KEYS_ONLY"},
                        "KeySchema": [{"AttributeName": "api_key_prefix", "KeyType": "HASH"},
                                      {"AttributeName": "created_at", "KeyType": "RANGE"}]})
        used = {k["AttributeName"] for i in earlier for k in i["KeySchema"]} | {"pk", "sk"}
        dynamo.create_table(**{**spec, "GlobalSecondaryIndexes": earlier, "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(used)]})
        _bootstrap()
        table = dynamo.describe_table(TableName="emailhub")["Table"]
        assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
            i["IndexName"] for i in spec["GlobalSecondaryIndexes"]}


def test_ses_events_flow_from_topic_to_the_events_queue():
    with mock_aws():
        clients.reset()
        _bootstrap()
        from emailhub.aws import sns

        sns.publish(sns.topic_arn("emailhub-ses-events"), {"eventType": "Send"})
        [received] = sqs.receive("emailhub-events")
        assert json.loads(json.loads(received["Body"])["Message"]) == {"eventType": "Send"}
        events = sqs.attributes("emailhub-events")
        assert json.loads(events["RedrivePolicy"])["deadLetterTargetArn"] == sqs.queue_arn("emailhub-events-dlq")
        destinations = clients.client("ses").describe_configuration_set(
            ConfigurationSetName="emailhub", ConfigurationSetAttributeNames=["eventDestinations"])
        [destination] = destinations["EventDestinations"]
        assert destination["SNSDestination"]["TopicARN"] == sns.topic_arn("emailhub-ses-events")
        assert {"bounce", "complaint", "delivery"} <= set(destination["MatchingEventTypes"])


def test_default_sender_is_verified():
    with mock_aws():
        clients.reset()
        _bootstrap()
        from emailhub.identities import address_is_verified

        assert address_is_verified("no-reply@example.com")


def test_stage_bootstrap_names_the_stage_resources_and_creates_its_secret_once():
    with mock_aws():
        clients.reset()
        first = _bootstrap("--stage", "dev")
        assert "DynamoDB table emailhub-dev: created" in first
        assert "Secrets Manager secret emailhub-dev: created with a new random DJANGO_SECRET_KEY" in first
        stored = json.loads(clients.client("secretsmanager").get_secret_value(SecretId="emailhub-dev")["SecretString"])
        second = _bootstrap("--stage", "dev")
        again = json.loads(clients.client("secretsmanager").get_secret_value(SecretId="emailhub-dev")["SecretString"])
    assert list(stored) == ["DJANGO_SECRET_KEY"] and len(stored["DJANGO_SECRET_KEY"]) >= 50
    assert again == stored  # a second bootstrap never replaces the key (it would end every session)
    assert "Secrets Manager secret emailhub-dev: exists" in second
    assert ": created" not in second
