"""Every AWS operation the test suite makes, checked against the IAM policies.

How it works:
- At start-up (pytest_configure) a botocore event hook is appended to
  botocore.handlers.BUILTIN_HANDLERS, the list every new botocore session
  registers: so it sees the calls of every client made afterwards, Emailhub's
  own (emailhub.aws.clients) and django-storages' alike, under mock_aws or
  against moto's server.
- Each call is recorded with its IAM action(s) and its origin, read from the
  call stack: `bootstrap` when emailhub/bootstrap.py is on it (run by an
  operator: deploy/iam/bootstrap.json), `test` when the code that called the
  AWS library is the tests' or the rehearsal harness's own (peeking at queues,
  seeding the emulator: not something the Lambda does), else `app` (Emailhub,
  Django or django-storages on the Lambda's behalf: deploy/iam/emailhub-<stage>.json).
- When the session finishes (pytest_sessionfinish, after every test) each
  `app` action must be allowed by every stage's Lambda policy and each
  `bootstrap` action by the bootstrap policy; otherwise the session fails
  and the summary names what is missing. So the check sees the whole run,
  whatever order the tests ran in.
"""

import json
import sys
import threading
from collections import Counter
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_POLICIES = sorted((ROOT / "deploy" / "iam").glob("emailhub-*.json"))
BOOTSTRAP_POLICY = ROOT / "deploy" / "iam" / "bootstrap.json"

# botocore service name -> IAM service prefix.
IAM_PREFIX = {"sesv2": "ses", "ses": "ses", "dynamodb": "dynamodb", "sqs": "sqs", "s3": "s3", "sts": "sts", "sns": "sns",
              "secretsmanager": "secretsmanager"}
# Operations whose IAM action is not "<prefix>:<OperationName>".
IAM_ACTIONS = {
    ("sqs", "DeleteMessageBatch"): ["sqs:DeleteMessage"],
    ("sqs", "SendMessageBatch"): ["sqs:SendMessage"],
    ("sqs", "ChangeMessageVisibilityBatch"): ["sqs:ChangeMessageVisibility"],
    ("s3", "HeadObject"): ["s3:GetObject"],
    ("s3", "HeadBucket"): ["s3:ListBucket"],
    ("s3", "ListObjects"): ["s3:ListBucket"],
    ("s3", "ListObjectsV2"): ["s3:ListBucket"],
    ("s3", "ListBuckets"): ["s3:ListAllMyBuckets"],
    ("s3", "CreateMultipartUpload"): ["s3:PutObject"],
    ("s3", "UploadPart"): ["s3:PutObject"],
    ("s3", "CompleteMultipartUpload"): ["s3:PutObject"],
    ("s3", "CopyObject"): ["s3:GetObject", "s3:PutObject"],
    ("s3", "DeleteObjects"): ["s3:DeleteObject"],
    ("s3", "GetBucketPolicy"): ["s3:GetBucketPolicy"],
    ("s3", "PutPublicAccessBlock"): ["s3:PutBucketPublicAccessBlock"],
    ("s3", "PutBucketLifecycleConfiguration"): ["s3:PutLifecycleConfiguration"],
    ("dynamodb", "TransactGetItems"): ["dynamodb:GetItem"],
    ("dynamodb", "DescribeTimeToLive"): ["dynamodb:DescribeTimeToLive"],
}
_TRANSACT_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
                     "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}

# Frames that belong to the AWS libraries or Emailhub's AWS boundary, not to
# whoever asked for the call.
_LIBRARY_PARTS = ("/botocore/", "/boto3/", "/s3transfer/", "/storages/", str(ROOT / "emailhub" / "aws") + "/")
# emailhub/local is the emulator's side (the local runner, the SES event
# simulator): never part of a deployed stage.
_TEST_DIRS = tuple(str(ROOT / name) + "/" for name in ("tests", "deploy", "benchmarks", "emailhub/local"))
_BOOTSTRAP = str(ROOT / "emailhub" / "bootstrap.py")

RECORDED = Counter()  # (origin, service, operation, action) -> calls
_lock = threading.Lock()


def iam_actions(service, operation, params):
    """The IAM actions one call needs."""
    if (service, operation) == ("dynamodb", "TransactWriteItems"):
        kinds = {kind for item in params.get("TransactItems", []) for kind in item}
        return sorted(_TRANSACT_ACTIONS[kind] for kind in kinds)
    if (service, operation) == ("sesv2", "SendEmail"):
        # SES v2 authorizes a raw-MIME send as SendRawEmail as well.
        raw = "Raw" in (params.get("Content") or {})
        return ["ses:SendEmail", "ses:SendRawEmail"] if raw else ["ses:SendEmail"]
    return IAM_ACTIONS.get((service, operation)) or [f"{IAM_PREFIX.get(service, service)}:{operation}"]


def origin(frame):
    """"bootstrap", "test" or "app" for the call made below `frame`."""
    decided = None
    while frame is not None:
        path = frame.f_code.co_filename
        if path == _BOOTSTRAP:
            return "bootstrap"
        if decided is None and not any(part in path for part in _LIBRARY_PARTS):
            decided = "test" if path.startswith(_TEST_DIRS) else "app"
        frame = frame.f_back
    return decided or "app"


def _record(params, model, **kwargs):
    service = model.service_model.service_name
    who = origin(sys._getframe(1))
    with _lock:
        for action in iam_actions(service, model.name, params):
            RECORDED[(who, service, model.name, action)] += 1


def install():
    import botocore.handlers

    entry = ("before-parameter-build", _record)
    if entry not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(entry)


def policy_allows(policy, action):
    """True when an Allow statement of `policy` names `action` (IAM matching:
    case-insensitive, * and ? wildcards). Resources are checked by tests/test_deploy_iam.py."""
    for statement in policy["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        for pattern in [actions] if isinstance(actions, str) else actions:
            if fnmatchcase(action.lower(), pattern.lower()):
                return True
    return False


def missing_actions():
    """{policy file: [(action, "service.Operation")]} for every recorded call
    a policy does not allow."""
    missing = {}
    checks = [(path, "app") for path in LAMBDA_POLICIES] + [(BOOTSTRAP_POLICY, "bootstrap")]
    for path, who in checks:
        policy = json.loads(path.read_text())
        for (origin_, service, operation, action) in sorted(RECORDED):
            if origin_ == who and not policy_allows(policy, action):
                missing.setdefault(path.relative_to(ROOT).as_posix(), []).append((action, f"{service}.{operation}"))
    return missing


def summary():
    """({origin: number of distinct IAM actions}, {origin: sorted actions})."""
    actions = {who: sorted({a for (w, _, _, a) in RECORDED if w == who}) for who in ("app", "bootstrap", "test")}
    return Counter({who: len(found) for who, found in actions.items()}), actions
