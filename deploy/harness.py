"""Rehearsal harness: run the built Lambda package the way Lambda runs it,
against the local AWS emulator (moto's server on 127.0.0.1), with no AWS.

Used by tests/test_deploy_package.py and benchmarks/cold_start.py; needs the
development virtualenv (moto, Django) in the process that drives it. The
package itself runs in a *fresh* interpreter (`python -I -S -B`): isolated from
the environment, without site-packages, writing no bytecode, with only the
unpacked zip (as /var/task) and the standard library on sys.path.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"
RECIPIENT = "alice@example.com"
TEST_SECRET_KEY = "rehearsal-only-" + "x7Kp2mQ9vR4tW8yB3nF6hJ1cL5dG0sA" * 2


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def emulator():
    """moto's server on a free 127.0.0.1 port; yields its URL."""
    from emailhub.local.emulator import emulator_start

    url = f"http://127.0.0.1:{free_port()}"
    server = emulator_start(url)
    try:
        yield url
    finally:
        server.stop()


def unpack(zip_path, dest):
    """Unpack like Lambda does (contents and the mode bits Zappa set)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if mode:
                os.chmod(dest / info.filename, mode)
    return dest


def stage_prepare(stage, endpoint, *, recipient=RECIPIENT):
    """Create the stage's resources in the emulator the way an operator does
    (`bootstrap_aws --stage`, which also creates the stage's secret),
    verify a recipient and create an API key. Needs Django set up.
    Returns the API key."""
    from emailhub import apikeys, identities
    from emailhub.bootstrap import aws_resources_ensure
    from emailhub.stages import stage_settings

    with stage_settings(stage, endpoint_url=endpoint) as config:
        aws_resources_ensure()
        identities.identity_verify(identity=recipient)
        _, key = apikeys.api_key_create(name=f"rehearsal {stage}")
        secret_put(config["environment_variables"]["EMAILHUB_SECRETS_ID"], {"DJANGO_SECRET_KEY": TEST_SECRET_KEY})
    apikeys.cache_clear()
    identities.cache_clear()
    return key


def secret_put(name, values):
    """What the operator does once per stage (README, Deploy: Secrets)."""
    from botocore.exceptions import ClientError

    from emailhub.aws.calls import call, error_code

    try:
        call("secretsmanager", "create_secret", Name=name, SecretString=json.dumps(values))
    except ClientError as err:  # a second rehearsal on the same emulator
        if error_code(err) != "ResourceExistsException":
            raise
        call("secretsmanager", "put_secret_value", SecretId=name, SecretString=json.dumps(values))


def lambda_environment(stage, endpoint, *, home, extra=None):
    """What the Lambda runtime puts in the environment, plus the emulator's
    endpoint and dummy credentials. Nothing from the caller's shell."""
    from emailhub.stages import stage_config

    region = stage_config(stage).get("aws_region", "us-east-1")
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC", "HOME": str(home),
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": f"emailhub-{stage}", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "LAMBDA_TASK_ROOT": "/var/task",
    }
    env.update(extra or {})
    return env


def api_gateway_event(method, path, *, stage, headers=None, body=None):
    """An API Gateway REST API (v1 proxy integration) event, as Lambda receives it."""
    headers = {
        "Host": API_HOST, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
        "X-Forwarded-For": "203.0.113.7, 130.176.1.1", "User-Agent": "rehearsal", "Accept": "*/*",
        **(headers or {}),
    }
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/{stage}{path}", "stage": stage,
            "accountId": "123456789012", "apiId": API_HOST.split(".")[0], "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "rehearsal"},
        },
        "body": body, "isBase64Encoded": False,
    }


def send_email_event(stage, api_key, *, idempotency_key=None, to=RECIPIENT):
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    body = json.dumps({"to": [to], "subject": "Your order", "text": "Thanks!"})
    return api_gateway_event("POST", "/send-email", stage=stage, headers=headers, body=body)


def outbox_arn(stage):
    from emailhub.stages import stage_config

    for event in stage_config(stage).get("events", []):
        if event.get("function") == "emailhub.worker.outbox_handler":
            return event["event_source"]["arn"]
    raise LookupError(f"stage {stage!r} has no outbox event source")


def sqs_event(stage, messages):
    """Lambda's SQS event for messages received from the outbox queue."""
    arn = outbox_arn(stage)
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": arn.split(":")[3],
    } for m in messages]}


# The program the fresh interpreter runs: Lambda's part. Standard library only
# until it imports the package's handler.py. One JSON event per stdin line,
# one "@@RESULT <json>" line per event; "@@MODULES <json>" when stdin closes.
DRIVER = r'''
import importlib.util, json, os, sys, sysconfig, time, uuid
task = sys.argv[1]
sys.path[:0] = sys.argv[3:] + [task]
os.chdir(task)

class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "emailhub")
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "rehearsal"
    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 28
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

handler = importlib.import_module(sys.argv[2])
for line in sys.stdin:
    event = json.loads(line)
    try:
        out = {"ok": True, "result": handler.lambda_handler(event, Context())}
    except Exception as err:
        out = {"ok": False, "error": type(err).__name__, "message": str(err)}
    print("@@RESULT " + json.dumps(out, default=str), flush=True)

stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
report = {"sys_path": sys.path, "outside": [], "from_task": 0, "pyc_missing": [], "pyc_stale": [],
          "pyc_timestamp": []}
for name, module in sorted(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if not path:
        continue
    if path.startswith(task + os.sep):
        report["from_task"] += 1
        report.setdefault("imported", []).append(os.path.relpath(path, task))
        if not path.endswith(".py"):
            continue
        cached = importlib.util.cache_from_source(path)
        if not os.path.exists(cached):
            report["pyc_missing"].append(os.path.relpath(path, task))
            continue
        with open(cached, "rb") as f:
            header = f.read(16)
        flags = int.from_bytes(header[4:8], "little")
        if not flags & 1:
            report["pyc_timestamp"].append(os.path.relpath(path, task))
        with open(path, "rb") as f:
            if flags & 1 and importlib.util.source_hash(f.read()) != header[8:16]:
                report["pyc_stale"].append(os.path.relpath(path, task))
    elif not (path.startswith(stdlib) and "site-packages" not in path):
        report["outside"].append(path)
print("@@MODULES " + json.dumps(report), flush=True)
'''


def base_python():
    """The interpreter itself, not a virtualenv's wrapper around it."""
    return getattr(sys, "_base_executable", None) or sys.executable


class LambdaProcess:
    """One Lambda execution environment: a fresh interpreter that imported the
    package's handler.py. `invoke(event)` returns what lambda_handler returned
    (or {"ok": False, "error": ...}); `close()` returns the module report."""

    def __init__(self, task_dir, env, *, handler_module="handler", extra_paths=()):
        self.task_dir = str(Path(task_dir).resolve())
        self.started = time.perf_counter()
        self._stderr = tempfile.TemporaryFile(mode="w+")  # Lambda's logs; a pipe could fill up
        self.process = subprocess.Popen(
            [base_python(), "-I", "-S", "-B", "-c", DRIVER, self.task_dir, handler_module,
             *[str(Path(p).resolve()) for p in extra_paths]],
            cwd=self.task_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True)
        self.log = []

    def logs(self):
        self._stderr.seek(0)
        return self._stderr.read()

    def invoke(self, event, timeout=60):
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        line = self._read("@@RESULT ", timeout)
        return json.loads(line)

    def _read(self, marker, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the Lambda process ended:\n" + "".join(self.log) + self.logs())
            if line.startswith(marker):
                return line[len(marker):]
            self.log.append(line)
        raise TimeoutError(f"no {marker.strip()} within {timeout} s")

    def close(self, timeout=30):
        self.process.stdin.close()
        report = json.loads(self._read("@@MODULES ", timeout))
        self.process.wait(timeout)
        return report

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
