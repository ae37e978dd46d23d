"""A run killed with ``kill -9`` at any moment loses nothing (issue 10).

Each case crawls the sample outlet into a fresh store and kills the crawl's whole process
group at one point -- while fetching, while extracting, between an fsync and a rename,
after publishing but before the state or the run report, on a timer, in the middle of a
recovery, during an S3 upload -- then runs the next crawl normally.  After it: every
article of the site is in the corpus exactly once, every corpus record's WARC pointer and
every revisit resolves, no file is left open, ``verify`` exits 0, and the run that
recovered says ``recovered=N`` and names the dead run.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.state import open_state
from archive.state.base import STATE_FILENAME
from tests.conftest import run_cli
from tests.killtest import check_archive, kill_at, local_files
from tests.sites import load_expected

pytestmark = pytest.mark.slow

EXPECTED_IDS = {f"rudaw-sample:{a['id_key']}" for a in load_expected()["articles"].values()}
SMALL_WARCS = "40000"  # rotate every few dozen exchanges: kills hit closes mid-crawl

# (point, rotate small): the ``name:N`` of archive.store.faults, or ``timer:SECONDS``
LOCAL_POINTS = [
    ("response:2", False),          # fetching: robots.txt and the first fronts
    ("response:25", True),          # fetching: articles, a WARC closed already
    ("extracted:3", False),         # an article extracted, its corpus line not written
    ("corpus_line:6", False),       # corpus lines written, state not (deferred)
    ("warc_fsynced:1", True),       # a rotating WARC fsynced, not yet renamed
    ("warc_renamed:2", True),       # renamed, not yet indexed nor published
    ("corpus_fsynced", False),      # the corpus file complete but still .open
    ("corpus_renamed", False),      # renamed, not in the manifest
    ("files_published", False),     # everything published, the state not written
    ("state_written", False),       # the state written, no run report
    ("report_published", False),    # the report out, the journal not yet removed
    ("timer:0.6", True),            # wherever a slower crawl is after 0.6 s
]
# verify must not call the dead run's traces healthy (checked where they differ)
VERIFY_BEFORE = {"response:25", "warc_fsynced:1", "report_published"}


def crawl_args(outlet_file: Path, store: str, report: Path) -> list[str]:
    return ["crawl", str(outlet_file), "--store", store, "--report", str(report),
            "--workers", "1"]


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSARCHIVE_")}
    env.update({"PYTHONUNBUFFERED": "1", "XDG_STATE_HOME": str(tmp_path / "state-home")})
    return env


def then_a_normal_run(outlet_file: Path, store: str, env: dict, tmp_path: Path) -> dict:
    report_file = tmp_path / "next.json"
    result = run_cli(*crawl_args(outlet_file, store, report_file), env=env)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = json.loads(report_file.read_text())
    assert "recovered_from=" in result.stdout, result.stdout
    assert report["recovered"]["runs"], report.get("recovered")
    assert f"recovered={report['recovered']['articles']}" in result.stdout
    verify = run_cli("verify", "--store", store, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    return report


@pytest.mark.parametrize("point,small", LOCAL_POINTS, ids=[p for p, _ in LOCAL_POINTS])
def test_kill_then_next_run_loses_nothing(tmp_path, sample_site, point, small):
    outlet_file = sample_site.write_outlet(tmp_path / "outlet.yaml")
    store = tmp_path / "store"
    env = base_env(tmp_path)
    if small:
        env["NEWSARCHIVE_WARC_MAX_SIZE"] = SMALL_WARCS
    if point.startswith("timer:"):  # slow enough that the timer falls mid-crawl
        outlet_file.write_text(outlet_file.read_text().replace(
            "download_delay: 0 ", "download_delay: 0.1 "))
    kill_at(crawl_args(outlet_file, str(store), tmp_path / "dead.json"), env, point, tmp_path,
            started=f"{store}/state/runs/*/*.json")
    if point in VERIFY_BEFORE:
        before = run_cli("verify", "--store", str(store), env=env)
        assert before.returncode != 0, before.stdout
        assert "UNFINISHED" in before.stdout, before.stdout
    then_a_normal_run(outlet_file, str(store), env, tmp_path)
    check_archive(local_files(store), EXPECTED_IDS)


def test_kill_during_recovery_then_next_run_finishes_it(tmp_path, sample_site):
    outlet_file = sample_site.write_outlet(tmp_path / "outlet.yaml")
    store = tmp_path / "store"
    env = base_env(tmp_path)
    env["NEWSARCHIVE_WARC_MAX_SIZE"] = SMALL_WARCS
    args = crawl_args(outlet_file, str(store), tmp_path / "dead.json")
    kill_at(args, env, "corpus_line:8", tmp_path)
    kill_at(args, env, "recovering", tmp_path)  # the recovering run dies too
    report = then_a_normal_run(outlet_file, str(store), env, tmp_path)
    assert len(report["recovered"]["runs"]) >= 1
    check_archive(local_files(store), EXPECTED_IDS)


S3_POINTS = ["spooled:2", "s3_upload:1", "s3_uploaded:2", "corpus_line:5"]


def test_kill_during_s3_publishing_then_next_run_loses_nothing(tmp_path, sample_site):
    """Into S3: killed while spooling (file without sidecar), before and after an upload,
    and mid-crawl; each time the next run leaves the bucket complete and verify clean."""
    from tests.s3server import SeaweedFS
    from tests.test_crawl_s3 import BUCKET, objects, s3_env

    outlet_file = sample_site.write_outlet(tmp_path / "outlet.yaml")
    with SeaweedFS(tmp_path / "seaweedfs") as server:
        for number, point in enumerate(S3_POINTS):
            case = tmp_path / f"case{number}"
            case.mkdir()
            env = s3_env(server, case)
            env["NEWSARCHIVE_WARC_MAX_SIZE"] = SMALL_WARCS
            store = f"s3://{BUCKET}/kill{number}"
            kill_at(crawl_args(outlet_file, store, case / "dead.json"), env, point, case)
            then_a_normal_run(outlet_file, store, env, case)
            files = {k.split("/", 1)[1]: v for k, v in objects(server, f"kill{number}/").items()}
            check_archive(files, EXPECTED_IDS)
            assert not list((case / "spool").rglob("*.open")), point


def _responses_by_digest(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """payload digest -> {record id: WARC key} of the 200 responses in ``files``' WARCs."""
    found: dict[str, dict[str, str]] = {}
    for key, data in files.items():
        if not key.endswith(".warc.gz"):
            continue
        for record in ArchiveIterator(io.BytesIO(data)):
            headers = record.rec_headers
            if record.rec_type == "response" and record.http_headers \
                    and record.http_headers.get_statuscode() == "200":
                found.setdefault(headers.get_header("WARC-Payload-Digest"), {})[
                    headers.get_header("WARC-Record-ID")] = key
    return found


def test_recovered_digests_reach_the_state(tmp_path, sample_site):
    """Killed with every file published but its state never written: the next run's
    recovery reads the payload digests back from the dead run's WARCs into the state, so
    each is known as the dead run's (the earliest) capture and the next run's identical
    payloads become revisits of the dead run's records."""
    outlet_file = sample_site.write_outlet(tmp_path / "outlet.yaml")
    store = tmp_path / "store"
    env = base_env(tmp_path)
    kill_at(crawl_args(outlet_file, str(store), tmp_path / "dead.json"), env,
            "files_published", tmp_path)
    dead_files = local_files(store)
    dead = _responses_by_digest(dead_files)
    assert len(dead) > 10, sorted(dead)
    then_a_normal_run(outlet_file, str(store), env, tmp_path)
    with open_state(store / "state" / STATE_FILENAME) as state:
        for digest, captures in dead.items():
            known = state.lookup_digest(digest, "rudaw-sample")
            assert known is not None, f"{digest} of {sorted(captures.values())} not recovered"
            assert known.record_id in captures and known.filename == captures[known.record_id]
    dead_ids = {rid for captures in dead.values() for rid in captures}
    revisits_of_dead = 0
    for key, data in local_files(store).items():
        if key.endswith(".warc.gz") and key not in dead_files:
            for record in ArchiveIterator(io.BytesIO(data)):
                if record.rec_type == "revisit" and \
                        record.rec_headers.get_header("WARC-Refers-To") in dead_ids:
                    revisits_of_dead += 1
    assert revisits_of_dead > 0
