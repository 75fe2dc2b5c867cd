"""Roles against every page and action, the staff pages, and the staff commands."""

import os
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from emailhub.apikeys import api_key_create, api_key_list
from emailhub.audit import audit_page
from emailhub.emails import email_get
from emailhub.identities import address_is_verified, cache_clear as identities_cache_clear
from emailhub.model import now
from emailhub.staff import accounts
from emailhub.staff.roles import ADMIN, OPERATOR, VIEWER
from emailhub.suppression import suppressed_among, suppression_add
from tests.conftest import STAFF_PASSWORD
from tests.dashboard_helpers import failed_emails


def _actions():
    return [e["summary"] for e in audit_page(month=now().strftime("%Y-%m"))[0] if e["summary"]["actor"] != "tests"]


@pytest.fixture
def world(send, verified, ses_failures):
    """Something for every action to act on."""
    resend_id, discard_id = failed_emails(send, ses_failures, 2)
    key, _ = api_key_create(name="old")
    suppression_add(address="gone@example.org", reason="tests")
    accounts.staff_create(username="bob", role=VIEWER, actor="tests", password=STAFF_PASSWORD)
    return {"resend": resend_id, "discard": discard_id, "key": key.prefix}


# (method, url, data, who may, what shows it was done)
ACTIONS = [
    ("/admin/resend/", lambda w: {"ids": w["resend"]}, OPERATOR,
     lambda w: email_get(w["resend"])["status"] == "resent"),
    ("/admin/discard/", lambda w: {"ids": w["discard"]}, OPERATOR,
     lambda w: email_get(w["discard"])["status"] == "discarded"),
    ("/admin/dlq/tidy/", lambda w: {}, OPERATOR, lambda w: any(a["action"] == "dlq.tidy" for a in _actions())),
    ("/admin/suppression/", lambda w: {"address": "new@example.org"}, OPERATOR,
     lambda w: suppressed_among(["new@example.org"]) == ["new@example.org"]),
    ("/admin/suppression/remove/", lambda w: {"address": "gone@example.org"}, OPERATOR,
     lambda w: suppressed_among(["gone@example.org"]) == []),
    ("/admin/keys/", lambda w: {"name": "made"}, ADMIN, lambda w: "made" in [k.name for k in api_key_list()]),
    ("/admin/keys/{key}/revoke/", lambda w: {}, ADMIN,
     lambda w: not [k for k in api_key_list() if k.prefix == w["key"]][0].active),
    ("/admin/identities/", lambda w: {"identity": "erin@example.com"}, ADMIN,
     lambda w: identities_cache_clear() or address_is_verified("erin@example.com")),
    ("/admin/staff/", lambda w: {"username": "carol", "role": VIEWER}, ADMIN,
     lambda w: accounts.staff_get(username="carol") is not None),
    ("/admin/staff/bob/role/", lambda w: {"role": OPERATOR}, ADMIN,
     lambda w: accounts.staff_get(username="bob").role == OPERATOR),
    ("/admin/staff/bob/password/", lambda w: {}, ADMIN,
     lambda w: not accounts.staff_get(username="bob").check_password(STAFF_PASSWORD)),
    ("/admin/staff/bob/deactivate/", lambda w: {}, ADMIN, lambda w: not accounts.staff_get(username="bob").is_active),
]
LEVEL = {VIEWER: 0, OPERATOR: 1, ADMIN: 2}
PAGES = ["/admin/", "/admin/emails/", "/admin/emails/{resend}/", "/admin/emails/export.csv", "/admin/dlq/",
         "/admin/keys/", "/admin/identities/", "/admin/suppression/", "/admin/audit/", "/admin/two-factor/",
         "/admin/password_change/"]
CONFIRMS = [("/admin/resend/?ids={resend}", OPERATOR), ("/admin/discard/?ids={discard}", OPERATOR),
            ("/admin/suppression/remove/?address=gone@example.org", OPERATOR),
            ("/admin/keys/{key}/revoke/", ADMIN), ("/admin/staff/", ADMIN), ("/admin/staff/bob/", ADMIN),
            ("/admin/staff/bob/deactivate/", ADMIN), ("/admin/staff/bob/password/", ADMIN)]


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN])
def test_each_role_against_every_page_and_action(role, staff_client, world):
    client = staff_client(role, "me")
    for page in PAGES:
        assert client.get(page.format(**world)).status_code == 200, page
    for page, needs in CONFIRMS:
        expected = 200 if LEVEL[role] >= LEVEL[needs] else 403
        assert client.get(page.format(**world)).status_code == expected, page
    for url, data, needs, done in ACTIONS:
        response = client.post(url.format(**world), data(world))
        allowed = LEVEL[role] >= LEVEL[needs]
        assert response.status_code == (302 if allowed else 403), url
        assert done(world) is allowed, url
    assert ("/admin/staff/" in client.get("/admin/").content.decode()) is (role == ADMIN)  # the nav link


def test_admin_adds_a_user_whose_password_is_shown_once(admin_client):
    response = admin_client.post("/admin/staff/", {"username": "Dana", "email": "dana@example.com", "role": OPERATOR},
                                 follow=True)
    assert response.redirect_chain == [("/admin/staff/dana/", 302)]
    password = re.search(r'id="eh-new-password">([^<]+)<', response.content.decode()).group(1)
    assert "eh-new-password" not in admin_client.get("/admin/staff/dana/").content.decode()
    assert accounts.staff_get(username="dana").check_password(password)
    listing = admin_client.get("/admin/staff/").content.decode()
    assert "dana" in listing and "operator" in listing and "never" in listing
    assert _actions()[0] == {"actor": "admin", "action": "staff.create", "target": "dana",
                             "outcome": "created with role operator"}
    again = admin_client.post("/admin/staff/", {"username": "dana", "role": VIEWER})
    assert "already exists" in again.content.decode()


def test_reset_password_is_shown_once_and_mfa_can_be_turned_off(admin_client):
    accounts.staff_create(username="eve", role=VIEWER, actor="tests", password=STAFF_PASSWORD)
    accounts.staff_mfa_set(username="eve", secret="JBSWY3DPEHPK3PXP", step=1)
    assert "Yes, reset the password of eve" in admin_client.get("/admin/staff/eve/password/").content.decode()
    page = admin_client.post("/admin/staff/eve/password/", follow=True).content.decode()
    password = re.search(r'id="eh-new-password">([^<]+)<', page).group(1)
    assert accounts.staff_get(username="eve").check_password(password)
    admin_client.post("/admin/staff/eve/mfa/")
    assert not accounts.staff_get(username="eve").mfa_enabled
    assert [a["action"] for a in _actions()[:2]] == ["staff.mfa_reset", "staff.password"]


def test_the_last_admin_cannot_be_removed(admin_client):
    response = admin_client.post("/admin/staff/admin/role/", {"role": VIEWER}, follow=True)
    assert "the only active admin" in response.content.decode()
    assert accounts.staff_get(username="admin").role == ADMIN
    admin_client.post("/admin/staff/admin/deactivate/")
    assert accounts.staff_get(username="admin").is_active
    accounts.staff_create(username="second", role=ADMIN, actor="tests", password=STAFF_PASSWORD)
    admin_client.post("/admin/staff/second/role/", {"role": VIEWER})
    assert accounts.staff_get(username="second").role == VIEWER


def test_unknown_staff_user_and_change_are_404(admin_client):
    assert admin_client.get("/admin/staff/nobody/").status_code == 404
    assert admin_client.get("/admin/staff/admin/explode/").status_code == 404


# --- manage.py -----------------------------------------------------------------

def _run(*args, env=None):
    out = StringIO()
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        call_command(*args, stdout=out)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return out.getvalue()


def test_staff_commands(aws):
    printed = _run("create_staff", "Frank", "--role", "admin", "--email", "frank@example.com")
    password = printed.strip().splitlines()[-1]
    assert accounts.staff_get(username="frank").check_password(password)
    _run("create_staff", "gina", "--role", "viewer", env={"EMAILHUB_STAFF_PASSWORD": "gina's long passphrase"})
    assert accounts.staff_get(username="gina").check_password("gina's long passphrase")
    new = _run("set_staff_password", "gina").strip().splitlines()[-1]
    assert accounts.staff_get(username="gina").check_password(new)
    _run("deactivate_staff", "gina")
    listing = _run("list_staff")
    assert re.search(r"frank\s+admin\s+active\s+off\s+never", listing)
    assert re.search(r"gina\s+viewer\s+deactivated", listing)
    _run("deactivate_staff", "gina", "--reactivate")
    assert accounts.staff_get(username="gina").is_active
    assert [a["action"] for a in reversed(_actions())] == [
        "staff.create", "staff.create", "staff.password", "staff.deactivate", "staff.activate"]
    assert all(a["actor"] == "manage.py" for a in _actions())


@pytest.mark.parametrize("args,env,says", [
    (("create_staff", "x y", "--role", "viewer"), {}, "A username is 1 to 150 characters"),
    (("create_staff", "hal", "--role", "viewer"), {"EMAILHUB_STAFF_PASSWORD": "short"}, "too short"),
    (("set_staff_password", "nobody"), {}, "No staff user named 'nobody'"),
    (("deactivate_staff", "nobody"), {}, "No staff user named 'nobody'"),
])
def test_staff_commands_refuse_clearly(aws, args, env, says):
    with pytest.raises(CommandError, match=says):
        _run(*args, env=env)


def test_concurrent_demotions_always_leave_an_admin(admin_client):
    import threading

    for name in ("ada", "root2"):
        accounts.staff_create(username=name, role=ADMIN, actor="tests", password=STAFF_PASSWORD)
    refused = []

    def demote(name):
        try:
            accounts.staff_set_role(username=name, role=VIEWER, actor="tests")
        except accounts.StaffError as err:
            refused.append(err.code)

    threads = [threading.Thread(target=demote, args=(name,)) for name in ("admin", "ada", "root2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admins = [u.username for u in accounts.staff_list() if u.role == ADMIN and u.is_active]
    assert len(admins) >= 1
    assert refused == ["last_admin"] * len(admins)  # every demotion not made was refused, none lost


def test_an_admin_neither_resets_nor_deactivates_themselves_here(admin_client):
    response = admin_client.post("/admin/staff/admin/password/", follow=True)
    assert "Change your own password under" in response.content.decode()
    response = admin_client.post("/admin/staff/admin/deactivate/", follow=True)
    assert "You cannot deactivate yourself" in response.content.decode()
    assert admin_client.get("/admin/").status_code == 200  # still signed in


def test_django_createsuperuser_and_changepassword_work_on_dynamodb(aws, monkeypatch):
    printed = _run("createsuperuser", "--username", "ops", "--noinput",
                   env={"DJANGO_SUPERUSER_PASSWORD": "ops long passphrase"})
    assert "Created staff user ops (admin) with the password from DJANGO_SUPERUSER_PASSWORD." in printed
    assert accounts.staff_get(username="ops").check_password("ops long passphrase")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a fresh long passphrase")
    _run("changepassword", "ops")
    assert accounts.staff_get(username="ops").check_password("a fresh long passphrase")


def test_reserved_names_cannot_be_staff(admin_client):
    response = admin_client.post("/admin/staff/", {"username": "manage.py", "role": VIEWER})
    assert "not one of" in response.content.decode() and accounts.staff_get(username="manage.py") is None
