"""A store that runs out of space: one clear error line, exit 3, nothing half-written.

The store lives on a real tmpfs of 120 KB (the sample crawl needs several times that), so
the kernel itself says ENOSPC part-way through the crawl.  Where mounting is not allowed
(not root), the crawl runs under RLIMIT_FSIZE instead: the kernel refuses writes past a
file size (EFBIG), which the crawler must treat the same way.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, run_cli
from tests.killtest import check_archive, local_files
from tests.sites import load_expected

pytestmark = pytest.mark.slow

EXPECTED_IDS = {f"rudaw-sample:{a['id_key']}" for a in load_expected()["articles"].values()}


@pytest.fixture
def small_disk(tmp_path):
    """(directory on a full-able filesystem, preexec for the crawl or None)."""
    mount = tmp_path / "small"
    mount.mkdir()
    # DISKFULL_TEST_NO_TMPFS=1 runs the fallback where mounting would work
    mounted = not os.environ.get("DISKFULL_TEST_NO_TMPFS") and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=120k", "tmpfs", str(mount)],
        capture_output=True).returncode == 0
    if mounted:
        try:
            yield mount, None
        finally:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        return

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    yield mount, limit_file_size


def test_disk_full_stops_cleanly_and_the_next_run_loses_nothing(tmp_path, sample_site,
                                                                  small_disk):
    disk, preexec = small_disk
    outlet_file = sample_site.write_outlet(tmp_path / "outlet.yaml")
    store = disk / "store"
    report_file = tmp_path / "report.json"  # on a disk with room: the report must say it
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSARCHIVE_")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", str(outlet_file), "--store", str(store),
         "--report", str(report_file), "--workers", "1"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
        preexec_fn=preexec)
    assert proc.returncode == 3, proc.stdout + proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert f"cannot write to {store}/" in errors[0] and " free of " in errors[0], errors[0]
    # what was archived before the disk filled is listed, and is there
    report = json.loads(report_file.read_text())
    assert report["finish_reason"] == "store_unwritable" and report["exit_status"] == 3
    assert report["pages"]["fetched"] > 0 and report["bytes"] > 0
    assert report["files"], report
    for listed in report["files"]:
        assert (store / listed["key"]).stat().st_size == listed["size"]
    assert "status=failed" in proc.stdout and "pages=0 " not in proc.stdout
    # nothing empty, nothing left open
    leftovers = [p for p in store.rglob("*") if p.is_file()
                 and (p.name.endswith(".open") or p.stat().st_size == 0)]
    assert not leftovers, leftovers
    # room again (the store moved to a bigger disk): the next run completes the archive
    roomy = tmp_path / "roomy"
    shutil.copytree(store, roomy)
    again = run_cli("crawl", str(outlet_file), "--store", str(roomy), "--workers", "1",
                    env=env)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    verify = run_cli("verify", "--store", str(roomy), env=env)
    assert verify.returncode == 0, verify.stdout
    check_archive(local_files(roomy), EXPECTED_IDS)
