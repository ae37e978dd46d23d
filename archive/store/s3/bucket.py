"""Is the bucket ready? Head it, create it when asked, check Object Lock when it is needed.

Run once per store before the first upload (and by ``sync``/``verify``), so a missing
bucket, bad credentials or a bucket without Object Lock give one clear error that says
what to do, instead of a failed upload per object.
"""

from __future__ import annotations

import logging

from archive.store.s3.config import (
    AccessDenied,
    BucketMissing,
    ObjectLockUnavailable,
    S3Client,
    S3Location,
    S3Options,
    error_code,
    http_status,
    translate_error,
)

logger = logging.getLogger(__name__)


def _what(location: S3Location, action: str) -> str:
    return f"{action} {location.uri}"


def check_bucket(s3: S3Client, location: S3Location, options: S3Options) -> None:
    """Head the bucket (creating it when asked) and check Object Lock when it is needed."""
    from botocore.exceptions import ClientError

    bucket = location.bucket
    try:
        s3.client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        status = http_status(exc)
        if status == 404 or error_code(exc) in ("NoSuchBucket", "404", "NotFound"):
            if not options.create_bucket:
                raise BucketMissing(
                    f"bucket {bucket!r} does not exist at {s3.endpoint_url}; create it or "
                    "pass --create-bucket (NEWSARCHIVE_S3_CREATE_BUCKET=1)") from None
            _create_bucket(s3, location, options)
        elif status in (400, 403):
            # HEAD answers carry no error code: ask a GET to say why.
            _explain_forbidden(s3, location)
            raise AccessDenied(f"{_what(location, 'check bucket')}: access denied") from None
        else:
            raise translate_error(exc, what=_what(location, "check bucket"), bucket=bucket,
                                  endpoint_url=s3.endpoint_url) from None
    except Exception as exc:
        raise translate_error(exc, what=_what(location, "check bucket"), bucket=bucket,
                              endpoint_url=s3.endpoint_url) from None
    if options.object_lock_days:
        _check_object_lock(s3, location)

def _explain_forbidden(s3: S3Client, location: S3Location) -> None:
    try:
        s3.client.list_objects_v2(Bucket=location.bucket, MaxKeys=1)
    except Exception as exc:
        raise translate_error(exc, what=_what(location, "check bucket"),
                              bucket=location.bucket,
                              endpoint_url=s3.endpoint_url) from None

def _create_bucket(s3: S3Client, location: S3Location, options: S3Options) -> None:
    args: dict = {"Bucket": location.bucket}
    region = s3.client.meta.region_name
    if s3.is_aws and region and region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if options.object_lock_days:
        args["ObjectLockEnabledForBucket"] = True
    try:
        s3.client.create_bucket(**args)
    except Exception as exc:
        if error_code(exc) in ("BucketAlreadyOwnedByYou",):
            return
        raise translate_error(exc, what=_what(location, "create bucket"),
                              bucket=location.bucket,
                              endpoint_url=s3.endpoint_url) from None
    logger.info("created bucket %s%s", location.bucket,
                " with Object Lock" if options.object_lock_days else "")

def _check_object_lock(s3: S3Client, location: S3Location) -> None:
    try:
        config = s3.client.get_object_lock_configuration(Bucket=location.bucket)
        enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
    except Exception as exc:
        code = error_code(exc)
        if code in ("ObjectLockConfigurationNotFoundError", "NotImplemented",
                    "InvalidRequest") or http_status(exc) in (404, 501):
            enabled = None
        else:
            raise translate_error(exc, what=_what(location, "check Object Lock"),
                                  bucket=location.bucket,
                                  endpoint_url=s3.endpoint_url) from None
    if enabled != "Enabled":
        raise ObjectLockUnavailable(
            f"--object-lock-days was given but bucket {location.bucket!r} has no "
            "Object Lock; Object Lock can only be enabled when a bucket is created "
            "(use a new bucket with --create-bucket --object-lock-days N, or drop the "
            "option)")
