"""`zappa deploy|update <stage>` against the local AWS emulator, for rehearsals.

Run with the packaging virtualenv's Python, from the project root, with
AWS_ENDPOINT_URL pointing at moto's server (tests/test_deploy_rehearsal.py
does all of that):

    AWS_ENDPOINT_URL=http://127.0.0.1:5000 build/venv/bin/python deploy/rehearse.py deploy local

This is Zappa's own CLI with two changes that exist for the rehearsal only:
- no PyPI version check (deploy/zappa_offline.py), so nothing leaves the machine;
- WORKAROUND, rehearsal only: moto does not implement Lambda's
  ListFunctionUrlConfigs, which `zappa update` calls (to remove Function URLs
  when `function_url_enabled` is off). Against the emulator it answers "no
  Function URLs", which is the truth for these stages. Real deployments call
  real AWS and never load this file.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import botocore.handlers  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402

import zappa_offline  # noqa: E402,F401  (drops the version check)
from zappa.cli import handle  # noqa: E402


def _no_function_urls(params, **kwargs):
    """before-call hook: a non-None return value is used as the response."""
    return AWSResponse("", 200, {}, None), {"FunctionUrlConfigs": [], "ResponseMetadata": {"HTTPStatusCode": 200}}


if not os.environ.get("AWS_ENDPOINT_URL", "").startswith(("http://127.0.0.1:", "http://localhost:")):
    raise SystemExit("deploy/rehearse.py only talks to a local emulator: set AWS_ENDPOINT_URL=http://127.0.0.1:PORT")

botocore.handlers.BUILTIN_HANDLERS.append(("before-call.lambda.ListFunctionUrlConfigs", _no_function_urls))

if __name__ == "__main__":
    sys.exit(handle())
