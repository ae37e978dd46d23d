"""The Rudaw sample outlet's content: editions and invented articles, loaded from YAML.

Content is data (``rudaw/editions.yaml``, ``rudaw/articles/*.yaml``), pages are templates
(``rudaw/templates/``); this module only turns the data into objects that know their URLs,
so the server, the expected-results generator and the tests agree on every path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

SITE_ROOT = Path(__file__).with_name("rudaw")
EDITION_ORDER = ("english", "sorani", "kurmanci", "turkish", "arabic")
MAIN, ARABIC = "main", "arabic"


@dataclass(frozen=True)
class Edition:
    """One language edition and its furniture labels (menus, comment block, ...)."""

    name: str
    origin: str  # "main" (www.rudaw.net) or "arabic" (www.rudawarabia.net)
    language: str  # ISO 639-3
    labels: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.labels[key]

    @property
    def front_path(self) -> str:
        return f"/{self.name}"

    def furniture(self, section: str, updated_time: str | None) -> list[str]:
        """Visible strings of the page chrome that must never reach the corpus text."""
        labels = self.labels
        items = [
            "A+ A-",
            labels["also_in"].format(section=section),
            labels["comments_title"],
            *labels["comments"],
            labels["post_comment"],
            labels["required"],
            labels["most_read"],
            *labels["share"],
            *labels["footer"],
            labels["copyright"],
            labels["newsletter"],
        ]
        if updated_time:
            items.append(labels["updated"].format(time=updated_time))
        return items


@dataclass
class Article:
    """One invented article; ``generation`` is "new" (ID URLs) or "legacy" (date URLs)."""

    edition: str
    generation: str
    section: str
    title: str
    summary: str
    authors: list[str]
    published: str
    paragraphs: list[str]
    updated_time: str | None = None
    dateline: str | None = None
    image: str | None = None
    handle: str | None = None
    modified: str | None = None
    id: int | None = None  # new generation
    slug: str | None = None  # new generation: first slug is canonical
    alt_slugs: list[str] = field(default_factory=list)
    legacy_paths: list[str] = field(default_factory=list)  # legacy URLs that 301 here
    path: str | None = None  # legacy generation: "middleeast/syria/05032020"
    # set only by SampleSite's mutation API (tests/sites/mutations.py), never in the YAML:
    added: bool = False  # published while the server runs (not in the initial content)
    revised: str | None = None  # ISO time of the last runtime edit (feeds, sitemaps, fronts)

    @cached_property
    def canonical_path(self) -> str:
        if self.generation == "new":
            return f"/{self.edition}/categories/{self.slug}/{self.id}"
        return f"/{self.edition}/{self.path}"

    @property
    def alias_paths(self) -> list[str]:
        """Other paths that serve the same page (200, canonical link to the first)."""
        return [f"/{self.edition}/categories/{s}/{self.id}" for s in self.alt_slugs]

    @property
    def redirect_paths(self) -> list[str]:
        return [f"/{self.edition}/{p}" for p in self.legacy_paths]

    @property
    def key(self) -> str:
        """The id the outlet's ``article_key`` rules must derive from any of its URLs."""
        if self.generation == "new":
            return f"{self.edition}/{self.id}"
        return f"{self.edition}/legacy/{self.path.rsplit('/', 1)[-1]}"

    @property
    def visible_date(self) -> str:
        """DD-MM-YYYY, the way Rudaw prints dates on the page."""
        year, month, day = self.published[:10].split("-")
        return f"{day}-{month}-{year}"

    @property
    def section_slug(self) -> str:
        return self.slug if self.generation == "new" else self.path.split("/")[0]


@dataclass
class SiteContent:
    editions: dict[str, Edition]
    articles: list[Article]

    def by_edition(self, edition: str, generation: str | None = None) -> list[Article]:
        return [a for a in self.articles if a.edition == edition
                and (generation is None or a.generation == generation)]

    def newest_first(self, edition: str, generation: str) -> list[Article]:
        """Listing order: articles added at run time (latest first), then the initial ones."""
        articles = self.by_edition(edition, generation)
        return ([a for a in reversed(articles) if a.added]
                + [a for a in articles if not a.added])

    def most_read(self, edition: str, limit: int = 4) -> list[Article]:
        """The "Most read" box of article pages (initial new-style articles only)."""
        return [a for a in self.by_edition(edition, "new") if not a.added][:limit]

    def find(self, canonical_path: str) -> Article:
        for article in self.articles:
            if article.canonical_path == canonical_path:
                return article
        raise KeyError(canonical_path)

    def related(self, article: Article, limit: int = 4) -> list[Article]:
        """"Also in ..." list: other articles of the same edition and generation.

        Articles added at run time are left out of the related and most-read boxes, so
        publishing one changes fronts, feeds, listings and sitemaps but no existing
        article page (an incremental crawl then sees exactly one new page).
        """
        others = [a for a in self.by_edition(article.edition, article.generation)
                  if a is not article and not a.added]
        return others[:limit]


def load_updates(root: Path = SITE_ROOT) -> dict[str, dict[str, Any]]:
    """Invented follow-up texts per edition (``rudaw/updates.yaml``) for the mutation API:
    ``edit_paragraphs``, ``edit_titles`` and ``new_articles`` (keyword arguments of
    ``SampleSite.add_article`` plus ``generation``)."""
    return yaml.safe_load((root / "updates.yaml").read_text(encoding="utf-8"))


def load_content(root: Path = SITE_ROOT) -> SiteContent:
    raw_editions = yaml.safe_load((root / "editions.yaml").read_text(encoding="utf-8"))
    editions = {
        name: Edition(name=name, origin=data["origin"], language=data["language"], labels=data)
        for name, data in raw_editions.items()
    }
    articles: list[Article] = []
    for name in EDITION_ORDER:
        path = root / "articles" / f"{name}.yaml"
        if path.exists():
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                articles.append(Article(**entry))
    return SiteContent(editions=editions, articles=articles)
