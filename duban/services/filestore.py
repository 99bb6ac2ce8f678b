"""Where attachments' bytes live: outside the database, behind one small interface.

A file is stored under its SHA-256 (hex) as key: the same scan attached twice is kept once, a key
names exactly one content, and what comes back is checked against the key before anyone gets it
(a file changed in the store is refused, never served). Two stores:

- `LocalStore`: a folder (default `<data dir>/files`), 0700, files 0600 (duban/files.py), written
  beside their place and linked in, so a reader never sees half a file;
- `S3Store`: an S3-compatible object store (MinIO, Ceph RGW, a cloud's) through boto3, for
  production; credentials come from boto3's usual sources (AWS_ACCESS_KEY_ID… in the environment,
  a profile, an instance role), never from Duban's settings or the repository.

`store_for(settings)` picks one by DUBAN_FILE_STORE (`local` or `s3`).
A stored file nobody refers to (an action that failed after its file was put) is harmless: its
key is its content, and nothing shows it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Protocol

from duban.config.settings import Settings, get_settings
from duban.errors import FileExists, StoredFileLost
from duban.files import private_dir, write_private

_KEY = re.compile(r"[0-9a-f]{64}")


def key_of(content: bytes) -> str:
    """The store key of `content`: its SHA-256 in hex."""
    return hashlib.sha256(content).hexdigest()


def _checked_key(key: str) -> str:
    if not _KEY.fullmatch(key):  # never a path: no "..", no "/"
        raise ValueError("a file store key is a SHA-256 in lower-case hex")
    return key


def _verified(key: str, content: bytes) -> bytes:
    if key_of(content) != key:
        raise StoredFileLost(key, "changed in the store")
    return content


class FileStore(Protocol):
    """put / get / delete by content hash."""

    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


class LocalStore:
    """Files in a folder of the data dir, two levels of fan-out (`ab/abcdef…`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked_key(key)[:2] / key

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        if key_of(content) != key:
            raise ValueError("content does not match its key")
        if path.exists():
            return
        private_dir(self.root, tighten=True)
        private_dir(path.parent)
        try:
            write_private(path, lambda tmp: tmp.write_bytes(content))
        except FileExists:  # the same content, put at the same moment by another writer
            pass

    def get(self, key: str) -> bytes:
        try:
            return _verified(key, self._path(key).read_bytes())
        except FileNotFoundError:
            raise StoredFileLost(key, "not in the store") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Store:
    """An S3-compatible bucket; objects named `<prefix><key>`."""

    def __init__(self, *, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 prefix: str = "", client: Any = None) -> None:
        if client is None:
            import boto3  # only a deployment that uses S3 pays for the import
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                                  config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                                connect_timeout=5, read_timeout=30))
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}{_checked_key(key)}"

    def put(self, key: str, content: bytes) -> None:
        if key_of(content) != key:
            raise ValueError("content does not match its key")
        if self.exists(key):
            return
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=content,
                               ContentType="application/octet-stream")

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StoredFileLost(key, "not in the store") from None
            raise
        return _verified(key, answer["Body"].read())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True


def store_for(settings: Settings) -> FileStore:
    """The store the settings name (DUBAN_FILE_STORE, DUBAN_FILES_DIR, DUBAN_S3_*)."""
    if settings.file_store == "s3":
        return S3Store(bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url,
                       region=settings.s3_region, prefix=settings.s3_prefix)
    return LocalStore(settings.resolved_files_dir)


_DEFAULT: dict[int, tuple[Settings, FileStore]] = {}


def default_store() -> FileStore:
    """The process's store, from its settings, made once per settings object."""
    settings = get_settings()
    held = _DEFAULT.get(id(settings))
    if held is None or held[0] is not settings:
        held = _DEFAULT[id(settings)] = (settings, store_for(settings))
    return held[1]
