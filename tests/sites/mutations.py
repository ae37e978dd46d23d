"""The sample outlet's changeable content: edits, new articles, furniture noise, a clock.

Incremental-crawl tests need a site that moves on between two crawls the way a news
site does in an hour: an article gets a paragraph or a new headline, a new article
appears on a front or in a feed, a widget rotates.  ``SiteState`` changes the content
objects only; ``SampleSite`` (server.py) rebuilds the pages and their validators.

Times come from a logical clock (start: conditional.SITE_EPOCH, +1 hour per change)
rather than the wall clock, so every run renders the same bytes for the same changes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from .conditional import SITE_EPOCH
from .content import SITE_ROOT, Article, SiteContent, load_content
from .feeds import parse_time
from .pages import SECTION_SLUGS
from .routes import FEEDS

CLOCK_STEP = timedelta(hours=1)
GENERATIONS = ("new", "legacy")
DEFAULT_SLUGS = {("english", "legacy"): "middleeast/iraq", ("kurmanci", "legacy"): "news"}
_NEW_SLUG = re.compile(r"^[a-z0-9-]+$")
_LEGACY_SLUG = re.compile(r"^[a-z-]+(?:/[a-z-]+)?$")
_LEGACY_ID = re.compile(r"^\d{8,10}$")


def clock_label(when: datetime) -> str:
    """Rudaw's visible "Last updated" time: ``1.02 PM``."""
    hour = when.hour % 12 or 12
    return f"{hour}.{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"


class SiteState:
    """Mutable content of one SampleSite.  Not thread-safe: the site holds a lock."""

    def __init__(self, root: Path = SITE_ROOT) -> None:
        self.root = root
        self.content: SiteContent = load_content(root)
        self.clock: datetime = SITE_EPOCH
        self.noise: dict[str, int] = {}  # page key -> ad/cache rotation
        self.sitemap_stamps: dict[str, str] = {}  # child sitemap -> when it last changed

    # ---- look-up -----------------------------------------------------------------------

    def find(self, path_or_url: str) -> Article | None:
        """The article a canonical, alias or legacy-redirect path (or URL) belongs to."""
        path = urlsplit(path_or_url).path or path_or_url
        for article in self.content.articles:
            if path in (article.canonical_path, *article.alias_paths, *article.redirect_paths):
                return article
        return None

    def article(self, path_or_url: str) -> Article:
        found = self.find(path_or_url)
        if found is None:
            raise KeyError(f"no article at {path_or_url}")
        return found

    def tick(self, at: datetime | None = None) -> datetime:
        """Advance the clock one step (or to ``at`` when that is later); the new time."""
        self.clock = max(self.clock + CLOCK_STEP, at or self.clock)
        return self.clock

    # ---- mutations ---------------------------------------------------------------------

    def edit_article(self, path: str, *, new_paragraph: str | None = None,
                     new_title: str | None = None, modified: str | None = None,
                     replace_index: int | None = None) -> Article:
        """Change an article's text and/or title and stamp it with a modification time."""
        article = self.article(path)
        if new_paragraph is None and new_title is None and modified is None:
            raise ValueError("edit_article needs new_paragraph, new_title or modified")
        if replace_index is not None and new_paragraph is None:
            raise ValueError("replace_index needs new_paragraph")
        when = parse_time(modified) if modified else None
        now = self.tick(when)
        stamp = modified or now.isoformat()
        if new_paragraph is not None:
            paragraphs = list(article.paragraphs)
            if replace_index is None:
                paragraphs.append(new_paragraph)
            else:
                paragraphs[replace_index] = new_paragraph
            article.paragraphs = paragraphs
        if new_title is not None:
            article.title = new_title
        article.revised = stamp
        if article.generation == "new":  # legacy pages carry no machine-readable date
            article.modified = stamp
        article.updated_time = clock_label(when or now)
        return article

    def add_article(self, edition: str, generation: str, *, title: str,
                    paragraphs: list[str], published: str, authors: list[str] | None = None,
                    slug: str | None = None, id: int | str | None = None,  # noqa: A002
                    summary: str | None = None, section: str | None = None,
                    dateline: str | None = None, image: str | None = None) -> Article:
        """Publish a new article (appended to the content; listings show it first)."""
        if edition not in self.content.editions:
            raise ValueError(f"unknown edition {edition!r}")
        if generation not in GENERATIONS:
            raise ValueError(f"generation must be one of {GENERATIONS}, not {generation!r}")
        if generation == "legacy" and f"/{edition}/rss" not in FEEDS:
            raise ValueError(f"the {edition} edition has no legacy generation (no RSS feed)")
        if not paragraphs or not title:
            raise ValueError("a new article needs a title and at least one paragraph")
        when = parse_time(published)
        now = self.tick(when)
        slug = slug or DEFAULT_SLUGS.get((edition, generation), "kurdistan")
        fields: dict = {}
        if generation == "new":
            if not _NEW_SLUG.match(slug):
                raise ValueError(f"bad category slug {slug!r}")
            fields.update(id=int(id) if id is not None else self._next_id(edition), slug=slug)
        else:
            if not _LEGACY_SLUG.match(slug):
                raise ValueError(f"bad legacy section path {slug!r}")
            tail = str(id) if id is not None else self._next_legacy_id(edition, slug, when)
            if not _LEGACY_ID.match(tail):
                raise ValueError(f"legacy ids are DDMMYYYY plus a digit or two, not {tail!r}")
            fields.update(path=f"{slug}/{tail}")
        article = Article(
            edition=edition, generation=generation,
            section=section or self._section_name(edition, slug), title=title,
            summary=summary or _first_sentence(paragraphs[0]),
            authors=list(authors or [self.content.editions[edition]["site_name"]]),
            published=published, paragraphs=list(paragraphs),
            updated_time=clock_label(when if len(published) > 10 else now),
            dateline=dateline, modified=published if generation == "new" else None,
            image=image or f"/images/articles/{when:%Y/%m/%d}/{slug.replace('/', '-')}.jpg",
            added=True, **fields)
        taken = {a.key for a in self.content.articles} | {
            a.canonical_path for a in self.content.articles}
        if article.key in taken or article.canonical_path in taken:
            raise ValueError(f"an article with key {article.key} already exists")
        self.content.articles.append(article)
        return article

    def touch(self, key: str) -> int:
        """Rotate the ad/cache slot of one page; its text stays the same."""
        self.tick()
        self.noise[key] = self.noise.get(key, 0) + 1
        return self.noise[key]

    # ---- helpers -----------------------------------------------------------------------

    def _next_id(self, edition: str) -> int:
        ids = [a.id for a in self.content.by_edition(edition, "new")]
        return max(ids) + 1

    def _next_legacy_id(self, edition: str, slug: str, when: datetime) -> str:
        taken = {a.key for a in self.content.by_edition(edition, "legacy")}
        for n in range(1, 100):
            tail = f"{when:%d%m%Y}{n}"
            if f"{edition}/legacy/{tail}" not in taken:
                return tail
        raise ValueError(f"no free legacy id on {when:%d-%m-%Y}")

    def _section_name(self, edition: str, slug: str) -> str:
        """The edition's menu label for the slug's first segment (Rudaw's section names)."""
        first = slug.split("/")[0]
        menu = self.content.editions[edition]["menu"]
        if first in SECTION_SLUGS and SECTION_SLUGS.index(first) < len(menu):
            return menu[SECTION_SLUGS.index(first)]
        return first.replace("-", " ").title()


def _first_sentence(paragraph: str) -> str:
    match = re.match(r"(.+?[.!?؟])(\s|$)", paragraph)
    return match.group(1) if match else paragraph


__all__ = ["CLOCK_STEP", "SiteState", "clock_label"]
