"""Input and output hygiene of extraction: page chrome out before the text passes, one
Unicode form for everything a record says.

Why NFC: pages mix precomposed and decomposed characters (a Bengali page's decomposed
vowel signs, a German page's "u" + combining diaeresis), so without it the same word has
two spellings in the corpus.
"""

from __future__ import annotations

import unicodedata

from lxml.html import HtmlElement

# elements trafilatura deletes whole in every mode but recall (its MANUALLY_CLEANED) and
# that nothing after the metadata reads; <head>, <time> and <form> stay; <header> below
_CHROME = ("script", "style", "noscript", "svg", "template", "aside", "footer", "nav",
           "iframe", "embed", "object", "figure", "picture", "video", "audio", "canvas",
           "map", "menu", "button", "select", "textarea")


def strip_chrome(tree: HtmlElement) -> None:
    """Remove scripts, styles and page chrome once the metadata is read (JSON-LD stays:
    trafilatura reads it): every later pass, trafilatura's three tree copies included,
    walks less, and trafilatura would delete the same elements itself."""
    for element in list(tree.iter(*_CHROME)):
        if element.tag == "script" and "ld+json" in (element.get("type") or ""):
            continue
        if element.tag == "figure" and element.find(".//table") is not None:
            continue  # trafilatura keeps a table in a figure as text
        if element.getparent() is not None:
            element.drop_tree()  # keeps the tail text
    for element in list(tree.iter("header")):  # site headers; some articles sit in one
        if (element.getparent() is not None and element.find(".//h1") is None
                and element.find(".//p") is None):
            element.drop_tree()


def nfc(text: str | None) -> str | None:
    """NFC form: one spelling per word in the corpus whatever the page's encoder did."""
    return unicodedata.normalize("NFC", text) if text else text
