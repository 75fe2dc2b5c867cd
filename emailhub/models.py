"""Django's models of this app: only the staff user, which Django's auth needs
as a model class but which lives in DynamoDB (emailhub/staff/accounts.py).
Emailhub has no relational database; its data model is emailhub/model.py."""

from emailhub.staff.accounts import StaffUser  # noqa: F401
