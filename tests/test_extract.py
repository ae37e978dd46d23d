"""archive.extract: the sample outlet's pages over real HTTP, plus small invented pages."""

from __future__ import annotations

import json
import pickle
import urllib.error
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from archive.extract.authors import clean_authors
from archive.extract.charset import decode_html
from archive.extract.extractor import EXTRACTOR_INFO, configure, extract
from archive.extract.languages import to_iso639_3
from archive.outlet.config import load_outlet, outlet_from_mapping
from tests.sites.content import load_content

EXPECTED = json.loads(
    (Path(__file__).parent / "sites" / "rudaw" / "expected.json").read_text(encoding="utf-8"))
SEED = "/english/middleeast/syria/05032020"
SEED_FURNITURE = ["A+ A-", "Last updated", "Rudaw moderates all comments", "community guidelines",
                  "Post a comment", "Required", "Also in Middle East", "Comments", "@DilanSherwani"]


def fetch(site, path: str) -> tuple[bytes, str | None]:
    try:
        with urllib.request.urlopen(site.url(path), timeout=10) as response:
            return response.read(), response.headers.get_content_charset()
    except urllib.error.HTTPError as error:
        return error.read(), None


@pytest.fixture(scope="module")
def outlet(sample_site, tmp_path_factory):
    return load_outlet(sample_site.write_outlet(tmp_path_factory.mktemp("outlet")))


@pytest.fixture(scope="module")
def bad_outlet(sample_site, tmp_path_factory):
    return load_outlet(sample_site.write_outlet(tmp_path_factory.mktemp("bad"), "bad"))


def extract_path(site, outlet, path: str, **kwargs):
    body, charset = fetch(site, path)
    return extract(body, site.url(path), outlet, encoding=kwargs.pop("encoding", charset),
                   **kwargs)


# ---- the sample outlet ------------------------------------------------------------------------

def test_seed_like_article_fields_and_clean_text(sample_site, outlet):
    record = extract_path(sample_site, outlet, SEED)
    want = EXPECTED["articles"][SEED]
    article = next(a for a in load_content().articles if a.canonical_path == SEED)
    assert record["title"] == want["title"]
    assert record["authors"] == ["Dilan Sherwani"]
    assert record["published"] == "2020-03-05"  # visible 05-03-2020, day first
    assert record["dateline"] == "ERBIL, Kurdistan Region"
    assert record["language"] == "eng"
    assert record["text"].split("\n\n") == article.paragraphs
    assert record["word_count"] == len(record["text"].split())
    for furniture in SEED_FURNITURE + want["must_not_contain"]:
        assert furniture not in record["text"], furniture


@pytest.mark.parametrize("path", sorted(EXPECTED["articles"]))
def test_every_sample_article_matches_expected(sample_site, outlet, path):
    want = EXPECTED["articles"][path]
    record = extract_path(sample_site, outlet, path)
    assert record is not None
    for name in ("title", "authors", "published", "dateline", "language"):
        assert record[name] == want[name], name
    paragraphs = record["text"].split("\n\n")
    assert paragraphs[0] == want["text_first"]
    assert paragraphs[-1] == want["text_last"]
    assert len(paragraphs) == want["paragraphs"]
    assert not [s for s in want["must_not_contain"] if s in record["text"]]


@pytest.mark.parametrize(("path", "language"), [
    ("/sorani/categories/iraq/1860958", "ckb"), ("/kurmanci/categories/middleeast/1301794", "kmr"),
    ("/arabic/categories/news/1367254", "arb"), ("/turkish/categories/kurdistan/512340", "tur"),
    ("/sorani/kurdistan/150320211", "ckb"), ("/kurmanci/news/100520222", "kmr"),
])
def test_language_from_html_lang_without_outlet(sample_site, path, language):
    """No outlet: ``<html lang>`` alone decides (``ku`` is Kurmanji, ``ckb`` Sorani)."""
    body, charset = fetch(sample_site, path)
    assert extract(body, sample_site.url(path), encoding=charset)["language"] == language


def test_edition_language_wins_over_html_lang(sample_site, outlet):
    body, _ = fetch(sample_site, "/kurmanci/categories/middleeast/1301794")
    lying = body.replace(b'lang="ku"', b'lang="en"')
    assert b'lang="en"' in lying
    url = sample_site.url("/kurmanci/categories/middleeast/1301794")
    assert extract(lying, url, outlet)["language"] == "kmr"
    assert extract(lying, url)["language"] == "eng"


def test_two_authors_both_kept(sample_site, outlet):
    path = next(p for p, a in EXPECTED["articles"].items() if len(a["authors"]) == 2)
    assert extract_path(sample_site, outlet, path)["authors"] == \
        EXPECTED["articles"][path]["authors"]


def test_alias_url_reports_canonical(sample_site, outlet):
    record = extract_path(sample_site, outlet, "/kurmanci/categories/rojhilata-navn/1301794")
    assert record["canonical_url"] == sample_site.url("/kurmanci/categories/middleeast/1301794")


@pytest.mark.parametrize("path", ["/english/categories/bad/1079901",
                                  "/arabic/categories/bad/1367901",
                                  "/kurmanci/categories/bad/1301901"])
def test_bad_but_real_articles_extract(sample_site, bad_outlet, path):
    """Malformed HTML, windows-1256 with its header, UTF-8 behind an ISO-8859-1 header."""
    want = EXPECTED["bad"][path]["article"]
    record = extract_path(sample_site, bad_outlet, path)
    assert record["title"] == want["title"]
    assert record["text"].split("\n\n")[0] == want["text_first"]
    assert record["language"] == want["language"]


def test_windows_1256_needs_and_honours_the_header_charset(sample_site, bad_outlet):
    path = "/arabic/categories/bad/1367901"
    body, charset = fetch(sample_site, path)
    assert charset == "windows-1256"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    record = extract(body, sample_site.url(path), bad_outlet, encoding="windows-1256")
    assert record["title"] == EXPECTED["bad"][path]["article"]["title"]


def test_misdeclared_latin1_header_still_decodes_utf8(sample_site, bad_outlet):
    path = "/kurmanci/categories/bad/1301901"
    body, charset = fetch(sample_site, path)
    assert charset == "iso-8859-1"
    record = extract(body, sample_site.url(path), bad_outlet, encoding=charset)
    assert "ê" in record["text"] and "Ã" not in record["text"]


@pytest.mark.parametrize("path", ["/english/categories/bad/1079902",  # empty body
                                  "/english/categories/bad/1079907",  # PDF
                                  "/english/categories/bad/1079903",  # 404 page
                                  "/english/bad/rss"])                # broken feed
def test_bad_inputs_give_none(sample_site, bad_outlet, path):
    assert extract_path(sample_site, bad_outlet, path) is None


@pytest.mark.parametrize("path", [*EXPECTED["non_articles"]["fronts"],
                                  *EXPECTED["non_articles"]["listings"], "/english/bad"])
def test_fronts_and_listings_are_not_articles(sample_site, outlet, path):
    assert extract_path(sample_site, outlet, path) is None


# ---- invented pages ---------------------------------------------------------------------------

BODY = "".join(f"<p>Paragraph {i} of an invented report about the river town of Qaladze, where "
               f"the council met on Tuesday to discuss the bridge and the market.</p>"
               for i in range(6))


def page(head: str = "", body: str = BODY, lang: str = "en", before: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>Bridge plan approved - Example News</title>{head}</head><body>"
            f"<header><nav><a href='/'>Home</a></nav></header><article><h1>Bridge plan "
            f"approved</h1>{before}{body}</article><footer>© 2024 Example News</footer>"
            f"</body></html>")


def test_json_ld_authors_dates_and_handles():
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Bridge plan",
          "datePublished": "2024-02-03T10:00:00+03:00", "dateModified": "2024-02-04",
          "author": [{"@type": "Person", "name": "Jane Roe @janeroe"},
                     {"@type": "Person", "name": "John Doe"},
                     {"@type": "Person", "name": "Jane Roe"}],
          "keywords": "bridges, councils", "articleSection": "Local"}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    record = extract(page(head, before="<p class='date'>01-02-2023</p>"),
                     "https://example.org/news/1")
    assert record["authors"] == ["Jane Roe", "John Doe"]
    assert record["published"] == "2024-02-03T10:00:00+03:00"  # machine date beats visible
    assert record["modified"] == "2024-02-04"
    assert record["tags"] == ["bridges", "councils"]
    assert record["section"] == "Local"
    assert record["title"] == "Bridge plan approved"  # h1, confirmed by <title>


def test_visible_date_follows_outlet_date_order():
    html = page(before='<div class="date">05-03-2020</div>')
    url = "https://example.org/news/2"
    base = {"name": "x", "start_urls": ["https://example.org/"], "article_urls": ["/news/"]}
    mdy = outlet_from_mapping({**base, "date_order": "mdy"})
    assert extract(html, url)["published"] == "2020-03-05"
    assert extract(html, url, mdy)["published"] == "2020-05-03"


def test_meta_time_and_time_element():
    head = '<meta property="article:published_time" content="2021-06-01T08:30:00Z">'
    assert extract(page(head), "https://e.org/a")["published"] == "2021-06-01T08:30:00+00:00"
    timed = page(before='<time datetime="2019-12-31">Dec 31</time>')
    assert extract(timed, "https://e.org/a")["published"] == "2019-12-31"


def test_generic_dateline_and_furniture():
    body = ("<p>WASHINGTON (Reuters) - Lawmakers agreed on Tuesday to fund the bridge over the "
            "river after months of talks between the two parties in the chamber.</p>"
            "<p>Advertisement</p>" + BODY + "<p>A+ A-</p>")
    record = extract(page(body=body), "https://e.org/a")
    assert record["dateline"] == "WASHINGTON (Reuters)"
    assert record["text"].startswith("Lawmakers agreed")
    assert "Advertisement" not in record["text"] and "A+ A-" not in record["text"]
    assert "©" not in record["text"]


def test_outlet_rules_prune_drop_cut_and_author_clean():
    outlet = outlet_from_mapping({
        "name": "x", "start_urls": ["https://e.org/"], "article_urls": ["/a"],
        "prune_xpaths": ['//*[@class="promo"]'], "drop_text": ["^Sponsored by "],
        "cut_text_at": ["^Have your say$"], "author_clean": [r"\s*\|\s*Staff$"]})
    body = (BODY + '<div class="promo"><p>Win a trip to the mountains this summer with our '
            'partners, enter the draw today and every day this week.</p></div>'
            "<p>Sponsored by the Qaladze chamber of commerce and its many friends.</p>"
            "<p>Have your say</p><p>Reader opinion that must not reach the corpus at all.</p>")
    head = '<meta name="author" content="Jane Roe | Staff">'
    record = extract(page(head, body=body), "https://e.org/a", outlet)
    assert "Win a trip" not in record["text"] and "Sponsored" not in record["text"]
    assert "Reader opinion" not in record["text"] and "Have your say" not in record["text"]
    assert record["authors"] == ["Jane Roe"]
    assert record["text"].count("\n\n") == 5


@pytest.mark.parametrize("data", [b"", b"   ", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
                                  bytes(range(256)) * 40, b"\x89PNG\r\n\x1a\n\x00\x00",
                                  "<html><body></body></html>", "just text, no markup",
                                  '<?xml version="1.0"?><rss><channel><item><title>x</title>'
                                  "<description>" + "words " * 200 + "</description></item>"
                                  "</channel></rss>"])
def test_non_articles_and_garbage_give_none(data):
    assert extract(data, "https://e.org/a") is None


def test_malformed_and_odd_inputs_do_not_raise():
    broken = page(body="<div><p>Unclosed <b>bold " + BODY + "</div></div></span><p class=>"
                  "<a href='x>broken attr</a>")
    assert "Paragraph 5" in extract(broken, "https://e.org/a")["text"]
    assert extract(page().encode("utf-16"), "https://e.org/a")["title"] == "Bridge plan approved"
    xml_declared = '<?xml version="1.0" encoding="utf-8"?>' + page()
    assert extract(xml_declared, "https://e.org/a") is not None
    assert extract(None, "https://e.org/a") is None  # type: ignore[arg-type]


def test_huge_page_is_handled():
    huge = page(body=BODY * 2000)  # 1.3 MB, 12 000 paragraphs
    assert len(huge) > 1_000_000
    record = extract(huge, "https://e.org/a")
    assert record is not None and record["word_count"] > 10_000


def test_charset_rules():
    arabic = "<html><head><title>عنوان</title></head><body><p>سوق جديد</p></body></html>"
    assert decode_html(arabic.encode("cp1256"), "windows-1256")[0] == arabic
    meta = '<meta charset="windows-1256">' + arabic
    assert decode_html(meta.encode("cp1256"))[0] == meta  # <meta> when no header
    kurmanji = "<p>Şaredariya Duhokê pirtûkxaneyeke nû vekir</p>"
    assert decode_html(kurmanji.encode("utf-8"), "ISO-8859-1") == (kurmanji, "utf-8")
    assert decode_html("café".encode("latin-1"), "iso-8859-1")[0] == "café"
    assert decode_html(b"\xef\xbb\xbf<p>x</p>", "windows-1256")[0] == "<p>x</p>"  # BOM wins


@pytest.mark.parametrize(("tag", "code"), [
    ("en", "eng"), ("en-GB", "eng"), ("ckb", "ckb"), ("ku-Arab", "ckb"), ("ku", "kmr"),
    ("kmr", "kmr"), ("ku-Latn", "kmr"), ("tr", "tur"), ("ar", "arb"), ("ar_IQ", "arb"),
    ("fa", "fas"), ("de-DE", "deu"), ("zh-Hans", "cmn"), ("", None), ("x", None),
    ("not a tag!", None), (None, None),
])
def test_language_tags_to_iso639_3(tag, code):
    assert to_iso639_3(tag) == code


def test_author_cleaning():
    assert clean_authors(["Karwan Faidhi Dri", "Karwan Faidhi Dri @KarwanFaidhiDri"]) == \
        ["Karwan Faidhi Dri"]
    assert clean_authors(["By Jane Roe and John Doe"]) == ["Jane Roe", "John Doe"]
    assert clean_authors(["Jane Roe, Staff Writer; jane@example.org", "https://x.com/j"]) == \
        ["Jane Roe"]
    assert clean_authors(["admin", "2024-01-01"]) == []
    assert clean_authors(["Jane Roe (Reuters)"], [r"\(Reuters\)"]) == ["Jane Roe"]


def test_extractor_info_and_worker_processes():
    assert EXTRACTOR_INFO["name"] == "newsarchive-trafilatura"
    assert "trafilatura" in EXTRACTOR_INFO["version"]
    assert EXTRACTOR_INFO["options"]["favor_precision"] is True
    assert pickle.loads(pickle.dumps(extract)) is extract
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        record = pool.submit(extract, page(), "https://e.org/a").result(timeout=60)
    assert record["title"] == "Bridge plan approved"


def test_configure_rejects_unknown_and_records_options():
    with pytest.raises(ValueError):
        configure(no_such_option=True)
    before = dict(EXTRACTOR_INFO["options"])
    try:
        configure(include_tables=False)
        assert EXTRACTOR_INFO["options"]["include_tables"] is False
    finally:
        configure(**{k: v for k, v in before.items() if k == "include_tables"})
    assert EXTRACTOR_INFO["options"] == before


def test_section_from_meta_outlet_rule_or_breadcrumb():
    base = {"name": "x", "start_urls": ["https://e.org/"], "article_urls": ["/a"]}
    before = ('<nav class="breadcrumb"><a href="/">Home</a> / <a href="/local">Local news</a>'
              '</nav><h3 class="related__title">Also in Middle East</h3>')
    html = page(before=before)
    assert extract(html, "https://e.org/a")["section"] == "Local news"
    rule = outlet_from_mapping({**base, "section_xpath": '//h3[@class="related__title"]',
                                "section_regex": r"^Also in (.+)$"})
    assert extract(html, "https://e.org/a", rule)["section"] == "Middle East"
    meta = page('<meta property="article:section" content="Politics">', before=before)
    assert extract(meta, "https://e.org/a", rule)["section"] == "Politics"


def test_invalid_prune_xpath_is_ignored_not_fatal():
    outlet = outlet_from_mapping({"name": "x", "start_urls": ["https://e.org/"],
                                  "article_urls": ["/a"], "prune_xpaths": ["//div[", "//footer"]})
    assert "Paragraph 5" in extract(page(), "https://e.org/a", outlet)["text"]
