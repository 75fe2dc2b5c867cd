"""The stage's secrets, read once per cold start from AWS Secrets Manager.

One secret per stage (EMAILHUB_SECRETS_ID, e.g. `emailhub-dev`) holds a JSON
object of setting names to values: DJANGO_SECRET_KEY. The
settings module calls this before Django's settings exist, so the region and
endpoint come as arguments, not from `django.conf.settings`.

Why not Zappa's `remote_env` (a JSON file on S3): Zappa reads it through a
boto3 S3 *resource*, the costliest client to build, which made 115–150 ms of
every cold start (measured when this changed); Secrets Manager's model is
small, the read reuses the shared session, and the store is made for secrets
(KMS, rotation, CloudTrail).
"""

import json

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured

from emailhub.aws.calls import call, error_code
from emailhub.aws.clients import new_client


def stage_secrets(secret_id, *, region, endpoint_url=None):
    """The secret's settings as a dict of strings. A secret that cannot be
    read or is not a JSON object of strings stops the start, naming it."""
    secretsmanager = new_client("secretsmanager", region=region, endpoint_url=endpoint_url)
    try:
        text = secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    except ClientError as err:
        raise ImproperlyConfigured(
            f"Cannot read the stage's secrets {secret_id!r} from AWS Secrets Manager ({error_code(err)}). "
            "Create it as README, Deploy says, and let the stage's role read it.") from err
    except BotoCoreError as err:
        raise ImproperlyConfigured(f"Cannot reach AWS Secrets Manager for {secret_id!r}: {err}") from err
    except KeyError:
        raise ImproperlyConfigured(f"The secret {secret_id!r} holds binary data, not a JSON object.") from None
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ImproperlyConfigured(
            f"The secret {secret_id!r} must be a JSON object of setting names to strings, "
            'e.g. {"DJANGO_SECRET_KEY": "..."}.')
    return values


def secret_ensure(secret_id):
    """For deployed stages' bootstrap: "exists", or "created" with a new random
    DJANGO_SECRET_KEY (the only secret a stage has, so nobody need type one)."""
    import secrets

    try:
        call("secretsmanager", "describe_secret", SecretId=secret_id)
        return "exists"
    except ClientError as err:
        if error_code(err) != "ResourceNotFoundException":
            raise
    call("secretsmanager", "create_secret", Name=secret_id,
         Description="Emailhub stage secrets (read once per cold start)",
         SecretString=json.dumps({"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}))
    return "created with a new random DJANGO_SECRET_KEY"
