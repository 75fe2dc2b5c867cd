"""S3 through django-storages: large request payloads live here, not in the
DynamoDB item (400 KB limit) or an SQS message (256 KiB). In production the
admin's static files live in a bucket of their own."""

import json
import os

from botocore.exceptions import ClientError
from django.conf import settings
from storages.backends.s3 import S3Storage

from emailhub.aws.calls import call, error_code


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


def bucket_ensure_for(name, *, public_prefix=None):
    """Create the bucket; with `public_prefix`, let anyone read the objects
    under it (the admin's CSS and JavaScript), and nothing else.
    Returns "created", "updated" or "exists"."""
    created = bucket_ensure(name)
    if not public_prefix:
        return "created" if created else "exists"
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicReadStaticFiles", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/{public_prefix}*",
    }]}
    try:
        current = json.loads(call("s3", "get_bucket_policy", Bucket=name)["Policy"])
    except ClientError as err:
        if error_code(err) != "NoSuchBucketPolicy":
            raise
        current = None
    if current == policy:
        return "created" if created else "exists"
    # Block public ACLs but allow this one public bucket policy.
    call("s3", "put_public_access_block", Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": False, "RestrictPublicBuckets": False,
    })
    call("s3", "put_bucket_policy", Bucket=name, Policy=json.dumps(policy))
    return "created" if created else "updated"
