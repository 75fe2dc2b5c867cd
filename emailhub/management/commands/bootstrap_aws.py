from django.core.management.base import BaseCommand, CommandError
from django.core.exceptions import ImproperlyConfigured

from emailhub.bootstrap import aws_resources_ensure, event_sources_complete, stage_alarms_ensure
from emailhub.errors import EmailhubError


class Command(BaseCommand):
    help = "Create the DynamoDB table, SQS queues, S3 bucket and SES resources (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stage", help="create a deployed stage's resources (names from zappa_settings.json) in real AWS, "
                            "with your own AWS credentials; and its CloudWatch alarms")
        parser.add_argument("--endpoint-url", help="with --stage: an emulator instead of real AWS")
        parser.add_argument(
            "--after-deploy", action="store_true",
            help="with --stage, after each `zappa deploy|update`: set what Zappa cannot on the stage's SQS "
                 "event sources (partial batch responses, maximum concurrency)")

    def handle(self, *args, stage=None, endpoint_url=None, after_deploy=False, **options):
        if after_deploy and not stage:
            raise CommandError("--after-deploy needs --stage")
        if not stage:
            return self._report(aws_resources_ensure())
        from emailhub.stages import stage_settings

        try:
            with stage_settings(stage, endpoint_url=endpoint_url) as config:
                self.stdout.write(f"Stage {stage}: {config.get('aws_region')} "
                                  f"{'(' + endpoint_url + ')' if endpoint_url else '(AWS)'}")
                if after_deploy:
                    results = event_sources_complete(stage, config)
                    self._report(results)
                    if any(outcome.startswith("missing") for _, outcome in results):
                        raise CommandError("Some event sources are missing: deploy the stage first.")
                    return
                self._report(aws_resources_ensure())
                self._report(stage_alarms_ensure(stage, config))
        except (ImproperlyConfigured, EmailhubError) as err:
            raise CommandError(str(err)) from err

    def _report(self, results):
        for resource, outcome in results:
            style = (self.style.SUCCESS if outcome == "created"
                     else self.style.WARNING if outcome.startswith("missing") else self.style.NOTICE)
            self.stdout.write(f"{resource}: " + style(outcome))
