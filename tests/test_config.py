"""Outlet YAML: the contract keys load, and every mistake names the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.outlet.config import Origin, OutletConfigError, load_outlet

GOOD = """\
name: example
start_urls: [http://127.0.0.1:8000/]
feeds: [http://127.0.0.1:8000/rss.xml]
sitemaps: [http://127.0.0.1:8000/sitemap.xml]
article_urls: ['/news/\\d{4}/']
language: eng
editions:
  - {prefix: 'http://127.0.0.1:8000/ckb/', language: ckb}
  - {prefix: 'http://127.0.0.1:8000/ckb/sport/', language: kmr}
date_order: dmy
download_delay: 0.5
concurrency: 3
custom_thing: {a: 1}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "outlet.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_contract_keys_load(tmp_path):
    outlet = load_outlet(write(tmp_path, GOOD))
    assert outlet.name == "example"
    assert outlet.download_delay == 0.5 and outlet.concurrency == 3
    assert outlet.is_article_url("http://127.0.0.1:8000/news/2020/x")
    assert not outlet.is_article_url("http://127.0.0.1:8000/about")
    assert outlet.hosts() == ["127.0.0.1"]
    assert Origin("http", "127.0.0.1", 8000) in outlet.named_origins()
    assert outlet.extra == {"custom_thing": {"a": 1}}


def test_longest_edition_prefix_wins(tmp_path):
    outlet = load_outlet(write(tmp_path, GOOD))
    assert outlet.edition_for("http://127.0.0.1:8000/ckb/sport/1").language == "kmr"
    assert outlet.edition_for("http://127.0.0.1:8000/ckb/1").language == "ckb"
    assert outlet.edition_for("http://127.0.0.1:8000/en/1") is None


def test_defaults_are_polite(tmp_path):
    outlet = load_outlet(write(tmp_path, "name: x\nstart_urls: [https://a.example/]\n"
                                         "article_urls: ['/a/']\n"))
    assert outlet.download_delay == 1.0
    assert outlet.concurrency == 2


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: ok\nstart_urls: [http://a/]\narticle_urls: ['/x/'\n", 4, "invalid YAML"),
        ("name: Bad Name\nstart_urls: [http://a/]\narticle_urls: ['/x/']\n", 1, "name"),
        ("name: ok\nstart_urls: [http://a/]\narticle_urls: ['(unclosed']\n", 3,
         "bad regular expression"),
        ("name: ok\nstart_urls: [ftp://a/]\narticle_urls: ['/x/']\n", 2, "not an absolute"),
        ("name: ok\nstart_urls: [http://a/]\narticle_urls: ['/x/']\ndownload_delay: fast\n", 4,
         "download_delay"),
        ("name: ok\nstart_urls: [http://a/]\narticle_urls: ['/x/']\nlanguage: en\n", 4,
         "ISO 639-3"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(OutletConfigError) as caught:
        load_outlet(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(OutletConfigError, match="no such outlet file"):
        load_outlet(tmp_path / "nope.yaml")
