"""S3 plumbing shared by the store, the uploader and the commands: URIs, settings, clients, errors.

Why one module: every S3 entry point (crawl, ``sync``, ``verify``, the benchmark) must build
its boto3 client the same way and turn botocore's exceptions into the same actionable
messages.  The client is configured *only* from the standard AWS environment and config
files (``AWS_ENDPOINT_URL``, credentials, profiles, region); newsarchive adds the S3
compatibility defaults described in ``client_config`` and nothing else.  Credentials are
never formatted into a message or a log line here.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from archive.store.base import StoreError

MiB = 1 << 20

# A bucket name as S3 (and the compatible servers) accept it; dots allowed, no uppercase.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
_TRUE = {"1", "true", "yes", "on"}


class StoreUnreachable(StoreError):
    """The endpoint did not answer (down, refused, timed out, 5xx/SlowDown after retries)."""


class TransientError(StoreUnreachable):
    """The endpoint was reached but the request failed (5xx, SlowDown, throttling, a dropped
    connection, a read timeout): worth retrying soon, unlike an endpoint nobody answers at."""


class BucketMissing(StoreError):
    """The bucket does not exist; the operator may pass --create-bucket."""


class CredentialsError(StoreError):
    """No credentials were found, or the endpoint rejected them."""


class AccessDenied(StoreError):
    """The credentials are valid but may not do this operation."""


class ObjectConflict(StoreError):
    """An object already exists under the key with different content; it is never replaced."""


class ObjectLockUnavailable(StoreError):
    """Object Lock was asked for but the bucket (or server) does not support it."""


class UploadAborted(StoreError):
    """The store is shutting down; the file stays in the spool."""


class VerificationFailed(StoreError):
    """What the server stored differs from the local file (the bad object was removed)."""


# Errors a later retry may cure without anyone changing anything.
TRANSIENT = (StoreUnreachable,)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; "" for the bucket root

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def object_key(self, key: str) -> str:
        """The full S3 key for a store-relative key."""
        return f"{self.prefix}/{key}" if self.prefix else key

    def store_key(self, object_key: str) -> str:
        """The store-relative key for a full S3 key (inverse of ``object_key``)."""
        if not self.prefix:
            return object_key
        return object_key[len(self.prefix) + 1:]


def parse_s3_uri(uri: str) -> S3Location:
    """``s3://bucket[/prefix]`` -> S3Location, or a StoreError that says what is wrong."""
    if not uri.startswith("s3://"):
        raise StoreError(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
    rest = uri[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise StoreError(f"S3 URI {uri!r} names no bucket (expected s3://bucket/prefix)")
    if "@" in bucket or ":" in bucket:
        raise StoreError(
            f"S3 URI {uri!r}: put the endpoint in AWS_ENDPOINT_URL and credentials in the AWS "
            "environment or a profile, not in the URI")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise StoreError(
            f"S3 URI {uri!r}: {bucket!r} is not a valid bucket name (3-63 characters: "
            "lowercase letters, digits, dots and hyphens)")
    prefix = prefix.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise StoreError(f"S3 URI {uri!r}: the prefix may not contain empty, '.' or '..' parts")
    return S3Location(bucket=bucket, prefix=prefix)


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in _TRUE


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise StoreError(f"{name}={value!r} is not an integer") from None


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise StoreError(f"{name}={value!r} is not a number") from None


@dataclass(frozen=True)
class S3Options:
    """newsarchive's own S3 knobs (AWS settings stay in the AWS environment).

    Every field has an environment variable so that cron jobs and the crawl command can
    set it without new flags; ``from_env`` reads them, keyword arguments override.
    """

    create_bucket: bool = False          # NEWSARCHIVE_S3_CREATE_BUCKET
    object_lock_days: int | None = None  # NEWSARCHIVE_OBJECT_LOCK_DAYS (WARC objects only)
    object_lock_mode: str = "governance"  # NEWSARCHIVE_OBJECT_LOCK_MODE: governance|compliance
    full_checksums: bool | None = None   # NEWSARCHIVE_S3_FULL_CHECKSUMS (None: AWS only)
    verify: str = "auto"                 # NEWSARCHIVE_S3_VERIFY: auto (checksum compare) | reread
    multipart_threshold: int = 64 * MiB  # NEWSARCHIVE_S3_MULTIPART_THRESHOLD_MB
    part_size: int = 16 * MiB            # NEWSARCHIVE_S3_PART_SIZE_MB (64 parts for 1 GB)
    concurrency: int = 8                 # NEWSARCHIVE_S3_CONCURRENCY: parts in flight
    file_workers: int = 2                # files uploaded at once
    close_timeout: float = 300.0         # NEWSARCHIVE_S3_CLOSE_TIMEOUT seconds close() waits
    connect_timeout: float = 10.0        # NEWSARCHIVE_S3_CONNECT_TIMEOUT seconds
    read_timeout: float = 60.0           # NEWSARCHIVE_S3_READ_TIMEOUT seconds per request
    max_backoff: float = 60.0            # longest pause between retries of one file

    def __post_init__(self) -> None:
        if self.object_lock_mode not in ("governance", "compliance"):
            raise StoreError(
                f"object lock mode {self.object_lock_mode!r}: use governance or compliance")
        if self.object_lock_days is not None and self.object_lock_days < 1:
            raise StoreError("object lock days must be 1 or more")
        if self.verify not in ("auto", "reread"):
            raise StoreError(f"S3 verify mode {self.verify!r}: use auto or reread")
        if self.part_size < 5 * MiB:
            raise StoreError("S3 part size must be at least 5 MB (the S3 minimum)")
        if self.concurrency < 1 or self.file_workers < 1:
            raise StoreError("S3 concurrency and file workers must be at least 1")

    def checksums_for(self, is_aws: bool) -> bool:
        """Whether to use S3 additional checksums (CRC32) rather than Content-MD5/ETag."""
        return is_aws if self.full_checksums is None else self.full_checksums

    @classmethod
    def from_env(cls, **overrides: Any) -> S3Options:
        values: dict[str, Any] = {
            "create_bucket": _env_flag("NEWSARCHIVE_S3_CREATE_BUCKET"),
            "object_lock_days": _env_int("NEWSARCHIVE_OBJECT_LOCK_DAYS", None),
            "object_lock_mode": (os.environ.get("NEWSARCHIVE_OBJECT_LOCK_MODE")
                                 or "governance").strip().lower(),
            "full_checksums": (None if not os.environ.get("NEWSARCHIVE_S3_FULL_CHECKSUMS")
                               else _env_flag("NEWSARCHIVE_S3_FULL_CHECKSUMS")),
            "verify": (os.environ.get("NEWSARCHIVE_S3_VERIFY") or "auto").strip().lower(),
            "multipart_threshold": (_env_int("NEWSARCHIVE_S3_MULTIPART_THRESHOLD_MB", 64)
                                    or 64) * MiB,
            "part_size": (_env_int("NEWSARCHIVE_S3_PART_SIZE_MB", 16) or 16) * MiB,
            "concurrency": _env_int("NEWSARCHIVE_S3_CONCURRENCY", 8) or 8,
            "close_timeout": _env_float("NEWSARCHIVE_S3_CLOSE_TIMEOUT", 300.0),
            "connect_timeout": _env_float("NEWSARCHIVE_S3_CONNECT_TIMEOUT", 10.0),
            "read_timeout": _env_float("NEWSARCHIVE_S3_READ_TIMEOUT", 60.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def is_aws_endpoint(endpoint_url: str) -> bool:
    host = (urlsplit(endpoint_url).hostname or "").lower()
    return host == "amazonaws.com" or host.endswith(_AWS_HOST_SUFFIXES)


def redact_url(url: str) -> str:
    """An endpoint URL without any user:password part, safe for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return parts._replace(netloc=host).geturl()


def quiet_sdk_loggers() -> None:
    """Keep botocore/urllib3 debug output (signed headers, request dumps) out of crawl logs.

    Scrapy at LOG_LEVEL=DEBUG sets the root logger to DEBUG, and botocore's debug lines
    include the Authorization header (with the access key id).  Its INFO lines only say where
    credentials and endpoints came from; warnings and errors still show.
    """
    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


@dataclass
class S3Client:
    """A configured boto3 S3 client and what we learnt about its endpoint.

    ``data_client`` sends object bodies (PutObject, UploadPart).  Every such request carries
    a Content-MD5 that the server checks, so it skips SigV4 payload signing, exactly as
    botocore itself does over HTTPS; over plain HTTP botocore would otherwise hash every
    body with SHA-256 a second time (and the server again), which costs ~15% of upload
    throughput on a small machine.  Everything else goes through ``client``.
    """

    client: Any
    endpoint_url: str  # redacted, for messages
    is_aws: bool
    data_client: Any = None

    def __post_init__(self) -> None:
        if self.data_client is None:
            self.data_client = self.client


def _explicit_setting(session: Any, name: str) -> bool:
    """Whether the operator set ``name`` in the environment or the active profile."""
    if os.environ.get(f"AWS_{name.upper()}"):
        return True
    try:
        return name in session.get_scoped_config()
    except Exception:  # a missing profile is reported when the client is built
        return False


def build_client(options: S3Options | None = None, *, connect_timeout: float | None = None,
                 read_timeout: float | None = None, max_attempts: int | None = None,
                 pool_size: int | None = None) -> S3Client:
    """A boto3 S3 client from the standard AWS environment, with S3-compatibility defaults.

    For endpoints that are not AWS, boto3 >= 1.36 would send CRC trailers and validate
    response checksums that several S3-compatible servers mishandle (one stored the trailer
    bytes inside the object), so we use ``when_required`` unless the operator asked for full
    checksums (``NEWSARCHIVE_S3_FULL_CHECKSUMS=1``) or set the AWS variables themselves.
    Integrity does not suffer: every upload request carries a Content-MD5 and the result is
    verified after upload (see ``archive.store.s3.uploader``).
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    options = options or S3Options.from_env()
    quiet_sdk_loggers()
    try:
        session = boto3.session.Session()
        probe = session.client("s3")  # resolves AWS_ENDPOINT_URL(_S3), profile endpoint_url
    except ProfileNotFound as exc:
        raise CredentialsError(
            f"AWS profile {exc.kwargs.get('profile')!r} does not exist: fix AWS_PROFILE or "
            "~/.aws/config") from None
    except BotoCoreError as exc:
        raise StoreError(f"cannot configure the S3 client: {exc}") from None
    endpoint_url = probe.meta.endpoint_url
    aws = is_aws_endpoint(endpoint_url)

    config_kwargs: dict[str, Any] = {
        "connect_timeout": connect_timeout or options.connect_timeout,
        "read_timeout": read_timeout or options.read_timeout,
        "max_pool_connections": pool_size or max(10, options.concurrency + options.file_workers),
        "tcp_keepalive": True,
    }
    retries: dict[str, Any] = {}
    if not _explicit_setting(session, "retry_mode"):
        retries["mode"] = "standard"
    if max_attempts is not None:
        retries["total_max_attempts"] = max_attempts
    elif not _explicit_setting(session, "max_attempts"):
        retries["total_max_attempts"] = 5
    if retries:
        config_kwargs["retries"] = retries
    wanted = "when_supported" if options.checksums_for(aws) else "when_required"
    for name in ("request_checksum_calculation", "response_checksum_validation"):
        # NEWSARCHIVE_S3_FULL_CHECKSUMS decides when set; otherwise the AWS settings do.
        if options.full_checksums is not None or not _explicit_setting(session, name):
            config_kwargs[name] = wanted
    client = session.client("s3", config=Config(**config_kwargs))
    data_client = session.client("s3", config=Config(
        **config_kwargs, s3={"payload_signing_enabled": False}))
    return S3Client(client=client, endpoint_url=redact_url(endpoint_url), is_aws=aws,
                    data_client=data_client)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                     "ExpiredToken", "TokenRefreshRequired", "InvalidSecurity",
                     "AuthorizationHeaderMalformed"}
_TRANSIENT_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
                    "RequestTimeTooSkewed", "Throttling", "ThrottlingException",
                    "TooManyRequests", "RequestLimitExceeded", "OperationAborted"}


def translate_error(exc: BaseException, *, what: str, bucket: str,
                    endpoint_url: str = "") -> StoreError:
    """A botocore exception -> a StoreError subclass whose message says what to do next.

    ``what`` names the operation and object ("upload s3://b/k"); messages carry no
    credentials, only the names of the variables that hold them.
    """
    from botocore.exceptions import (
        ClientError,
        HTTPClientError,
        IncompleteReadError,
        NoCredentialsError,
        PartialCredentialsError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError

    where = f" at {endpoint_url}" if endpoint_url else ""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CredentialsError(
            f"{what}: no usable AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ~/.aws/credentials")
    if isinstance(exc, BotoConnectionError):
        return StoreUnreachable(
            f"{what}: cannot reach the S3 endpoint{where} ({type(exc).__name__}); check "
            "AWS_ENDPOINT_URL and the network (files stay in the local spool until "
            "`newsarchive sync` or the next crawl uploads them)")
    if isinstance(exc, HTTPClientError | IncompleteReadError):
        return TransientError(
            f"{what}: the S3 endpoint{where} stopped answering ({type(exc).__name__})")
    if isinstance(exc, ClientError):
        code, status = error_code(exc), http_status(exc)
        if code in ("NoSuchBucket",) or (status == 404 and code in ("404", "NotFound", "")
                                         and what.startswith("check bucket")):
            return BucketMissing(
                f"{what}: bucket {bucket!r} does not exist{where}; create it, or pass "
                "--create-bucket (NEWSARCHIVE_S3_CREATE_BUCKET=1)")
        if code in _CREDENTIAL_CODES:
            return CredentialsError(
                f"{what}: the endpoint{where} rejected the credentials ({code}); check "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS_PROFILE in use")
        if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
            return AccessDenied(
                f"{what}: access denied ({code or status}); the identity needs s3:ListBucket, "
                f"s3:GetObject and s3:PutObject on bucket {bucket!r}")
        if code in _TRANSIENT_CODES or status >= 500 or status == 429:
            return TransientError(f"{what}: the S3 endpoint{where} answered {code or status}; "
                                    "will retry")
        if code in ("InvalidBucketName",):
            return StoreError(f"{what}: {bucket!r} is not a valid bucket name for this endpoint")
        return StoreError(f"{what}: S3 error {code or status}: "
                          f"{exc.response.get('Error', {}).get('Message', '')}".rstrip(": "))
    if isinstance(exc, OSError):
        return StoreUnreachable(f"{what}: network error talking to the S3 endpoint{where}: "
                                f"{type(exc).__name__}")
    return StoreError(f"{what}: {type(exc).__name__}: {exc}")
