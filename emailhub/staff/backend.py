"""The authentication backend over the DynamoDB accounts."""

from django.contrib.auth.backends import BaseBackend

from emailhub.staff.accounts import StaffUser, staff_get, staff_get_cached


class StaffBackend(BaseBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = staff_get(username=username)
        if user is None:
            # Hash anyway: an unknown username costs what a wrong password
            # does, so timing cannot tell which names exist.
            StaffUser().set_password(password)
            return None
        if user.check_password(password) and user.is_active:
            return user
        return None

    def get_user(self, user_id):
        user = staff_get_cached(username=user_id)
        return user if user is not None and user.is_active else None
