"""Staff accounts: `StaffUser` and the services that create and change them.

An account is one DynamoDB item (pk=STAFF#<username>, sk=STAFF) listed through
the feed index (feed=STAFF). `StaffUser` is an unmanaged Django model, so that
Django's auth machinery accepts it as AUTH_USER_MODEL; nothing ever reaches the
ORM: `save()` writes the item, and loading goes through `staff_get`.

`session_generation` is mixed into the session auth hash: bumping it (a
deactivation, a password reset by an admin, turning off a second factor) ends
every session the user has, on their next request, wherever it was opened. A
role change needs no such thing: permissions are read from the account on
every request.

Every change is audited here, so the dashboard and manage.py record alike.
"""

import re
import secrets
import threading
import time

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.crypto import salted_hmac

from emailhub import model
from emailhub.audit import audit_record
from emailhub.aws import dynamodb
from emailhub.errors import ConditionFailed, EmailhubError
from emailhub.staff import roles
from emailhub.staff.throttle import login_unlock

FEED = "STAFF"
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.@+-]{0,149}$")
# Names the audit trail uses for actors that are not staff.
RESERVED_USERNAMES = {"manage.py", "tests", "benchmark"}


class StaffError(EmailhubError):
    """A staff change that cannot be made; `code` says why."""


class StaffUser(AbstractBaseUser):
    username = models.CharField(max_length=150, primary_key=True)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=20, choices=roles.ROLE_CHOICES, default=roles.VIEWER)
    is_active = models.BooleanField(default=True)
    session_generation = models.IntegerField(default=0)
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_last_step = models.BigIntegerField(default=0)
    created_at = models.CharField(max_length=32, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    changed_at = models.CharField(max_length=32, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        managed = False
        app_label = "emailhub"
        default_permissions = ()

    # Every account is a dashboard account; what it may do is its role.
    is_staff = True
    is_superuser = False

    def get_all_permissions(self, obj=None):
        return set(roles.role_permissions(self.role)) if self.is_active else set()

    def has_perm(self, perm, obj=None):
        return perm in self.get_all_permissions()

    def has_perms(self, perm_list, obj=None):
        return all(self.has_perm(perm) for perm in perm_list)

    def has_module_perms(self, app_label):
        return self.is_active

    @property
    def mfa_enabled(self):
        return bool(self.totp_secret)

    def _get_session_auth_hash(self, secret=None):
        key_salt = "emailhub.staff.StaffUser.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def save(self, *args, update_fields=None, **kwargs):
        """Write to the account's item, never creating one. Django saves a user
        only for `last_login` and after a password change; a plain save()
        therefore writes the password alone, so that an object read a few
        seconds ago (the request's cached user) never puts back a role or an
        active flag that an admin has changed since. Account changes go through
        the services below."""
        fields = update_fields or ("password",)
        _update(self.username, {name: _to_item(getattr(self, name)) for name in fields})
        _cache_forget(self.username)
        if self._password is not None:
            password_validation.password_changed(self._password, self)
            self._password = None


def _to_item(value):
    return model.iso(value) if hasattr(value, "tzinfo") else value


def _key(username):
    return f"STAFF#{username}", "STAFF"


def _set(values, end_sessions):
    """An update expression setting `values` (and bumping the session
    generation when `end_sessions`): (expression, names, values)."""
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
    placeholders = {f":{name}": value for name, value in values.items()}
    if end_sessions:
        expression += " ADD session_generation :one"
        placeholders[":one"] = 1
    return expression, {f"#{name}": name for name in values}, placeholders


def _update(username, values, *, end_sessions=False):
    """Update an existing account; ConditionFailed when there is none."""
    expression, names, placeholders = _set(values, end_sessions)
    return dynamodb.update(*_key(username), expression=expression, names=names, values=placeholders,
                           condition="attribute_exists(pk)")


def _update_args(username, values, *, end_sessions=False):
    """The same update, as one write of a transaction."""
    expression, names, placeholders = _set(values, end_sessions)
    return dynamodb.update_args(*_key(username), expression=expression, names=names, values=placeholders,
                                condition="attribute_exists(pk)")


def _from_item(item):
    user = StaffUser(
        username=item["username"], email=item.get("email", ""), role=item.get("role", roles.VIEWER),
        is_active=item.get("is_active", False), session_generation=item.get("session_generation", 0),
        totp_secret=item.get("totp_secret", ""), totp_last_step=item.get("totp_last_step", 0),
        created_at=item.get("created_at", ""), created_by=item.get("created_by", ""),
        changed_at=item.get("changed_at", ""), changed_by=item.get("changed_by", ""),
        password=item.get("password", ""),
    )
    user.last_login = model.parse_iso(item["last_login"]) if item.get("last_login") else None
    return user


def username_normalize(username):
    return (username or "").strip().lower()


def password_generate():
    return secrets.token_urlsafe(15)


# --- reading ---------------------------------------------------------------

def staff_get(*, username):
    """The account, or None; always a fresh, consistent read."""
    username = username_normalize(username)
    if not USERNAME_PATTERN.match(username):
        return None
    item = dynamodb.get(*_key(username))
    return _from_item(item) if item else None


_cache = {}
_cache_lock = threading.Lock()


def staff_get_cached(*, username):
    """`staff_get` cached per process for EMAILHUB_STAFF_CACHE_SECONDS: every
    dashboard request loads its user, and a change made in another process (a
    deactivation, a role change) must still show within those few seconds."""
    entry = _cache.get(username)
    if entry and entry[0] > time.monotonic():
        return entry[1]
    user = staff_get(username=username)
    with _cache_lock:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[username] = (time.monotonic() + settings.EMAILHUB_STAFF_CACHE_SECONDS, user)
    return user


def _cache_forget(username):
    with _cache_lock:
        _cache.pop(username, None)


def cache_clear():
    with _cache_lock:
        _cache.clear()


def staff_list():
    """Every account, oldest first (a handful: one Query and one batch read)."""
    entries, start = [], None
    while True:
        page, start = dynamodb.query(index=model.FEED_INDEX, key_condition="feed = :feed",
                                     values={":feed": FEED}, start_key=start, newest_first=False)
        entries.extend(page)
        if not start:
            break
    found = dynamodb.batch_get([(entry["pk"], entry["sk"]) for entry in entries])
    return [_from_item(found[entry["pk"]]) for entry in entries if entry["pk"] in found]


# --- changing ----------------------------------------------------------------

def _validate_password(password, user):
    try:
        password_validation.validate_password(password, user)
    except ValidationError as err:
        raise StaffError(" ".join(err.messages), code="weak_password") from err


def _require_role(role):
    if role not in roles.ROLES:
        raise StaffError(f"Unknown role {role!r}: choose one of {', '.join(roles.ROLES)}.", code="invalid_role")


def staff_create(*, username, role, actor, email="", password=None):
    """Create an account; returns (StaffUser, the generated password or None).
    A generated password is not stored anywhere in clear: show it once."""
    username = username_normalize(username)
    if not USERNAME_PATTERN.match(username) or username in RESERVED_USERNAMES:
        raise StaffError("A username is 1 to 150 characters: lowercase letters, digits and _ . @ + -, "
                         f"starting with a letter or digit (and not one of {', '.join(sorted(RESERVED_USERNAMES))}).",
                         code="invalid_username")
    _require_role(role)
    generated = None if password else password_generate()
    user = StaffUser(username=username, email=email, role=role)
    if password:
        _validate_password(password, user)
    user.set_password(password or generated)
    moment = model.iso(model.now())
    item = {
        "pk": _key(username)[0], "sk": "STAFF", "feed": FEED, "created_at": moment, "username": username,
        "email": email, "role": role, "is_active": True, "password": user.password, "session_generation": 0,
        "created_by": actor, "changed_at": moment, "changed_by": actor,
        "summary": {"username": username, "role": role},
    }
    try:
        dynamodb.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed as err:
        raise StaffError(f"A staff user named {username!r} already exists.", code="staff_exists") from err
    audit_record(actor=actor, action="staff.create", target=username, outcome=f"created with role {role}")
    return _from_item(item), generated


def _change(username, values, *, actor, action, outcome, end_sessions=False, keeping_an_admin=None):
    """Apply a change to an existing account and audit it. `keeping_an_admin`
    (what the change would do, in words) makes it one transaction with a check
    that another admin is still active, so that concurrent changes can never
    leave nobody able to manage staff."""
    values = {**values, "changed_at": model.iso(model.now()), "changed_by": actor}
    if keeping_an_admin:
        _change_keeping_an_admin(username, values, losing=keeping_an_admin, end_sessions=end_sessions)
        user = _existing(username)  # a transaction returns nothing: read what it wrote
    else:
        try:
            user = _from_item(_update(username, values, end_sessions=end_sessions))
        except ConditionFailed as err:
            raise StaffError(f"No staff user named {username!r}.", code="not_found") from err
    _cache_forget(username)
    audit_record(actor=actor, action=action, target=username, outcome=outcome)
    return user


def _change_keeping_an_admin(username, values, *, losing, end_sessions, tries=3):
    for _ in range(tries):
        others = [u for u in staff_list() if u.is_active and u.role == roles.ADMIN and u.username != username]
        if not others:
            break
        check = dynamodb.condition_args(*_key(others[0].username), condition="is_active = :yes AND #role = :admin",
                                        names={"#role": "role"}, values={":yes": True, ":admin": roles.ADMIN})
        try:
            dynamodb.transact([("Update", _update_args(username, values, end_sessions=end_sessions)),
                               ("ConditionCheck", check)])
            return
        except ConditionFailed as err:
            if 0 in err.failed_indexes:
                raise StaffError(f"No staff user named {username!r}.", code="not_found") from err
            # that admin changed meanwhile: look again
    raise StaffError(f"{username} is the only active admin; {losing} would leave nobody able to "
                     "manage staff. Make another admin first.", code="last_admin")


def _existing(username):
    user = staff_get(username=username)
    if user is None:
        raise StaffError(f"No staff user named {username!r}.", code="not_found")
    return user


def _is_active_admin(user):
    return user.is_active and user.role == roles.ADMIN


def staff_set_role(*, username, role, actor):
    _require_role(role)
    user = _existing(username)
    if role == user.role:
        return user
    guard = "changing the role" if _is_active_admin(user) and role != roles.ADMIN else None
    return _change(user.username, {"role": role}, actor=actor, action="staff.role",
                   outcome=f"role {user.role} -> {role}", keeping_an_admin=guard)


def staff_set_active(*, username, active, actor):
    """Deactivate (every session ends) or reactivate (sessions opened before the
    deactivation stay ended)."""
    user = _existing(username)
    if user.is_active == active:
        return user
    guard = "deactivating them" if _is_active_admin(user) and not active else None
    return _change(user.username, {"is_active": active}, actor=actor, end_sessions=True,
                   action="staff.activate" if active else "staff.deactivate",
                   outcome="reactivated" if active else "deactivated; every session ended", keeping_an_admin=guard)


def staff_set_password(*, username, actor, password=None):
    """Set (or generate) a password; every session of the user ends. Returns
    the generated password, or None when one was given."""
    user = _existing(username)
    generated = None if password else password_generate()
    if password:
        _validate_password(password, user)
    user.set_password(password or generated)
    _change(user.username, {"password": user.password}, actor=actor, end_sessions=True,
            action="staff.password", outcome="password reset; every session ended; sign-in unlocked")
    login_unlock(username=user.username)  # what the locked-out user asked an admin for
    return generated


def staff_unlock(*, username, actor):
    """Lift the sign-in lock on a username (after too many failed sign-ins)."""
    user = _existing(username)
    login_unlock(username=user.username)
    audit_record(actor=actor, action="staff.unlock", target=user.username, outcome="sign-in unlocked")


def staff_mfa_reset(*, username, actor):
    """Turn off a user's second factor (a lost phone); they enrol again."""
    user = _existing(username)
    return _change(user.username, {"totp_secret": "", "totp_last_step": 0}, actor=actor, end_sessions=True,
                   action="staff.mfa_reset", outcome="two-factor turned off; every session ended")


def staff_mfa_set(*, username, secret, step):
    """Store a confirmed second factor (`step`: the time step of the code that confirmed it)."""
    _update(username, {"totp_secret": secret, "totp_last_step": step})
    _cache_forget(username)


def staff_mfa_use_step(*, username, step):
    """Record a TOTP time step as used; False when it (or a later one) already was."""
    try:
        dynamodb.update(*_key(username), expression="SET totp_last_step = :step",
                        condition="totp_last_step < :step", values={":step": step})
    except ConditionFailed:
        return False
    _cache_forget(username)
    return True
