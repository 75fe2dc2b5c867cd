import gc

from django.apps import AppConfig


class EmailhubConfig(AppConfig):
    name = "emailhub"
    verbose_name = "Emailhub"

    def ready(self):
        # What is loaded by now (Django, the apps, boto3, pydantic) lives as
        # long as the process. Frozen, the garbage collector stops walking it
        # on every full collection: on a Lambda cold start the first request's
        # AWS clients and schemas otherwise set off full collections over ~90k
        # long-lived objects (~65 ms of benchmarks/cold_start.py). Nothing is
        # lost: a full collection here finds about 5 unreachable objects, and
        # a collection at this point would itself cost those 65 ms.
        gc.freeze()
