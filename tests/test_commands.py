"""The management commands for API keys and identities."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from emailhub.apikeys import api_key_authenticate, api_key_list


def _run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_create_api_key_prints_the_key_alone_on_the_last_line(aws):
    lines = _run("create_api_key", "shop-backend")
    key = lines[-1]
    assert key.startswith("eh_") and " " not in key
    found = api_key_authenticate(presented=key)
    assert found.name == "shop-backend"
    [listed] = api_key_list()
    assert listed.prefix == found.prefix and listed.last_used_at


def test_keys_are_stored_hashed(aws):
    from emailhub.aws import dynamodb

    key = _run("create_api_key", "x")[-1]
    prefix = key.split("_")[1]
    item = dynamodb.get(f"APIKEY#{prefix}", "APIKEY")
    assert key not in str(item) and len(item["hash"]) == 64


def test_revoke_api_key(aws):
    key = _run("create_api_key", "x")[-1]
    prefix = key.split("_")[1]
    assert "revoked" in _run("revoke_api_key", prefix)[-1]
    assert api_key_authenticate(presented=key) is None
    with pytest.raises(CommandError, match="No API key"):
        _run("revoke_api_key", "ffffffff")


def test_verify_identity(aws):
    from emailhub.identities import address_is_verified

    assert not address_is_verified("bob@example.com")
    assert "verified" in _run("verify_identity", "bob@example.com")[-1]
    assert address_is_verified("bob@example.com")


def test_verify_identity_refuses_what_is_not_an_address_or_domain(aws):
    with pytest.raises(CommandError, match="neither an email address nor a domain"):
        _run("verify_identity", "not an address")


def test_commands_leave_an_audit_trail(aws):
    from emailhub.audit import audit_page
    from emailhub.model import now

    key = _run("create_api_key", "x")[-1]
    _run("revoke_api_key", key.split("_")[1])
    _run("verify_identity", "example.org")
    _run("suppress", "bob@example.org")
    actions = [e["summary"]["action"] for e in audit_page(month=now().strftime("%Y-%m"))[0]]
    assert actions == ["suppression.add", "identity.verify", "api_key.revoke", "api_key.create"]
