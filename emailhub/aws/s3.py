"""S3 through django-storages: large request payloads live here, not in the
DynamoDB item (400 KB limit) or an SQS message (256 KiB)."""

import os

from django.conf import settings
from storages.backends.s3 import S3Storage

from emailhub.aws.calls import call


def payload_storage():
    options = {
        "bucket_name": settings.EMAILHUB_PAYLOAD_BUCKET,
        "region_name": settings.AWS_REGION,
        "default_acl": None,
        "file_overwrite": True,
        "querystring_auth": False,
    }
    if settings.AWS_ENDPOINT_URL:
        options["endpoint_url"] = settings.AWS_ENDPOINT_URL
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            options["access_key"] = options["secret_key"] = "local"
    return S3Storage(**options)


def bucket_ensure(name, *, expire_days=None):
    """Create the bucket; False when it already existed. With `expire_days`,
    payloads expire then (set every time: PutBucketLifecycleConfiguration
    replaces the rules, so running it again is harmless)."""
    existing = {b["Name"] for b in call("s3", "list_buckets").get("Buckets", [])}
    if name not in existing:
        kwargs = {"Bucket": name}
        if settings.AWS_REGION != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.AWS_REGION}
        call("s3", "create_bucket", **kwargs)
    if expire_days:
        call("s3", "put_bucket_lifecycle_configuration", Bucket=name, LifecycleConfiguration={"Rules": [{
            "ID": "emailhub-payload-retention", "Status": "Enabled", "Filter": {"Prefix": "payloads/"},
            "Expiration": {"Days": expire_days},
        }]})
    return name not in existing
