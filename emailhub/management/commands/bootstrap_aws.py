from django.core.management.base import BaseCommand

from emailhub.bootstrap import aws_resources_ensure


class Command(BaseCommand):
    help = "Create the DynamoDB table, SQS queues, S3 bucket and SES resources (safe to run again)."

    def handle(self, *args, **options):
        for resource, outcome in aws_resources_ensure():
            style = self.style.SUCCESS if outcome == "created" else self.style.NOTICE
            self.stdout.write(f"{resource}: " + style(outcome))
