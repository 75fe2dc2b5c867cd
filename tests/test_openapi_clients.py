"""The OpenAPI document works with generators as they are: a client generated
by openapi-python-client sends an email, and the Postman collection that
openapi-to-postmanv2 makes of it runs under newman with every request a 2xx,
both against the live local stack over HTTP."""

import json
from datetime import datetime, timedelta, timezone
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emailhub import examples
from tests.test_local_stack import _request, _wait_for, local_stack  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent
# .ci/run installs openapi-to-postmanv2 and newman here (npm, pinned versions).
NODE_BIN = ROOT / ".node" / "node_modules" / ".bin"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def _document(base, folder):
    _, document = _request(f"{base}/api/openapi.json", key="")
    path = folder / "openapi.json"
    path.write_text(json.dumps(document))
    return document, path


def test_the_document_names_its_server_and_has_examples(local_stack):
    base, _ = local_stack
    _, document = _request(f"{base}/api/openapi.json", key="")
    assert document["servers"] == [{"url": base, "description": "This deployment"}]
    send = document["paths"]["/send-email"]["post"]
    assert send["requestBody"]["content"]["application/json"]["example"] == examples.SEND_EMAIL["body"]
    for path, method, status in [("/send-email", "post", "202"), ("/emails/{email_id}", "get", "200"),
                                 ("/health", "get", "200")]:
        assert "example" in document["paths"][path][method]["responses"][status]["content"]["application/json"]
    # No default on the one-or-many address fields: a generator cannot turn it into the text "[]".
    fields = document["components"]["schemas"]["SendEmailIn"]["properties"]
    assert not any("default" in fields[name] for name in ("to", "cc", "bcc", "reply_to"))


def test_a_generated_python_client_sends_an_email(local_stack, tmp_path, monkeypatch):
    base, key = local_stack
    _, path = _document(base, tmp_path)
    generated = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(path), "--meta", "none", "--output-path",
         str(tmp_path / "emailhub_api")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    from emailhub_api import AuthenticatedClient
    from emailhub_api.api.default import get_email, send_email
    from emailhub_api.models import SendEmailIn

    client = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)
    body = SendEmailIn(to=["alice@example.com"], subject="Your order", text="Thanks!")
    accepted = send_email.sync_detailed(client=client, body=body, idempotency_key="generated-1")
    assert accepted.status_code == 202, accepted.content
    email = _wait_for(base, key, accepted.parsed.id, "delivered")
    assert email["cc"] == [] and email["reply_to"] == []
    fetched = get_email.sync(client=client, email_id=accepted.parsed.id)
    assert fetched.status == "delivered" and fetched.to == ["alice@example.com"]
    # The search and the suppression list, as generated.
    from emailhub_api.api.emails import search_emails
    from emailhub_api.api.suppressions import delete_suppression, get_suppression, list_suppressions, put_suppression
    from emailhub_api.models import SuppressionIn

    found = search_emails.sync(client=client, recipient="alice@example.com", status="delivered", limit=10)
    assert [e.id for e in found.data] == [accepted.parsed.id] and not found.next_cursor
    added = put_suppression.sync_detailed(client=client, address="bob@example.com",
                                          body=SuppressionIn(reason="asked to stop"))
    assert added.status_code == 201 and added.parsed.address == "bob@example.com"
    assert get_suppression.sync(client=client, address="bob@example.com").reason == "asked to stop"
    assert [e.address for e in list_suppressions.sync(client=client).data] == ["bob@example.com"]
    assert delete_suppression.sync_detailed(client=client, address="bob@example.com").status_code == 204
    for name in [m for m in sys.modules if m == "emailhub_api" or m.startswith("emailhub_api.")]:
        del sys.modules[name]


NEWMAN, CONVERTER = NODE_BIN / "newman", NODE_BIN / "openapi2postmanv2"


@pytest.mark.skipif(not (NEWMAN.exists() and CONVERTER.exists()) and not os.environ.get("CI"),
                    reason="openapi-to-postmanv2 and newman are not installed in .node/ (.ci/run installs them)")
def test_the_postman_collection_runs_under_newman(local_stack, tmp_path):
    base, key = local_stack
    _, path = _document(base, tmp_path)
    collection = tmp_path / "collection.json"
    converted = subprocess.run(
        [str(CONVERTER), "-s", str(path), "-o", str(collection), "-O", "parametersResolution=Example"],
        capture_output=True, text=True, timeout=120,
    )
    assert converted.returncode == 0, converted.stdout + converted.stderr
    # The operations on one email act on one that exists: the example id stands for one scheduled
    # just now (so it can be read, rescheduled and canceled), and the example send_at dates, fixed in
    # the document, become dates in the coming days.
    soon = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0)
    status, sent = _request(f"{base}/send-email", key=key,
                            body={**examples.SEND_EMAIL["body"], "send_at": soon.isoformat()})
    assert status == 202 and sent["status"] == "scheduled"
    text = collection.read_text().replace(examples.EMAIL_ID, sent["id"])
    for fixed in (examples.SEND_AT, examples.RESCHEDULE_EMAIL["body"]["send_at"]):
        text = text.replace(fixed, (soon + timedelta(hours=1)).isoformat())
    collection.write_text(text)
    # GET and DELETE /suppressions/{address} act on the example address: it is on the list.
    status, _ = _request(f"{base}/suppressions/{examples.SUPPRESSED_ADDRESS}", key=key, method="PUT",
                         body={"reason": "hard bounce"})
    assert status == 201
    report = tmp_path / "report.json"
    ran = subprocess.run(
        [str(NEWMAN), "run", str(collection), "--env-var", f"bearerToken={key}", "--reporters", "cli,json",
         "--reporter-json-export", str(report), "--timeout-request", "10000", "--disable-unicode"],
        capture_output=True, text=True, timeout=180,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    executions = json.loads(report.read_text())["run"]["executions"]
    answered = {(e["item"]["name"], e["response"]["code"]) for e in executions}
    operations = sum(len(methods) for methods in json.loads(path.read_text())["paths"].values())
    assert len(executions) == operations and all(200 <= code < 300 for _, code in answered), answered
