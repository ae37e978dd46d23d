"""Ground truth for the Rudaw sample outlet, derived from the same data the server renders.

``python -m tests.sites.expected`` rewrites ``rudaw/expected.json``; a test checks the
committed file still equals what this module builds, so the two never drift apart.
Paths are relative; ``origins`` says which base URL serves them (ports 8700/8701 stand for
whatever ports a test's SampleSite got: see ``SampleSite.url``).
"""

from __future__ import annotations

import json
from pathlib import Path

from .badpages import BAD_PAGES, load_bad_articles
from .content import ARABIC, MAIN, SITE_ROOT, Article, SiteContent, load_content
from .routes import FEEDS, LEGACY_SECTION_PAGES, SITEMAPS, TRACKED_LINK

EXPECTED_PATH = SITE_ROOT / "expected.json"
DEFAULT_ORIGINS = {MAIN: "http://127.0.0.1:8700", ARABIC: "http://127.0.0.1:8701"}
NEVER_FETCH = ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/admin",
               "http://127.0.0.1:9/internal"]


def article_entry(content: SiteContent, article: Article) -> dict:
    edition = content.editions[article.edition]
    related = [a.title for a in content.related(article)]
    most_read = [a.title for a in content.most_read(article.edition)]
    furniture = edition.furniture(article.section, article.updated_time)
    must_not = list(dict.fromkeys([*furniture, *related, *most_read]))
    body = "\n".join(article.paragraphs)
    leaked = [s for s in must_not if s in body]
    if leaked:  # the data itself must not contain furniture, or the test is meaningless
        raise ValueError(f"{article.canonical_path}: body contains furniture {leaked}")
    return {
        "origin": edition.origin,
        "generation": article.generation,
        "id_key": article.key,
        "title": article.title,
        "authors": list(article.authors),
        "published": article.published,
        "modified": article.modified,
        "dateline": article.dateline,
        "language": edition.language,
        "section": article.section,
        "description": article.summary,
        "text_first": article.paragraphs[0],
        "text_last": article.paragraphs[-1],
        "paragraphs": len(article.paragraphs),
        "words": len(body.split()),
        "urls": [article.canonical_path, *article.alias_paths, *article.redirect_paths,
                 *([TRACKED_LINK] if TRACKED_LINK.split("?")[0] == article.canonical_path
                   else [])],
        "must_not_contain": must_not,
    }


def build_expected(content: SiteContent | None = None) -> dict:
    content = content or load_content()
    articles = {a.canonical_path: article_entry(content, a) for a in content.articles}
    variants: dict[str, dict] = {}
    for article in content.articles:
        for path in article.alias_paths:
            variants[path] = {"canonical": article.canonical_path, "kind": "alias",
                              "status": 200}
        for path in article.redirect_paths:
            variants[path] = {"canonical": article.canonical_path, "kind": "redirect",
                              "status": 301}
    variants[TRACKED_LINK] = {"canonical": TRACKED_LINK.split("?")[0], "kind": "tracking",
                              "status": 200}
    all_urls = sorted({u for entry in articles.values() for u in entry["urls"]})
    fronts = [e.front_path for e in content.editions.values()]
    return {
        "outlet": "rudaw-sample",
        "origins": DEFAULT_ORIGINS,
        "articles": articles,
        "url_variants": variants,
        "all_article_urls": all_urls,
        "article_count": len(articles),
        "non_articles": {
            "fronts": fronts,
            "listings": LEGACY_SECTION_PAGES,
            "feeds": FEEDS,
            "sitemaps": SITEMAPS,
            "robots": "/robots.txt",
        },
        "never_fetch": NEVER_FETCH,
        "bad": _bad(content),
    }


def _bad(content: SiteContent) -> dict:
    """BAD_PAGES plus, for pages that must still yield an article, its expected fields."""
    bad_articles = load_bad_articles()
    out = {}
    for path, info in BAD_PAGES.items():
        entry = dict(info)
        if path in bad_articles:
            entry["article"] = article_entry(content, bad_articles[path])
        out[path] = entry
    return out


def write_expected(path: Path = EXPECTED_PATH) -> Path:
    text = json.dumps(build_expected(), ensure_ascii=False, indent=1, sort_keys=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_expected())
