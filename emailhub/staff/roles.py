"""Roles are defined here, in code: each is a set of the dashboard's permissions.

viewer   every page, no action
operator + resend, discard, DLQ tidy, the suppression list, webhook replays, resume paused sending
admin    + API keys, SES identities, staff accounts, webhook endpoints
"""

from django.conf import settings

RESEND = "dashboard.resend_email"
MANAGE_SUPPRESSION = "dashboard.manage_suppression"
MANAGE_KEYS = "dashboard.manage_api_keys"
MANAGE_IDENTITIES = "dashboard.manage_identities"
MANAGE_STAFF = "dashboard.manage_staff"
MANAGE_WEBHOOKS = "dashboard.manage_webhooks"
REPLAY_WEBHOOKS = "dashboard.replay_webhooks"
RESUME_SENDING = "dashboard.resume_sending"

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"

_OPERATOR_PERMISSIONS = frozenset({RESEND, MANAGE_SUPPRESSION, REPLAY_WEBHOOKS, RESUME_SENDING})
ROLES = {
    VIEWER: frozenset(),
    OPERATOR: _OPERATOR_PERMISSIONS,
    ADMIN: _OPERATOR_PERMISSIONS | {MANAGE_KEYS, MANAGE_IDENTITIES, MANAGE_STAFF, MANAGE_WEBHOOKS},
}
ROLE_CHOICES = [
    (VIEWER, "viewer: every page, no action"),
    (OPERATOR, "operator: + resend, discard, DLQ tidy, suppression list, webhook replays, resume sending"),
    (ADMIN, "admin: + API keys, identities, staff, webhook endpoints"),
]


def mfa_required(user):
    """Must this user have a second factor? Admins, when EMAILHUB_REQUIRE_MFA is on."""
    return settings.EMAILHUB_REQUIRE_MFA and user.is_authenticated and user.role == ADMIN


def role_permissions(role):
    return ROLES.get(role, frozenset())
