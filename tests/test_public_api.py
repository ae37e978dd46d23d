"""The public Python API (``import archive``): read a corpus and the WARC record behind each
record, from a local store and from S3 (SeaweedFS), as README "Python API" shows."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

import archive
from archive.warc.reader import WarcReadError
from tests.reuse_samples import build_sample_archive


@pytest.fixture
def sample(tmp_path: Path):
    return build_sample_archive(tmp_path / "store")


def test_read_corpus_and_capture_from_a_local_store(sample):
    records = list(archive.read_corpus(str(sample.store.root), outlet="sample"))
    assert {r["id"] for r in records} == {r["id"] for r in sample.records}
    for record in records:
        capture = archive.read_capture(sample.store, record)
        assert capture.record_type == "response"
        assert capture.record_id == record["warc"]["record_id"]
        assert capture.uri == record["url"]
        assert capture.status == 200
        # the body is the page as the extractor saw it: gzip undone, the title inside
        assert record["title"].encode() in capture.body


def test_read_capture_refuses_a_pointer_that_does_not_match(sample):
    record = dict(next(archive.read_corpus(sample.store, outlet="sample")))
    record["warc"] = {**record["warc"], "record_id": "<urn:uuid:00000000-0000-0000-0000-0000>"}
    with pytest.raises(WarcReadError, match="does not match"):
        archive.read_capture(sample.store, record)
    with pytest.raises(WarcReadError, match="no WARC location"):
        archive.read_capture(sample.store, {"id": "x", "warc": {}})


def test_read_corpus_and_capture_from_s3(sample, tmp_path: Path, monkeypatch):
    from tests.s3server import seaweedfs

    with seaweedfs(tmp_path / "weed") as server:
        for name, value in server.client_env().items():
            monkeypatch.setenv(name, value)
        client = server.client()
        for key in sample.store.list_keys():
            client.upload_file(str(sample.store.path_for(key)), server.bucket, f"news/{key}")
        monkeypatch.setenv("NEWSARCHIVE_SPOOL", str(tmp_path / "spool"))
        store = archive.open_store(f"s3://{server.bucket}/news")
        try:
            remote = list(archive.read_corpus(store, outlet="sample", all_versions=True))
            local = list(archive.read_corpus(sample.store, outlet="sample", all_versions=True))
            assert remote == local
            for record in remote:
                capture = archive.read_capture(store, record)
                expected = archive.read_capture(sample.store, record)
                assert (capture.record_id, capture.body) == (expected.record_id, expected.body)
            # README "Python API": its snippet, verbatim but for the store's address
            snippet = readme_python_api_snippet().replace(
                '"s3://news-archive/warc"', f'"s3://{server.bucket}/news"').replace(
                'outlet="rudaw", language="ckb"', 'outlet="sample"')
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(snippet, "README.md", "exec"), {})
            assert printed.getvalue().split()[0] in " ".join(r["title"] for r in remote)
        finally:
            store.close()


def readme_python_api_snippet() -> str:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("### Python API", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]
