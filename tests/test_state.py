"""The state store contract, run against both implementations (SQLite and a real Redis)."""

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from archive.state import open_state
from archive.state.base import (
    ArticleRecord,
    DigestRecord,
    Recheck,
    StateError,
    Validators,
    default_state_dir,
    default_state_path,
)
from archive.state.redis import YOUNG_HORIZON, RedisState
from archive.state.schedule import RecheckSchedule
from archive.state.sqlite import SQLiteState

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)
SHA1, SHA2, SHA3 = "a" * 64, "b" * 64, "c" * 64


# ---- a real Redis: the shared one if it answers, else a private server -----------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url():
    """A reachable Redis; the tests FAIL (not skip) when there is none."""
    shared = os.environ.get("NEWSARCHIVE_TEST_REDIS", "redis://127.0.0.1:6379/0")
    if _answers(shared):
        yield shared
        return
    server = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if server is None:
        pytest.fail(f"the Redis state tests need a Redis: nothing answers at {shared} and "
                    "redis-server is not on PATH (install redis-server)")
    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _answers(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"started {server} on port {port} but it does not answer")
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _prefix_keys(url: str, prefix: str) -> list:
    client = redis.Redis.from_url(url)
    return [*client.scan_iter(match=f"{{{prefix}}}:*"), *client.scan_iter(match=f"{{{prefix}:*")]


@pytest.fixture
def redis_state(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    state = open_state(f"{redis_url}?prefix={prefix}")
    yield state
    state.clear()
    assert _prefix_keys(redis_url, prefix) == []
    state.close()


@pytest.fixture(params=["sqlite", "redis"])
def state(request, tmp_path):
    if request.param == "sqlite":
        st = open_state(tmp_path / "state" / "state.sqlite3")
        yield st
        st.close()
    else:
        yield request.getfixturevalue("redis_state")


# ---- articles --------------------------------------------------------------------------------


def test_seen_check_single_and_batched(state):
    assert not state.is_archived("rudaw", "english:1")  # unknown outlet, empty state
    assert state.archived_among("rudaw", ["english:1"]) == set()
    state.record_article("rudaw", "english:1", "https://x.test/en/1", SHA1, 1, T0)
    state.record_article("rudaw", "sorani:1", "https://x.test/ckb/1", SHA2, 1, T0)
    assert state.is_archived("rudaw", "english:1")
    assert not state.is_archived("rudaw", "english:2")
    assert not state.is_archived("other", "english:1")  # keys are per outlet
    keys = ["english:1", "english:2", "sorani:1", "english:1", *(f"n:{i}" for i in range(1200))]
    assert state.archived_among("rudaw", keys) == {"english:1", "sorani:1"}
    assert state.archived_among("rudaw", []) == set()
    assert state.count_articles("rudaw") == 2 and state.count_articles("other") == 0


def test_article_info_and_versions(state):
    assert state.article_info("rudaw", "en:7") is None
    state.record_article("rudaw", "en:7", "https://x.test/7", SHA1, 1, T0,
                         published="2026-03-01T13:30:00+03:00")
    info = state.article_info("rudaw", "en:7")
    assert (info.outlet, info.key, info.url, info.version) == ("rudaw", "en:7",
                                                               "https://x.test/7", 1)
    assert info.content_sha256 == SHA1
    assert info.first_fetched == info.last_fetched == info.last_checked == T0
    assert info.published == "2026-03-01T13:30:00+03:00"
    assert info.anchor == T0 - timedelta(minutes=90)
    # an edit: version 2 with the new hash; first capture and anchor stay
    state.record_article("rudaw", "en:7", "https://x.test/7?v", SHA2, 2, T0 + D)
    info = state.article_info("rudaw", "en:7")
    assert (info.version, info.content_sha256, info.url) == (2, SHA2, "https://x.test/7?v")
    assert info.first_fetched == T0 and info.last_fetched == info.last_checked == T0 + D
    assert info.published == "2026-03-01T13:30:00+03:00"  # kept although v2 had none
    assert info.anchor == T0 - timedelta(minutes=90)


def test_recording_is_order_independent(state):
    """A rebuild may read run 2's corpus before run 1's: the result must be the same."""
    state.record_articles("rudaw", [
        ArticleRecord("k", "https://x.test/k2", SHA2, 2, T0 + D, None),
        ArticleRecord("k", "https://x.test/k1", SHA1, 1, T0, "2026-03-01T11:00:00Z"),
        ArticleRecord("k", "https://x.test/k2", SHA2, 2, T0 + D, None),  # duplicate
    ])
    info = state.article_info("rudaw", "k")
    assert (info.version, info.content_sha256, info.url) == (2, SHA2, "https://x.test/k2")
    assert (info.first_fetched, info.last_fetched) == (T0, T0 + D)
    assert info.published == "2026-03-01T11:00:00Z" and info.anchor == T0 - H
    assert state.count_articles("rudaw") == 1


def test_many_articles_in_batches(state):
    """More than two of the backend's write batches, from an iterator: every batch lands
    and the count returned is the number of records given."""
    total = 2 * state.write_batch + 7
    records = (ArticleRecord(f"k:{i}", f"https://x.test/{i}", SHA1, 1, T0 + i * H)
               for i in range(total))
    assert state.record_articles("rudaw", records) == total
    assert state.count_articles("rudaw") == total
    last = state.article_info("rudaw", f"k:{total - 1}")
    assert last.url == f"https://x.test/{total - 1}" and last.last_fetched == T0 + (total - 1) * H


@pytest.mark.parametrize("later_first", [False, True])
def test_same_version_twice_keeps_the_later_capture(state, later_first):
    """A run without its state captured an edited page as version 1 again."""
    early = ArticleRecord("k", "https://x.test/k", SHA1, 1, T0)
    late = ArticleRecord("k", "https://x.test/k?p", SHA2, 1, T0 + D)
    state.record_articles("rudaw", [late, early] if later_first else [early, late])
    info = state.article_info("rudaw", "k")
    assert (info.content_sha256, info.url, info.first_fetched) == (SHA2, late.url, T0)


@pytest.mark.parametrize("reverse", [False, True])
def test_digest_ties_resolve_the_same_in_any_order(state, reverse):
    a = _digest("sha1:TIE", "https://a.test/", "2026-03-01T00:00:00Z", 1, outlet="beta")
    b = _digest("sha1:TIE", "https://b.test/", "2026-03-01T00:00:00Z", 2, outlet="alpha")
    state.record_digests([b, a] if reverse else [a, b])
    assert state.lookup_digest("sha1:TIE") == b  # same instant: the smaller outlet name


def test_times_accept_iso_strings_and_naive_datetimes(state):
    state.record_article("o", "a", "https://x.test/a", SHA1, 1, "2026-03-01T12:00:00Z")
    state.record_article("o", "b", "https://x.test/b", SHA1, 1, T0.replace(tzinfo=None))
    assert state.article_info("o", "a").first_fetched == T0
    assert state.article_info("o", "b").first_fetched == T0
    with pytest.raises(StateError):
        state.record_article("o", "c", "https://x.test/c", SHA1, 1, "soon")


def test_non_hex_content_hash_round_trips(state):
    state.record_article("o", "a", "https://x.test/a", "sha256:abc", 1, T0)
    assert state.article_info("o", "a").content_sha256 == "sha256:abc"


def test_due_rechecks_follow_the_schedule(state):
    schedule = RecheckSchedule()  # 1h, 1d, 7d within 30d
    state.record_article("rudaw", "young", "https://x.test/young", SHA1, 1,
                         T0 + timedelta(minutes=10), published=T0.isoformat())
    state.record_article("rudaw", "newer", "https://x.test/newer", SHA1, 1,
                         T0 + timedelta(minutes=40), published=(T0 + timedelta(minutes=30))
                         .isoformat())
    state.record_article("rudaw", "old", "https://x.test/old", SHA1, 1, T0,
                         published=(T0 - 60 * D).isoformat())
    assert state.due_rechecks("rudaw", T0 + timedelta(minutes=59), schedule) == []
    assert state.due_rechecks("rudaw", T0 + H, schedule) == [Recheck("young",
                                                                     "https://x.test/young")]
    due = state.due_rechecks("rudaw", T0 + 2 * H, schedule)
    assert [r.key for r in due] == ["young", "newer"]  # most overdue first
    assert [key for key, url in due] == ["young", "newer"]  # unpacks as (key, url)
    assert state.due_rechecks("rudaw", T0 + 2 * H, schedule, limit=1) == due[:1]
    # unchanged at the 1 h check: next due after 1 day
    state.mark_checked("rudaw", "young", T0 + 2 * H)
    assert [r.key for r in state.due_rechecks("rudaw", T0 + 3 * H, schedule)] == ["newer"]
    assert state.article_info("rudaw", "young").last_checked == T0 + 2 * H
    assert state.article_info("rudaw", "young").next_recheck(schedule) == T0 + D
    # a check never moves the clock backwards; unknown keys are ignored
    state.mark_checked("rudaw", "young", T0 + H)
    state.mark_checked("rudaw", "missing", T0)
    assert state.article_info("rudaw", "young").last_checked == T0 + 2 * H
    # changed at the 1 d check: recorded as version 2, clock restarts from there
    state.record_article("rudaw", "young", "https://x.test/young", SHA2, 2, T0 + D + H)
    assert state.article_info("rudaw", "young").next_recheck(schedule) == T0 + 7 * D
    # past max_age nothing is due, and other outlets are separate
    assert state.due_rechecks("rudaw", T0 + 40 * D, schedule) == []
    assert state.due_rechecks("other", T0 + 2 * H, schedule) == []
    assert state.due_rechecks("rudaw", T0 + 2 * H, RecheckSchedule.parse("off")) == []


# ---- digests -------------------------------------------------------------------------------


def _digest(digest, uri, date, n, outlet="rudaw"):
    return DigestRecord(digest, uri, date, f"<urn:uuid:0000000{n}>",
                        f"warc/{outlet}/2026/03/W-{n}.warc.gz", 100 * n, outlet)


def test_digest_first_capture_wins(state):
    assert state.lookup_digest("sha1:AAAA") is None
    first = _digest("sha1:AAAA", "https://x.test/a", "2026-03-01T12:00:00.250000Z", 1)
    later = _digest("sha1:AAAA", "https://x.test/b", "2026-03-02T12:00:00Z", 2)
    earlier = _digest("sha1:AAAA", "https://x.test/c", "2026-03-01T11:00:00Z", 3)
    assert state.record_digest(first) is True
    assert state.record_digest(later) is False
    assert state.lookup_digest("sha1:AAAA") == first  # the exact WARC-Date string survives
    assert state.record_digest(earlier) is True  # a rebuild found an older capture
    assert state.lookup_digest("sha1:AAAA") == earlier
    assert state.count_digests() == 1


def test_digest_scopes_per_outlet(state):
    a = _digest("sha1:BBBB", "https://a.test/", "2026-03-02T00:00:00Z", 1, outlet="alpha")
    b = _digest("sha1:BBBB", "https://b.test/", "2026-03-01T00:00:00Z", 2, outlet="beta")
    assert state.record_digests([a, b]) == 2
    assert state.lookup_digest("sha1:BBBB") == b  # earliest anywhere
    assert state.lookup_digest("sha1:BBBB", outlet="alpha") == a
    assert state.lookup_digest("sha1:BBBB", outlet="gamma") is None
    assert state.count_digests() == 1


def test_digest_without_offset_or_outlet(state):
    record = DigestRecord("sha256:ff", "https://x.test/", "2026-03-01T00:00:00Z",
                          "<urn:uuid:1>", "W.warc.gz")
    state.record_digest(record)
    assert state.lookup_digest("sha256:ff") == record
    assert state.lookup_digest("sha256:ff", outlet="") == record


def test_many_digests_in_batches(state):
    records = [_digest(f"sha1:{i:08d}", f"https://x.test/{i}", "2026-03-01T00:00:00Z", i % 9)
               for i in range(2500)]
    assert state.record_digests(iter(records)) == 2500
    assert state.count_digests() == 2500
    assert state.lookup_digest("sha1:00001234").uri == "https://x.test/1234"


# ---- validators ----------------------------------------------------------------------------


def test_validators(state):
    feed = "https://x.test/rss.xml"
    assert state.get_validators(feed) is None
    state.set_validators(feed, '"abc"', "Sun, 01 Mar 2026 12:00:00 GMT")
    assert state.get_validators(feed) == Validators('"abc"', "Sun, 01 Mar 2026 12:00:00 GMT")
    state.set_validators(feed, None, "Mon, 02 Mar 2026 12:00:00 GMT")
    assert state.get_validators(feed)[:2] == (None, "Mon, 02 Mar 2026 12:00:00 GMT")
    state.set_validators(feed, "", None)  # an empty ETag is a value, not "none"
    assert state.get_validators(feed)[:2] == ("", None)
    state.set_validators(feed, '"x"', None, "2026-03-02T12:00:00.123456Z")
    assert state.get_validators(feed).captured == "2026-03-02T12:00:00.123456Z"
    state.set_validators(feed, None, None)
    assert state.get_validators(feed) is None


# ---- housekeeping, concurrency ---------------------------------------------------------------


def test_clear_forgets_everything(state):
    state.record_article("rudaw", "k", "https://x.test/k", SHA1, 1, T0)
    state.record_digest(_digest("sha1:CCCC", "https://x.test/k", "2026-03-01T00:00:00Z", 1))
    state.set_validators("https://x.test/rss", "e", None)
    state.clear()
    assert not state.is_archived("rudaw", "k") and state.count_articles("rudaw") == 0
    assert state.lookup_digest("sha1:CCCC") is None and state.count_digests() == 0
    assert state.get_validators("https://x.test/rss") is None
    state.record_article("rudaw", "k", "https://x.test/k", SHA1, 1, T0)  # still usable
    assert state.is_archived("rudaw", "k")


def test_threads_share_one_state(state):
    errors = []

    def work(n):
        try:
            for i in range(200):
                state.record_article("rudaw", f"{n}:{i}", f"https://x.test/{n}/{i}", SHA3, 1, T0)
                assert state.is_archived("rudaw", f"{n}:{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert state.count_articles("rudaw") == 800


# ---- SQLite specifics ------------------------------------------------------------------------


def test_sqlite_state_persists_and_is_shared_between_connections(tmp_path):
    path = tmp_path / "s.sqlite3"
    first = SQLiteState(path)
    second = SQLiteState(path)  # e.g. `newsarchive state` inspecting while a crawl runs
    first.record_article("rudaw", "k", "https://x.test/k", SHA1, 1, T0)
    assert second.is_archived("rudaw", "k")  # an outlet created after second opened
    first.close()
    second.close()
    again = SQLiteState(path)
    assert again.article_info("rudaw", "k").content_sha256 == SHA1
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_sqlite_corrupt_file_says_rebuild(tmp_path):
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="state rebuild"):
        SQLiteState(path)


# ---- Redis specifics -------------------------------------------------------------------------


def test_redis_prefixes_are_isolated(redis_url):
    one = open_state(f"{redis_url}?prefix=iso-{uuid.uuid4().hex[:8]}")
    two = open_state(f"{redis_url}?prefix=iso-{uuid.uuid4().hex[:8]}")
    try:
        one.record_article("rudaw", "k", "https://x.test/k", SHA1, 1, T0)
        one.set_validators("https://x.test/rss", "e", None)
        assert not two.is_archived("rudaw", "k") and two.get_validators(
            "https://x.test/rss") is None
        two.clear()
        assert one.is_archived("rudaw", "k")  # clearing one prefix leaves the other alone
    finally:
        one.clear()
        two.clear()
        one.close()
        two.close()


def test_redis_rejects_bad_prefix_and_long_schedules(redis_url, redis_state):
    with pytest.raises(StateError, match="prefix"):
        open_state(f"{redis_url}?prefix=a:b")
    with pytest.raises(StateError, match="days old"):
        redis_state.due_rechecks("rudaw", T0, RecheckSchedule.parse("1h", YOUNG_HORIZON + D))


def test_redis_keeps_old_articles_out_of_the_young_index(redis_state, redis_url):
    now = datetime.now(UTC)
    redis_state.record_article("rudaw", "old", "https://x.test/old", SHA1, 1, now - 800 * D)
    redis_state.record_article("rudaw", "new", "https://x.test/new", SHA1, 1, now - 2 * H)
    young = redis.Redis.from_url(redis_url).zrange(redis_state._young("rudaw"), 0, -1)
    assert young == [b"new"]
    assert redis_state.is_archived("rudaw", "old")
    assert redis_state.due_rechecks("rudaw", now, RecheckSchedule()) == [
        Recheck("new", "https://x.test/new")]


def test_redis_unreachable_is_a_clear_error():
    with pytest.raises(StateError, match="cannot reach"):
        RedisState.from_url(f"redis://127.0.0.1:{_free_port()}/0?prefix=x")


# ---- locations and keys ----------------------------------------------------------------------


def test_default_state_locations(tmp_path, monkeypatch):
    store = tmp_path / "archive"
    assert default_state_path(store) == store.resolve() / "state" / "state.sqlite3"
    assert default_state_path("./archive") == Path("archive").resolve() / "state" / \
        "state.sqlite3"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_path("s3://news-bucket/crawls/v1/") == \
        tmp_path / "xdg" / "newsarchive" / "news-bucket" / "crawls" / "v1" / "state.sqlite3"
    assert default_state_dir("s3://bucket") == tmp_path / "xdg" / "newsarchive" / "bucket"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir("s3://b/p") == tmp_path / "home" / ".local" / "state" / \
        "newsarchive" / "b" / "p"
    for bad in ("s3://", "s3://b/../etc", "gs://b/p"):
        with pytest.raises(StateError):
            default_state_dir(bad)


def test_open_state_dispatch(tmp_path, redis_url):
    sqlite_state = open_state(str(tmp_path / "x.sqlite3"))
    assert isinstance(sqlite_state, SQLiteState)
    sqlite_state.close()
    redis_state = open_state(f"{redis_url}?prefix=dispatch")
    assert isinstance(redis_state, RedisState) and redis_state.prefix == "dispatch"
    redis_state.close()
    with pytest.raises(StateError, match="unsupported"):
        open_state("ftp://x/state")
