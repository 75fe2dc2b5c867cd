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
