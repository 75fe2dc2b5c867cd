"""Schemathesis against the live local stack (over HTTP, moto's server, the
worker threads): every operation of the OpenAPI document with its examples,
the coverage phase's edge cases and generated data, then the stateful phase
along the document's links (send -> read; suppress -> read -> remove).
Zero 5xx, and every response as the document says: status, content type,
headers, body. Offline: the only server is on 127.0.0.1, and any other
address would go to a proxy that does not exist."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_local_stack import local_stack  # noqa: F401 (a fixture)

SCHEMATHESIS = Path(sys.executable).parent / "st"
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance"]
# Few examples per operation: the run stays within a few minutes on two busy cores.
MAX_EXAMPLES = 25


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed (requirements-dev.txt)")
def test_schemathesis_finds_no_server_error_and_no_response_off_the_document(local_stack, tmp_path):
    base, key = local_stack
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1", "SCHEMATHESIS_HOOKS": ""}
    ran = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{base}/api/openapi.json", "--checks", ",".join(CHECKS),
         "--header", f"Authorization: Bearer {key}", "--max-examples", str(MAX_EXAMPLES),
         "--phases", "examples,coverage,fuzzing,stateful", "--generation-database", "none", "--seed", "12",
         "--workers", "1", "--request-timeout", "20", "--no-color",
         "--report", "junit", "--report-dir", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=420,
    )
    assert ran.returncode == 0, ran.stdout[-20000:] + ran.stderr[-5000:]
    assert "Stateful" in ran.stdout and " passed" in ran.stdout
