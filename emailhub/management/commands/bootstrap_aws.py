from django.core.management.base import BaseCommand, CommandError
from django.core.exceptions import ImproperlyConfigured

from emailhub.bootstrap import aws_resources_ensure


class Command(BaseCommand):
    help = "Create the DynamoDB table, SQS queues, S3 bucket and SES resources (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stage", help="create a deployed stage's resources (names from zappa_settings.json) in real AWS, "
                            "with your own AWS credentials")
        parser.add_argument("--endpoint-url", help="with --stage: an emulator instead of real AWS")

    def handle(self, *args, stage=None, endpoint_url=None, **options):
        if not stage:
            return self._report(aws_resources_ensure())
        from emailhub.stages import stage_settings

        try:
            with stage_settings(stage, endpoint_url=endpoint_url) as config:
                self.stdout.write(f"Stage {stage}: {config.get('aws_region')} "
                                  f"{'(' + endpoint_url + ')' if endpoint_url else '(AWS)'}")
                self._report(aws_resources_ensure())
        except ImproperlyConfigured as err:
            raise CommandError(str(err)) from err

    def _report(self, results):
        for resource, outcome in results:
            style = (self.style.SUCCESS if outcome == "created"
                     else self.style.WARNING if outcome.startswith("missing") else self.style.NOTICE)
            self.stdout.write(f"{resource}: " + style(outcome))
