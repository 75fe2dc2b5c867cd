"""The IAM policies: least privilege, on the stage's own resources, and every
AWS operation the code makes is in them (checked at the end of the session by
tests/aws_operations.py; these tests check the policies' shape and the recorder)."""

import json
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from django.core.management import call_command
from moto import mock_aws

from emailhub.aws import clients, sqs
from emailhub.stages import stage_config
from tests import aws_operations

ROOT = Path(__file__).resolve().parent.parent
# Actions IAM cannot scope to a resource.
NO_RESOURCE_LEVEL = {"ses:GetSendQuota", "ses:ListEmailIdentities", "s3:ListAllMyBuckets", "sns:ListTopics",
                     "lambda:ListEventSourceMappings"}


def _policy(path):
    return json.loads((ROOT / path).read_text())


def _statements_for(policy, action):
    return [s for s in policy["Statement"] if aws_operations.policy_allows({"Statement": [s]}, action)]


@pytest.mark.parametrize("path", ["deploy/iam/emailhub-dev.json", "deploy/iam/emailhub-production.json",
                                  "deploy/iam/bootstrap.json"])
def test_policies_name_actions_and_resources_explicitly(path):
    policy = _policy(path)
    assert policy["Version"] == "2012-10-17"
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        assert all("*" not in action for action in actions), statement  # no service:* or FullAccess
        if statement["Resource"] == "*":
            assert set(actions) <= NO_RESOURCE_LEVEL, statement


@pytest.mark.parametrize("stage", ["dev", "local", "production"])
def test_each_stage_attaches_its_own_policy_on_its_own_resources(stage):
    config = stage_config(stage)
    name = f"emailhub-{'dev' if stage == 'local' else stage}"
    assert config["attach_policy"] == f"deploy/iam/{name}.json"
    policy = _policy(config["attach_policy"])
    text = json.dumps(policy)
    other = "production" if "dev" in name else "dev"
    assert f"emailhub-{other}" not in text
    env = config["environment_variables"]

    def resources(action):
        return [r for s in _statements_for(policy, action) for r in s["Resource"]]

    assert f"arn:aws:dynamodb:us-east-1:*:table/{env['EMAILHUB_TABLE']}" in resources("dynamodb:PutItem")
    assert f"arn:aws:dynamodb:us-east-1:*:table/{env['EMAILHUB_TABLE']}/index/*" in resources("dynamodb:Query")
    assert f"arn:aws:sqs:us-east-1:*:{env['EMAILHUB_OUTBOX_QUEUE']}" in resources("sqs:ReceiveMessage")
    # The workers read the outbox, the events and the webhooks queues; the dashboard peeks at the DLQ.
    assert sorted(resources("sqs:ReceiveMessage")) == sorted(
        f"arn:aws:sqs:us-east-1:*:{env[name]}" for name in ("EMAILHUB_OUTBOX_QUEUE", "EMAILHUB_EVENTS_QUEUE",
                                                            "EMAILHUB_WEBHOOKS_QUEUE", "EMAILHUB_DLQ"))
    assert f"arn:aws:sqs:us-east-1:*:{env['EMAILHUB_WEBHOOKS_DLQ']}" in resources("sqs:SendMessage")
    assert f"arn:aws:sqs:us-east-1:*:{env['EMAILHUB_DLQ']}" in resources("sqs:SendMessage")
    assert f"arn:aws:s3:::{env['EMAILHUB_PAYLOAD_BUCKET']}/payloads/*" in resources("s3:PutObject")
    assert f"arn:aws:s3:::{env['EMAILHUB_STATIC_BUCKET']}/static/*" in resources("s3:PutObject")
    # Its own secret only: the ARN Secrets Manager gives it (the name plus 6
    # random characters), not another secret whose name merely starts the same.
    with mock_aws():
        secretsmanager = clients.client("secretsmanager")
        own = secretsmanager.create_secret(Name=env["EMAILHUB_SECRETS_ID"], SecretString="{}")["ARN"]
        other = secretsmanager.create_secret(Name=env["EMAILHUB_SECRETS_ID"] + "-old", SecretString="{}")["ARN"]
    readable = resources("secretsmanager:GetSecretValue")
    assert any(fnmatchcase(own, pattern) for pattern in readable), (own, readable)
    assert not any(fnmatchcase(other, pattern) for pattern in readable), (other, readable)
    assert f"arn:aws:ses:us-east-1:*:configuration-set/{env['EMAILHUB_SES_CONFIGURATION_SET']}" in resources("ses:SendEmail")
    # Creating or deleting resources is bootstrap's job, not the Lambda's.
    for action in ("dynamodb:CreateTable", "dynamodb:DeleteTable", "sqs:CreateQueue", "sqs:DeleteQueue",
                   "s3:CreateBucket", "s3:DeleteObject", "ses:CreateConfigurationSet", "iam:PassRole"):
        assert not _statements_for(policy, action), action


def test_iam_actions_of_operations_that_differ_from_their_names():
    assert aws_operations.iam_actions("dynamodb", "TransactWriteItems", {
        "TransactItems": [{"Put": {}}, {"ConditionCheck": {}}]}) == ["dynamodb:ConditionCheckItem", "dynamodb:PutItem"]
    assert aws_operations.iam_actions("sesv2", "SendEmail", {"Content": {"Simple": {}}}) == ["ses:SendEmail"]
    assert aws_operations.iam_actions("sesv2", "SendEmail", {"Content": {"Raw": {}}}) == [
        "ses:SendEmail", "ses:SendRawEmail"]
    assert aws_operations.iam_actions("sqs", "DeleteMessageBatch", {}) == ["sqs:DeleteMessage"]
    assert aws_operations.iam_actions("s3", "HeadObject", {}) == ["s3:GetObject"]
    assert aws_operations.iam_actions("ses", "GetSendQuota", {}) == ["ses:GetSendQuota"]


def test_the_recorder_sees_app_bootstrap_and_test_calls(aws):
    before = set(aws_operations.RECORDED)
    from emailhub.services import outbox_enqueue

    outbox_enqueue(email_id="x")  # the application's code path
    clients.client("sqs").purge_queue(QueueUrl=sqs.queue_url("emailhub-outbox"))  # the test's own call
    seen = set(aws_operations.RECORDED)
    assert ("app", "sqs", "SendMessage", "sqs:SendMessage") in seen
    assert ("test", "sqs", "PurgeQueue", "sqs:PurgeQueue") in seen
    assert any(who == "bootstrap" for (who, *_rest) in seen)
    assert before <= seen


def test_collectstatic_to_s3_uses_only_what_the_policy_allows(settings, tmp_path):
    """What `zappa manage <stage> "collectstatic --noinput"` does, in-process, so
    that its S3 operations are recorded and checked against the policy."""
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": "emailhub-dev-static-123456789012", "location": "static", "region_name": "us-east-1",
            "custom_domain": "emailhub-dev-static-123456789012.s3.us-east-1.amazonaws.com",
            "querystring_auth": False, "default_acl": None, "file_overwrite": True}},
    }
    with mock_aws():
        clients.reset()
        clients.client("s3").create_bucket(Bucket="emailhub-dev-static-123456789012")
        call_command("collectstatic", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)  # again: compares with what is there
        listed = clients.client("s3").list_objects_v2(Bucket="emailhub-dev-static-123456789012", Prefix="static/admin/")
    assert listed["KeyCount"] > 50
    assert ("app", "s3", "PutObject", "s3:PutObject") in aws_operations.RECORDED
