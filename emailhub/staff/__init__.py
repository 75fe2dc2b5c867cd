"""Staff accounts without a relational database.

Users, their roles, their sessions and the login throttle live in the one
DynamoDB table. Django's own machinery runs on top unchanged: `authenticate()`,
`login()`, `logout()`, the admin's `admin_view` and password change, `has_perm`
and the `last_login` update all work on `StaffUser`, an unmanaged model whose
`save()` writes its DynamoDB item.

- roles.py ..... the roles, each a set of the dashboard's permissions
- accounts.py .. StaffUser and the services that create and change accounts
- backend.py ... the authentication backend (constant-cost for unknown names)
- sessions.py .. server-side sessions in DynamoDB (the cookie holds only a key)
- throttle.py .. failed-login counters per username and per client address
- mfa.py ....... optional TOTP second factor
"""
