from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self):
        from tracking import receivers  # noqa: F401  (connects the signal receiver)
