from django.contrib.admin.apps import AdminConfig
from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Emailhub dashboard"
    default_auto_field = "django.db.models.BigAutoField"


class DashboardAdminConfig(AdminConfig):
    """The Django admin, with Emailhub's site as `admin.site`."""

    default_site = "dashboard.site.EmailhubAdminSite"
