"""`zappa deploy local` then `zappa update local` against moto's server: the
commands a user runs, with the local stage (dev's settings, no touch, no
keep-warm), run by the packaging virtualenv's Zappa. Nothing reaches AWS.
moto lacks ListFunctionUrlConfigs, which `zappa update` calls: deploy/rehearse.py
answers it in the rehearsal only (see its docstring). After each, the deploy
step Zappa cannot do (`bootstrap_aws --stage local --after-deploy`) completes
the SQS event sources: partial batch responses and a concurrency cap."""

import io
import json
import subprocess

import boto3
from django.core.management import call_command

from deploy import harness
from deploy.package import ensure_venv, venv_python, zappa_env

STAGE = "local"


def _zappa(command, endpoint):
    env = zappa_env(extra={"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})
    return subprocess.run([str(venv_python()), "deploy/rehearse.py", command, STAGE], cwd=harness.ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


def _normal(policy):
    """IAM's equivalence: a lone string is a one-item list; order is irrelevant."""
    def listed(value):
        return sorted([value] if isinstance(value, str) else value)

    return sorted((s.get("Sid", ""), s["Effect"], listed(s["Action"]), listed(s["Resource"]),
                   json.dumps(s.get("Condition"), sort_keys=True)) for s in policy["Statement"])


def _after_deploy(endpoint):
    out = io.StringIO()
    call_command("bootstrap_aws", "--stage", STAGE, "--endpoint-url", endpoint, "--after-deploy", stdout=out)
    return out.getvalue()


def test_zappa_deploy_then_update_against_the_emulator(tmp_path):
    ensure_venv(quiet=True)
    with harness.emulator() as endpoint:
        harness.stage_prepare(STAGE, endpoint)
        deployed = _zappa("deploy", endpoint)
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
        assert "Deployment complete" in deployed.stdout, deployed.stdout[-2000:]
        completed = _after_deploy(endpoint)
        assert completed.count("updated (ReportBatchItemFailures") == 3, completed  # outbox, events, webhooks
        updated = _zappa("update", endpoint)
        assert updated.returncode == 0, updated.stdout[-3000:] + updated.stderr[-3000:]
        assert "Your updated Zappa deployment is live" in updated.stdout, updated.stdout[-2000:]
        _after_deploy(endpoint)  # after every update too (README, Deploy)

        aws = {name: boto3.client(name, endpoint_url=endpoint, region_name="us-east-1",
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
               for name in ("lambda", "iam", "apigateway", "events")}
        function = aws["lambda"].get_function(FunctionName="emailhub-local")["Configuration"]
        assert function["Runtime"] == "python3.11" and function["Handler"] == "handler.lambda_handler"
        assert function["Timeout"] == 28 and function["MemorySize"] == 1024
        versions = aws["lambda"].list_versions_by_function(FunctionName="emailhub-local")["Versions"]
        assert len([v for v in versions if v["Version"] != "$LATEST"]) >= 2  # deploy + update: a rollback target

        for queue, batch, window, concurrency in (("emailhub-dev-outbox", 10, 1, 2), ("emailhub-dev-events", 100, 2, 5),
                                                  ("emailhub-dev-webhooks", 10, 1, 5)):
            arn = f"arn:aws:sqs:us-east-1:123456789012:{queue}"
            mappings = aws["lambda"].list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
            assert len(mappings) == 1, deployed.stdout[-3000:] + deployed.stderr[-3000:]
            [mapping] = mappings
            assert mapping["FunctionArn"] == function["FunctionArn"]
            assert mapping["EventSourceArn"] == arn
            assert mapping["BatchSize"] == batch and mapping["MaximumBatchingWindowInSeconds"] == window
            assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            assert mapping["ScalingConfig"] == {"MaximumConcurrency": concurrency}

        # The scheduler's every-minute rule, calling the function.
        rules = [r for r in aws["events"].list_rules()["Rules"] if r.get("ScheduleExpression") == "rate(1 minute)"]
        assert rules and any(t["Arn"].startswith(function["FunctionArn"].rsplit(":", 1)[0])
                             for r in rules for t in aws["events"].list_targets_by_rule(Rule=r["Name"])["Targets"])

        role = function["Role"].rsplit("/", 1)[1]
        [name] = aws["iam"].list_role_policies(RoleName=role)["PolicyNames"]
        attached = aws["iam"].get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(attached, str):
            attached = json.loads(attached)
        assert _normal(attached) == _normal(json.loads((harness.ROOT / "deploy/iam/emailhub-dev.json").read_text()))

        apis = aws["apigateway"].get_rest_apis()["items"]
        assert [api["name"] for api in apis] == ["emailhub-local"]
