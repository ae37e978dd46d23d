"""One classifier for crawl and corpus: ``archive.discover.pagetype.classify`` decides article
or not for discovery (DOM evidence) and for extraction (evidence measured on the extracted
text, ``archive.extract.pagetype.text_evidence``).  Invented pages."""

from __future__ import annotations

from archive.discover.pagetype import Evidence, classify, read_page
from archive.extract.blocks import leaf_blocks
from archive.extract.extractor import extract, parse_html
from archive.extract.metadata import read_page_meta
from archive.extract.pagetype import is_listing, text_evidence
from tests.test_extract_pages import CJK, URL, cjk_page, page


def _text_evidence(html: str, paragraphs: list[str], dated: bool) -> Evidence:
    tree = parse_html(html)
    return text_evidence(tree, read_page_meta(tree, URL), paragraphs, dated, leaf_blocks(tree))


def test_extracted_prose_is_an_article_where_the_dom_shows_a_listing():
    # discovery, from the DOM: eight headline links and no date on the page -> listing
    html = cjk_page(dated=False).replace("其他新闻标题", "Another invented headline here ")
    assert read_page(html, URL).kind == "listing"
    # extraction, from its text: the same classifier, the text's evidence (the URL dates it)
    tree = parse_html(html)
    assert classify(_text_evidence(html, CJK, dated=True)) == ("article", "dated prose block")
    assert classify(_text_evidence(html, CJK * 2, dated=False)) == ("article", "long prose")
    assert classify(_text_evidence(html, CJK, dated=False)) == ("listing", "linked headings")
    assert not is_listing(tree, read_page_meta(tree, URL), CJK, True, leaf_blocks(tree))
    assert extract(html, URL) is not None


def test_teaser_text_is_a_listing_for_the_extractor():
    cards = [(f"Invented headline number {i} about the harbour",
              f"A short invented summary of story {i}, two lines long at most.")
             for i in range(6)]
    html = page("<main>" + "".join(
        f'<div class="teaser"><h3><a href="/s/{i}">{t}</a></h3><p>{s}</p></div>'
        for i, (t, s) in enumerate(cards)) + "</main>")
    evidence = _text_evidence(html, [s for _, s in cards], dated=True)
    assert evidence.listing_share == 1.0
    assert classify(evidence) == ("listing", "teasers")
    assert extract(html, URL) is None


def test_structured_data_decides_first_for_both_callers():
    assert classify(Evidence(marked=True, prose=200))[0] == "article"
    assert classify(Evidence(marked=True, prose=100))[0] == "other"  # the DOM needs some prose
    assert classify(Evidence(marked=True, from_text=True))[0] == "article"  # the text has it
    # a CMS that stamps og:type=article on its front: many headline links, little prose
    assert classify(Evidence(marked=True, prose=300, headline_links=15))[0] == "listing"


def test_dated_prose_thresholds_follow_what_was_measured():
    # the DOM's main block needs 600 characters with a date; the extracted text 400
    assert classify(Evidence(prose=500, dated=True))[0] == "other"
    assert classify(Evidence(prose=500, dated=True, from_text=True))[0] == "article"
    assert classify(Evidence(prose=700, dated=True, headline_chars=900)) == (
        "listing", "headline links outweigh prose")
