"""The OpenAPI document describes the batch and scheduling operations, with an
example per status, and the examples are what the API really answers."""

from emailhub import examples


def _document(client):
    return client.get("/api/openapi.json").json()


def test_new_operations_document_their_statuses_with_examples(client, aws):
    paths = _document(client)["paths"]
    expected = {
        ("/emails/batch", "post"): {"202", "400", "401", "409", "413", "503"},
        ("/emails/{email_id}/cancel", "post"): {"200", "401", "404", "409"},
        ("/emails/{email_id}", "patch"): {"200", "400", "401", "404", "409"},
    }
    for (path, method), statuses in expected.items():
        operation = paths[path][method]
        assert set(operation["responses"]) >= statuses, (path, method)
        for status in statuses - {"401", "503"}:
            assert "example" in operation["responses"][status]["content"]["application/json"], (path, status)
    assert paths["/emails/batch"]["post"]["requestBody"]["content"]["application/json"]["example"] == \
        examples.SEND_BATCH["body"]
    # Each email of a batch is documented as what POST /send-email takes.
    batch_in = _document(client)["components"]["schemas"]["BatchIn"]
    assert batch_in["properties"]["emails"]["items"] == {"$ref": "#/components/schemas/SendEmailIn"}
    assert {"send_at", "expires_at"} <= set(_document(client)["components"]["schemas"]["SendEmailIn"]["properties"])


def test_the_batch_request_example_is_accepted(client, api_key, verified, clock):
    import json

    response = client.post("/emails/batch", data=json.dumps(
        {**examples.SEND_BATCH["body"], "emails": [examples.SEND_BATCH["body"]["emails"][0]]}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 202
    assert set(response.json()) == set(examples.SEND_BATCH[202])
