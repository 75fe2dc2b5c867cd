"""The Postman collection (clients/postman/): a request for every operation the
API documents, every variable it uses defined, and newman runs all of it
against the live local stack with every request answered and every test
passing."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.test_local_stack import local_stack  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
POSTMAN = ROOT / "clients" / "postman"
COLLECTION = POSTMAN / "emailhub.postman_collection.json"
ENVIRONMENT = POSTMAN / "emailhub.postman_environment.json"
# .ci/run installs newman here (npm, a pinned version).
NEWMAN = ROOT / ".node" / "node_modules" / ".bin" / "newman"


def _collection():
    return json.loads(COLLECTION.read_text())


def _requests(items):
    """The collection's requests in the order a run sends them (folders flattened)."""
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


def _operation(request, documented):
    """The documented (METHOD, path template) a request calls, or None: its
    literal segments must be the template's, a {param} takes any segment."""
    path = request["url"]["raw"].split("?")[0]
    if not path.startswith("{{base_url}}/"):
        return None
    segments = path.removeprefix("{{base_url}}").split("/")
    best, best_literal = None, -1
    for method, template in documented:
        parts = template.split("/")
        if method != request["method"] or len(parts) != len(segments):
            continue
        if all(part == seg or (part.startswith("{") and part.endswith("}")) for part, seg in zip(parts, segments)):
            literal = sum(part == seg for part, seg in zip(parts, segments))
            if literal > best_literal:
                best, best_literal = (method, template), literal
    return best


def test_the_collection_has_a_request_for_every_documented_operation(client):
    document = client.get("/api/openapi.json").json()
    documented = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    requests = list(_requests(_collection()["item"]))
    called = {item["name"]: _operation(item["request"], documented) for item in requests}
    assert len(called) == len(requests), "two requests have the same name"
    assert all(called.values()), [name for name, operation in called.items() if operation is None]
    missing = documented - set(called.values())
    assert not missing, f"no request in clients/postman/ for {sorted(missing)}: add one, with its tests"


def test_every_request_checks_its_status_and_every_variable_is_defined():
    collection = _collection()
    for item in _requests(collection["item"]):
        tests = [line for event in item.get("event", []) if event["listen"] == "test"
                 for line in event["script"]["exec"]]
        assert any("pm.response.to.have.status(" in line for line in tests), item["name"]
    environment = json.loads(ENVIRONMENT.read_text())
    defined = {v["key"] for v in collection["variable"]} | {v["key"] for v in environment["values"]}
    assert {"base_url", "api_key"} <= {v["key"] for v in environment["values"]}
    # {{$guid}} and the like are Postman's own dynamic variables.
    used = set(re.findall(r"\{\{([^$}][^}]*)\}\}", COLLECTION.read_text()))
    assert used <= defined, used - defined


@pytest.mark.skipif(not NEWMAN.exists() and not os.environ.get("CI"),
                    reason="newman is not installed in .node/ (.ci/run installs it)")
def test_newman_runs_the_collection_against_the_local_stack(local_stack, tmp_path):
    base, key = local_stack
    report = tmp_path / "report.json"
    # The environment file as shipped, with this stack's URL and key (the README's command).
    ran = subprocess.run(
        [str(NEWMAN), "run", str(COLLECTION), "-e", str(ENVIRONMENT), "--env-var", f"base_url={base}",
         "--env-var", f"api_key={key}", "--reporters", "cli,json", "--reporter-json-export", str(report),
         "--timeout-request", "10000", "--disable-unicode", "--color", "off"],
        capture_output=True, text=True, timeout=180,
    )
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr
    run = json.loads(report.read_text())["run"]
    assert run["failures"] == [], run["failures"]
    assert all(run["stats"][kind]["failed"] == 0
               for kind in ("requests", "prerequestScripts", "testScripts", "assertions")), run["stats"]
    names = [item["name"] for item in _requests(_collection()["item"])]
    assert [e["item"]["name"] for e in run["executions"]] == names  # every request ran, once, in order
    for execution in run["executions"]:
        code, assertions = execution["response"]["code"], execution.get("assertions", [])
        # Each request's own test names the status it expects first ("202: ...", "404 not_found").
        assert any(a["assertion"].startswith(str(code)) for a in assertions), (execution["item"]["name"], code)
        assert not [a for a in assertions if a.get("error") or a.get("skipped")], execution["item"]["name"]
