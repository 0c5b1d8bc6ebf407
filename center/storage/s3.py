"""Photos in an S3-compatible object store (boto3), shared by several hosts.

Object key ``<prefix><ab>/<sha256>.jpg``. A write sends ``Content-MD5`` and
``x-amz-checksum-sha256``, so a store that checks them (AWS, MinIO, Ceph)
refuses bytes damaged on the way (``BadDigest``); the answer's ETag (the MD5
of what the store received, for a single-part upload) is compared as well,
which also covers stores that skip the check (moto's server, used by the
tests, does), and a damaged object is deleted again.
Reads stream the body in chunks. Timeouts are short and retries few: when
the store is down the upload answers 503 at once and the kiosk's outbox
keeps the photo, instead of the request hanging on a dead endpoint.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

from center.storage.base import CHUNK, PhotoStore, StoreCorrupt, StoreUnavailable, check_key


def _unavailable(exc: Exception) -> StoreUnavailable:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return StoreUnavailable(f"s3 store: {type(exc).__name__}" + (f" {code}" if code else ""))


class S3Store(PhotoStore):
    name = "s3"

    def __init__(
        self,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        prefix: str = "photos/",
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        max_attempts: int = 2,
        create_bucket: bool = False,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        cfg = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path"},
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=cfg,
        )
        if create_bucket:
            self.ensure_bucket()

    @classmethod
    def from_conf(cls, conf: dict[str, Any]) -> S3Store:
        return cls(
            bucket=conf.get("bucket", ""),
            endpoint_url=conf.get("endpoint_url", ""),
            region=conf.get("region", "us-east-1"),
            access_key_id=conf.get("access_key_id", ""),
            secret_access_key=conf.get("secret_access_key", ""),
            prefix=conf.get("prefix", "photos/"),
            connect_timeout=float(conf.get("connect_timeout_s", 2.0)),
            read_timeout=float(conf.get("read_timeout_s", 10.0)),
            max_attempts=int(conf.get("max_attempts", 2)),
            create_bucket=bool(conf.get("create_bucket", False)),
        )

    def ensure_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def key(self, sha: str) -> str:
        check_key(sha)
        return f"{self.prefix}{sha[:2]}/{sha}.jpg"

    def put(self, data: bytes, sha: str | None = None) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        actual = hashlib.sha256(data).hexdigest()
        if sha is not None and check_key(sha) != actual:
            # not left to the server: S3 checks ChecksumSHA256, not every compatible store does
            raise StoreCorrupt(f"s3 put of {sha[:12]}: the bytes hash to something else")
        sha = actual
        md5 = hashlib.md5(data, usedforsecurity=False)
        try:
            resp = self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(sha),
                Body=data,
                ContentType="image/jpeg",
                ContentMD5=base64.b64encode(md5.digest()).decode(),
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode(),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"):
                raise StoreCorrupt(f"s3 refused the bytes of {sha[:12]}: {code}") from exc
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        etag = str(resp.get("ETag", "")).strip('"')
        if etag != md5.hexdigest():
            try:  # never leave damaged bytes under the key of good ones
                self.client.delete_object(Bucket=self.bucket, Key=self.key(sha))
            except (BotoCoreError, ClientError):
                pass
            raise StoreCorrupt(f"s3 ETag of {sha[:12]} does not match its MD5")
        return sha

    def size(self, sha: str) -> int | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return int(head["ContentLength"])

    def open_stream(self, sha: str, chunk: int = CHUNK) -> tuple[int, Iterator[bytes]]:
        """One GET: its ContentLength and its body, read in chunks."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.key(sha))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(sha) from exc
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        body = obj["Body"]

        def gen() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(chunk)
            finally:
                body.close()

        return int(obj["ContentLength"]), gen()

    def iter_chunks(self, sha: str, chunk: int = CHUNK) -> Iterator[bytes]:
        return self.open_stream(sha, chunk)[1]

    def delete(self, sha: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        existed = self.size(sha) is not None
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha))
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        return existed

    def keys(self) -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"].rsplit("/", 1)[-1]
                    if name.endswith(".jpg") and len(name) == 68:
                        yield name[:-4]
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def close(self) -> None:
        self.client.close()
