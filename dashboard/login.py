"""The admin's sign-in form, with the login throttle and the second factor.

An attempt is reserved against the username and the address before the
password is checked, so a locked (or spent) username or address costs no
hashing, learns nothing, and parallel guesses cannot outrun the count. Every
refusal (wrong password, unknown username, wrong or missing code) reads the same.
"""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.core.exceptions import ValidationError

from emailhub.audit import audit_record
from emailhub.staff import throttle
from emailhub.staff.accounts import username_normalize
from emailhub.staff.mfa import mfa_verify

REFUSED = ("Please enter the correct username and password (and the code from your authenticator "
           "app if you use one). Passwords are case-sensitive.")


class LoginForm(AdminAuthenticationForm):
    error_messages = {**AdminAuthenticationForm.error_messages, "invalid_login": REFUSED}
    # A password hasher fed megabytes is a denial of service; no real one is this long.
    password = forms.CharField(strip=False, max_length=1024, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))
    code = forms.CharField(required=False, max_length=12, label="Authenticator code (if you use one)",
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))

    def clean_username(self):
        # AuthenticationForm sets max_length after building the field, so it is
        # never checked; a longer name cannot exist, and must not become a key.
        username = self.cleaned_data["username"]
        if len(username) > 150:
            raise ValidationError("No username is that long.", code="max_length")
        return username

    def clean(self):
        if not (self.cleaned_data.get("username") and self.cleaned_data.get("password")):
            return self.cleaned_data  # the field errors say what is missing
        username = username_normalize(self.cleaned_data["username"])
        address = throttle.client_address(self.request)
        try:
            throttle.login_attempt_begin(username=username, address=address)
        except throttle.Locked as locked:
            raise ValidationError(locked.lock.message, code="locked") from None
        try:
            super().clean()  # authenticate() and the admin's active-staff check
            self._second_factor()
        except ValidationError:
            self._failed(username, address)
            raise
        throttle.login_attempt_succeeded(username=username, address=address)
        audit_record(actor=username, action="login", target=username, outcome=f"signed in from {address}")
        return self.cleaned_data

    def _second_factor(self):
        user = self.get_user()
        if user.mfa_enabled and not mfa_verify(user=user, code=self.cleaned_data.get("code")):
            self.user_cache = None
            raise self.get_invalid_login_error()

    def _failed(self, username, address):
        lock = throttle.login_attempt_failed(username=username, address=address)
        if lock:
            target = f"username {username}" if lock.kind == "user" else f"address {address}"
            audit_record(actor=f"sign-in from {address}", action="login.locked", target=target,
                         outcome=f"locked for {lock.minutes} minute(s) after repeated failed sign-ins")
            raise ValidationError(lock.message, code="locked")


class PasswordChangeForm(AdminPasswordChangeForm):
    """The admin's password change, with the old password's check throttled
    like a sign-in: a borrowed session cannot guess its way to the password."""

    def clean_old_password(self):
        def right():
            try:
                super(PasswordChangeForm, self).clean_old_password()
            except ValidationError:
                return False
            return True

        try:
            if throttle.guarded(right, username=self.user.get_username()):
                return self.cleaned_data["old_password"]
        except throttle.Locked as locked:
            raise ValidationError(locked.lock.message, code="locked") from None
        raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
