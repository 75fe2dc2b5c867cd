"""Staff sign-in, sessions and their ending, through the real admin views,
with every account and session in DynamoDB and no database configured."""

import re

import pyotp
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import Client

from emailhub.audit import audit_page
from emailhub.model import now
from emailhub.staff import accounts, throttle
from emailhub.staff.roles import ADMIN, OPERATOR, VIEWER
from tests.conftest import STAFF_PASSWORD


def _audit(action):
    return [e["summary"] for e in audit_page(month=now().strftime("%Y-%m"))[0] if e["summary"]["action"] == action]


def _staff(username="alice", role=OPERATOR, password=STAFF_PASSWORD):
    user, _ = accounts.staff_create(username=username, role=role, actor="tests", password=password)
    return user


def _login(client, username="alice", password=STAFF_PASSWORD, code="", address="198.51.100.7"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "code": code},
                       REMOTE_ADDR=address)


def test_there_is_no_database():
    assert connection.settings_dict["ENGINE"] == "django.db.backends.dummy"


def test_login_and_logout_through_the_admin_views(aws):
    _staff()
    client = Client()
    response = _login(client)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert accounts.staff_get(username="alice").last_login is not None
    assert _audit("login")[0]["outcome"] == "signed in from 198.51.100.7"

    saved = client.cookies["sessionid"].value
    assert client.post("/admin/logout/").status_code == 200
    replay = Client()
    replay.cookies["sessionid"] = saved
    response = replay.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_cookie_carries_a_key_only_and_the_table_not_even_that(admin_client, aws):
    from emailhub.aws import dynamodb

    response = admin_client.post("/admin/keys/", {"name": "shop"}, follow=True)
    secret = re.search(r'id="eh-new-key">([^<]+)<', response.content.decode()).group(1)
    cookie = admin_client.cookies["sessionid"].value
    assert re.fullmatch(r"[a-z0-9]{32}", cookie)
    assert all(secret not in morsel.value for morsel in admin_client.cookies.values())
    assert dynamodb.get(f"SESSION#{cookie}", "SESSION") is None  # stored under the key's hash
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert secret not in replay.get("/admin/keys/").content.decode()  # shown once, even to a replayed cookie


def test_password_change_keeps_this_session_and_ends_the_others(aws):
    _staff()
    here, elsewhere = Client(), Client()
    _login(here)
    _login(elsewhere)
    response = here.post("/admin/password_change/", {
        "old_password": STAFF_PASSWORD, "new_password1": "a much longer new passphrase",
        "new_password2": "a much longer new passphrase"})
    assert response.status_code == 302
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302
    assert _login(Client()).status_code == 200  # the old password is refused
    assert _login(Client(), password="a much longer new passphrase").status_code == 302
    assert _audit("staff.password")[0]["outcome"] == "changed their own password"


def test_deactivation_ends_sessions_at_the_next_request_and_reactivation_does_not_revive_them(aws):
    _staff()
    client = Client()
    _login(client)
    assert client.get("/admin/").status_code == 200
    accounts.staff_set_active(username="alice", active=False, actor="tests")
    assert client.get("/admin/").status_code == 302
    assert _login(Client()).status_code == 200  # cannot sign in
    accounts.staff_set_active(username="alice", active=True, actor="tests")
    assert client.get("/admin/").status_code == 302
    assert _login(Client()).status_code == 302


def test_role_change_applies_at_the_next_request(aws, send, verified, ses_failures):
    from tests.dashboard_helpers import failed_emails

    _staff(role=OPERATOR)
    client = Client()
    _login(client)
    [email_id] = failed_emails(send, ses_failures, 1)
    assert client.get("/admin/resend/", {"ids": email_id}).status_code == 200
    accounts.staff_set_role(username="alice", role=VIEWER, actor="tests")
    assert client.get("/admin/resend/", {"ids": email_id}).status_code == 403


def test_a_change_made_by_another_process_shows_within_the_cache_time(aws, settings):
    settings.EMAILHUB_STAFF_CACHE_SECONDS = 0
    _staff()
    client = Client()
    _login(client)
    accounts.dynamodb.update("STAFF#alice", "STAFF", expression="SET is_active = :no", values={":no": False})
    assert client.get("/admin/").status_code == 302


def test_an_admin_password_reset_signs_the_user_out(aws):
    _staff()
    client = Client()
    _login(client)
    accounts.staff_set_password(username="alice", actor="tests")
    assert client.get("/admin/").status_code == 302


# --- throttling ----------------------------------------------------------------

def test_five_failures_lock_a_username_for_the_window_then_it_opens(aws, monkeypatch):
    _staff()
    clock = [1_800_000_000.0]
    monkeypatch.setattr(throttle.time, "time", lambda: clock[0])
    for attempt in range(5):
        response = _login(Client(), password="wrong", address=f"203.0.113.{attempt}")
        assert response.status_code == 200
    assert "Sign-in is locked for 15 more minute(s)" in response.content.decode()
    locked = _login(Client(), address="203.0.113.99")  # the right password, from elsewhere
    assert locked.status_code == 200 and "Too many failed sign-ins for this username" in locked.content.decode()
    [entry] = _audit("login.locked")
    assert entry["target"] == "username alice" and entry["actor"] == "sign-in from 203.0.113.4"

    clock[0] += 15 * 60 + 1
    assert _login(Client(), address="203.0.113.99").status_code == 302


def _fail(times, username="bob", address="a"):
    lock = None
    for _ in range(times):
        throttle.login_attempt_begin(username=username, address=address)
        lock = throttle.login_attempt_failed(username=username, address=address)
    return lock


def test_a_repeated_lock_lasts_longer(aws, monkeypatch):
    clock = [1_800_000_000.0]
    monkeypatch.setattr(throttle.time, "time", lambda: clock[0])
    first = _fail(5)
    clock[0] = first.until + 1
    second = _fail(5)
    assert first.until - 1_800_000_000 == 15 * 60
    assert second.until - clock[0] == 30 * 60


def test_parallel_guesses_cannot_outrun_the_count(aws):
    """Attempts reserve their place before any password is checked: with 16
    in flight at once, only 5 get a password check."""
    begun, refused = 0, 0
    for _ in range(16):  # all begun before any finishes, as parallel requests would
        try:
            throttle.login_attempt_begin(username="ada", address="192.0.2.1")
            begun += 1
        except throttle.Locked:
            refused += 1
    assert (begun, refused) == (5, 11)
    locks = [throttle.login_attempt_failed(username="ada", address="192.0.2.1") for _ in range(begun)]
    assert [lock.kind for lock in locks if lock] == ["user"]


def test_parallel_sign_ins_through_the_form(aws):
    import threading

    _staff()
    answers = []

    def attempt(n):
        answers.append(_login(Client(), password="wrong", address=f"203.0.113.{n}").content.decode())

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = [a for a in answers if "Please enter the correct username" in a]
    assert len(checked) <= 4 and len(answers) == 12  # the 5th check locks and says so
    assert _login(Client(), address="203.0.113.200").status_code == 200  # the right password waits too


def test_an_admin_unlocks_a_locked_username(aws, admin_client):
    _staff()
    for n in range(5):
        _login(Client(), password="wrong", address=f"203.0.113.{n}")
    assert "locked" in admin_client.get("/admin/staff/alice/").content.decode()
    admin_client.post("/admin/staff/alice/unlock/")
    assert _login(Client(), address="203.0.113.99").status_code == 302


def test_one_address_trying_many_usernames_is_locked(aws, settings):
    settings.EMAILHUB_LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    _staff()
    for i in range(6):
        _login(Client(), username=f"guess{i}", password="x", address="192.0.2.50")
    response = _login(Client(), address="192.0.2.50")
    assert "Too many failed sign-ins for your network address" in response.content.decode()
    assert _login(Client(), address="192.0.2.51").status_code == 302  # others are not affected


def test_ipv6_clients_are_counted_per_64():
    class Request:
        META = {"REMOTE_ADDR": "2001:db8:1:2:aaaa:bbbb:cccc:dddd"}

    assert throttle.client_address(Request) == "2001:db8:1:2::/64"
    Request.META = {"REMOTE_ADDR": "10.0.0.1", "lambda.event": {"requestContext": {"identity": {"sourceIp": "198.51.100.9"}}}}
    assert throttle.client_address(Request) == "198.51.100.9"  # what API Gateway saw, not a header


def test_unknown_username_and_wrong_password_are_answered_alike(aws, monkeypatch):
    _staff()
    hashed = []
    original = PBKDF2PasswordHasher.encode
    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", lambda self, *a, **k: hashed.append(1) or original(self, *a, **k))

    def answer(username):
        hashed.clear()
        response = _login(Client(), username=username, password="not it")
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return response.status_code, body.replace(username, "NAME"), len(hashed)

    assert answer("alice") == answer("nobody")
    assert answer("nobody")[2] == 1  # the password was hashed although no such user exists


@pytest.mark.parametrize("username,password", [
    ("a" * 10_000, "x"), ("alice\x00", "x"), ("alice\r\nX-Header: 1", "x"), ("alice", "x" * 100_000), ("", ""),
])
def test_hostile_sign_in_input_is_refused_cleanly(aws, username, password):
    _staff()
    response = _login(Client(), username=username, password=password)
    assert response.status_code == 200 and "errornote" in response.content.decode()


# --- second factor -------------------------------------------------------------

def _enrol(client):
    page = client.get("/admin/two-factor/").content.decode()
    assert "<svg" in page
    secret = re.search(r'id="eh-totp-secret">([A-Z2-7]+)<', page).group(1)
    response = client.post("/admin/two-factor/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return secret


def test_totp_enrolment_then_sign_in_needs_a_fresh_code(aws, monkeypatch):
    _staff()
    client = Client()
    _login(client)
    secret = _enrol(client)
    assert accounts.staff_get(username="alice").mfa_enabled
    assert _login(Client()).status_code == 200  # no code
    assert _login(Client(), code="000000").status_code == 200
    totp = pyotp.TOTP(secret)
    later = now().timestamp() + 30  # the next time step: the enrolment used this one
    assert _login(Client(), code=totp.at(later)).status_code == 302
    assert _login(Client(), code=totp.at(later)).status_code == 200  # a code works once


def test_admins_must_enrol_when_mfa_is_required(aws, settings, staff_client):
    settings.EMAILHUB_REQUIRE_MFA = True
    admin = staff_client(ADMIN, "boss")
    response = admin.get("/admin/emails/")
    assert response.status_code == 302 and response["Location"] == "/admin/two-factor/"
    assert "Admins must turn on two-factor" in admin.get("/admin/two-factor/").content.decode()
    _enrol(admin)
    assert admin.get("/admin/emails/").status_code == 200
    assert staff_client(OPERATOR, "op").get("/admin/emails/").status_code == 200  # only admins


def test_dashboard_pages_carry_a_content_security_policy(admin_client):
    policy = admin_client.get("/admin/")["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "Content-Security-Policy" in Client().get("/admin/login/")


def test_a_password_change_never_puts_back_what_an_admin_changed_meanwhile(aws):
    _staff(role=OPERATOR)
    stale = accounts.staff_get(username="alice")  # as a request's cached user
    accounts.staff_set_role(username="alice", role=VIEWER, actor="tests")
    accounts.staff_set_active(username="alice", active=False, actor="tests")
    stale.set_password("another long passphrase")
    stale.save()
    fresh = accounts.staff_get(username="alice")
    assert fresh.check_password("another long passphrase")
    assert fresh.role == VIEWER and not fresh.is_active


def test_an_unsafe_next_lands_on_the_overview(aws):
    _staff()
    for target in ("//evil.example", "https://evil.example/", "/\\evil.example"):
        response = Client().post(f"/admin/login/?next={target}", {"username": "alice", "password": STAFF_PASSWORD},
                                 REMOTE_ADDR="198.51.100.8")
        assert response.status_code == 302 and response["Location"] == "/admin/", target


def test_guessing_the_old_password_in_a_borrowed_session_is_throttled(aws):
    _staff()
    client = Client()
    _login(client)
    for _ in range(5):
        response = client.post("/admin/password_change/", {
            "old_password": "guess", "new_password1": "a much longer new passphrase",
            "new_password2": "a much longer new passphrase"})
    assert "Too many failed sign-ins for this username" in response.content.decode()
    response = client.post("/admin/password_change/", {
        "old_password": STAFF_PASSWORD, "new_password1": "a much longer new passphrase",
        "new_password2": "a much longer new passphrase"})
    assert response.status_code == 200  # locked: even the right one waits
    assert accounts.staff_get(username="alice").check_password(STAFF_PASSWORD)


def test_an_admin_password_reset_lifts_the_lock(aws):
    _staff()
    for n in range(5):
        _login(Client(), password="wrong", address=f"203.0.113.{n}")
    password = accounts.staff_set_password(username="alice", actor="tests")
    assert _login(Client(), password=password, address="203.0.113.50").status_code == 302


def test_the_enrolment_qr_code_scales_to_its_box(aws):
    from emailhub.staff.mfa import mfa_qr_svg

    svg = mfa_qr_svg(secret=pyotp.random_base32(), username="a" * 150)
    assert "viewBox" in svg and 'width="' not in svg.split(">")[0]


def test_view_on_site_needs_the_orm_and_is_gone(admin_client):
    assert admin_client.get("/admin/r/1/1/").status_code == 404
