#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emailhub.settings")
    from botocore.exceptions import EndpointConnectionError
    from django.core.management import execute_from_command_line

    from emailhub.errors import AwsUnavailable

    try:
        execute_from_command_line(sys.argv)
    except (AwsUnavailable, EndpointConnectionError) as err:
        # One line, not a traceback: the emulator (or AWS) is not there.
        from django.conf import settings

        from emailhub.local.state import unreachable_message

        sys.exit(unreachable_message(err, settings.AWS_ENDPOINT_URL))


if __name__ == "__main__":
    main()
