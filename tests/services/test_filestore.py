"""The file store: put / get / delete by content hash, the same on a local folder and on an
S3-compatible server (moto's, started on loopback; no mocks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from duban.config.settings import get_settings
from duban.errors import StoredFileLost
from duban.services import CaseService
from duban.services.attachments import Upload, download, list_attachments
from duban.services.filestore import FileStore, LocalStore, S3Store, key_of, store_for
from tests import filesamples as s
from tests.factories import CLERK, DISPATCHER, complaint, world
from tests.s3server import s3_bucket, s3_endpoint  # noqa: F401  (fixtures)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, settings_env: Callable[..., None]) -> FileStore:
    """Each store as the settings make it (DUBAN_FILE_STORE and its companions)."""
    if request.param == "local":
        settings_env(DUBAN_DATA_DIR=str(tmp_path))
    else:
        endpoint, bucket = request.getfixturevalue("s3_endpoint"), request.getfixturevalue("s3_bucket")
        settings_env(DUBAN_FILE_STORE="s3", DUBAN_S3_ENDPOINT_URL=endpoint, DUBAN_S3_BUCKET=bucket,
                     DUBAN_S3_REGION="us-east-1")
    made = store_for(get_settings())
    assert isinstance(made, LocalStore if request.param == "local" else S3Store)
    return made


def test_a_file_put_comes_back_by_its_hash_and_goes_on_delete(store: FileStore) -> None:
    key = key_of(s.PDF)
    assert not store.exists(key)
    store.put(key, s.PDF)
    store.put(key, s.PDF)  # the same content twice is kept once, without complaint
    assert store.exists(key) and store.get(key) == s.PDF
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(StoredFileLost):
        store.get(key)


def test_content_that_does_not_match_its_key_is_neither_stored_nor_served(store: FileStore) -> None:
    with pytest.raises(ValueError):
        store.put(key_of(s.PDF), s.JPEG)
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")  # a key is a hash, never a path


def test_a_file_changed_in_the_s3_store_is_refused(s3_endpoint: str, s3_bucket: str) -> None:  # noqa: F811
    store = S3Store(bucket=s3_bucket, endpoint_url=s3_endpoint, prefix="a/")
    key = key_of(s.PDF)
    store.put(key, s.PDF)
    store.client.put_object(Bucket=s3_bucket, Key=f"a/{key}", Body=s.PDF + b"%changed")
    with pytest.raises(StoredFileLost):
        store.get(key)


def test_local_files_and_their_folders_are_the_owners_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "files")
    key = key_of(s.JPEG)
    store.put(key, s.JPEG)
    path = tmp_path / "files" / key[:2] / key
    assert [oct(p.stat().st_mode & 0o777) for p in (tmp_path / "files", path.parent, path)] == [
        "0o700", "0o700", "0o600"]


def test_a_case_attachment_lives_in_the_s3_store(engine: Engine, s3_endpoint: str,  # noqa: F811
                                                  s3_bucket: str) -> None:  # noqa: F811
    ctx = world(engine)
    ctx.files = S3Store(bucket=s3_bucket, endpoint_url=s3_endpoint, prefix="attachments/")
    letter = (Upload("来信.pdf", s.PDF),)
    number = CaseService(ctx).register(complaint(), actor=CLERK, files=letter).case.number
    [row] = list_attachments(ctx, number, actor=DISPATCHER)
    listed = ctx.files.client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"attachments/{row['sha256']}"]
    assert download(ctx, number, row["id"], actor=DISPATCHER).content == s.PDF
