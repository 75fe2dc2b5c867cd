from django.apps import AppConfig


class EmailhubConfig(AppConfig):
    name = "emailhub"
    verbose_name = "Emailhub"
