"""The OpenAPI document names, for every operation, each error status with
the codes it carries, and has an example for every request body and main
response: what a client team reads instead of the source."""

import re


def test_every_error_status_names_its_codes_and_every_body_has_an_example(client):
    document = client.get("/api/openapi.json").json()
    operations = [(path, method, op) for path, methods in document["paths"].items()
                  for method, op in methods.items()]
    assert {op["operationId"] for _, _, op in operations} >= {
        "send_email", "get_email", "health", "search_emails", "list_suppressions", "get_suppression",
        "put_suppression", "delete_suppression"}
    for path, method, op in operations:
        responses = op["responses"]
        for status, response in responses.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if int(status) >= 400 and schema.get("$ref", "").endswith("/ErrorOut"):
                assert re.search(r"`error\.code`: `[a-z_]+`", response["description"]), (path, method, status)
        main = min(s for s in responses if s.startswith("2"))
        if "content" in responses[main]:
            assert "example" in responses[main]["content"]["application/json"], (path, method, main)
        if "requestBody" in op:
            assert "example" in op["requestBody"]["content"]["application/json"], (path, method)
        for parameter in op.get("parameters", []):  # what a generated client or Postman fills in
            assert "example" in parameter or "example" in parameter["schema"], (path, method, parameter["name"])


def test_the_links_lead_from_a_send_to_its_read_and_its_cancel(client):
    """What schemathesis's stateful phase (and a client reading the document) follows."""
    document = client.get("/api/openapi.json").json()
    links = document["paths"]["/send-email"]["post"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in links.values()} == {"get_email", "cancel_email"}
    assert all(link["parameters"] == {"email_id": "$response.body#/id"} for link in links.values())


def test_the_codes_the_api_answers_are_the_documented_ones(client, api_key):
    document = client.get("/api/openapi.json").json()
    documented = set(re.findall(r"`([a-z_]+)`", " ".join(
        r.get("description", "") for m in document["paths"].values() for op in m.values()
        for r in op["responses"].values())))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    answered = {
        client.get("/emails", {"cursor": "forged"}, **auth).json()["error"]["code"],
        client.get("/emails", {"date_from": "2026-02-01", "date_to": "2026-01-01"}, **auth).json()["error"]["code"],
        client.get("/suppressions/not-an-address", **auth).json()["error"]["code"],
        client.get("/suppressions/nobody@example.com", **auth).json()["error"]["code"],
        client.get("/emails").json()["error"]["code"],
    }
    assert answered == {"invalid_cursor", "invalid_date_range", "invalid_address", "not_found", "unauthorized"}
    assert answered <= documented
