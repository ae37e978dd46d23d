"""A generated news site (not the Rudaw sample): invented articles, other URL shapes.

Built for generic discovery tests and bench/discovery.py.  Its articles are reachable in
every way a real site hides them:

- section listings paged by query (``/section/politics?page=3``), tag listings paged by
  path (``/tag/water/page/2``), author listings paged by offset (``?offset=16``);
- some articles appear only on tag pages, some only on author pages, some only as
  "Related coverage" on other articles, and some are listed only under an old URL that
  301-redirects to the article;
- article URLs in four shapes (dated slug, id-slug, ``.html`` story, numeric ``?id=``
  is *not* used: query strings are pagination here);
- markup in three styles: og:type + JSON-LD, JSON-LD only, plain dated prose;
- a sitemap (``Sitemap:`` in robots.txt, with <lastmod>) and an RSS feed advertised by
  ``<link rel=alternate>`` that each list only recent articles;
- furniture pages (about, contact, privacy), search and login links, and optionally an
  endless calendar (``/calendar/YYYY/MM``, previous/next month) as a crawler trap.

``GeneratedSite.edit(index)`` changes an article's text and its modified time (article
page, listings, sitemap <lastmod>, feed) so incremental runs can be tested.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

SECTIONS = ("politics", "economy", "culture", "science")
TAGS = ("water", "elections", "harvest", "railways", "festivals", "satellites", "tariffs",
        "museums", "drought", "parliament", "vaccines", "bridges")
AUTHORS = ("mira-holt", "tomas-ek", "lena-varga", "ode-brisk", "sami-rowe")
WORDS = ("river council orchard lantern market harbor valley signal archive meadow ferry "
         "quarry timber copper thimble granary windmill lighthouse plateau canal delta "
         "vineyard foundry beacon kiln tannery causeway pasture observatory aqueduct "
         "workshop almanac ledger compass parcel courier ballot treaty tariff budget "
         "festival chorus mural theatre gallery rocket orbit telescope glacier monsoon "
         "reservoir turbine bridge tunnel railway station depot tram cargo convoy").split()
VERBS = ("approves rejects debates opens closes delays expands reviews restores "
         "announces questions funds measures maps tests shelters welcomes").split()
PER_PAGE = 8
EPOCH = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass
class GenArticle:
    index: int
    title: str
    section: str
    tags: list[str]
    author: str
    paragraphs: list[str]
    published: datetime
    modified: datetime
    shape: int  # URL shape 0..3
    style: int  # markup 0 og+ld, 1 ld, 2 plain
    reach: str = "listed"  # listed, tag_only, author_only, related_only, redirect_only
    related: list[int] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return "-".join(self.title.lower().split()[:6])

    @property
    def path(self) -> str:
        day = self.published
        return (f"/news/{day:%Y/%m/%d}/{self.slug}",
                f"/a/{100000 + self.index}-{self.slug}",
                f"/stories/{self.section}/{self.slug}-{self.index}.html",
                f"/{self.section}/{self.slug}-{self.index}")[self.shape]

    @property
    def old_path(self) -> str:
        return f"/old/story.php/{7000 + self.index}"

    @property
    def link_path(self) -> str:
        """How listings link to it: the old redirecting URL for redirect-only articles."""
        return self.old_path if self.reach == "redirect_only" else self.path


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(9, 16))]
    words.insert(2, rng.choice(VERBS))
    return " ".join(words).capitalize() + "."


def make_articles(count: int, seed: int = 11) -> list[GenArticle]:
    """``count`` invented articles, newest first (index 0 is the newest)."""
    rng = random.Random(seed)
    articles = []
    for index in range(count):
        title = " ".join([rng.choice(WORDS).capitalize(), rng.choice(VERBS),
                          *(rng.choice(WORDS) for _ in range(4)), str(index)])
        published = EPOCH - timedelta(hours=6 * index + rng.randint(0, 5))
        reach = "listed"
        roll = index % 20
        if index >= 10:  # the newest ten are all on the front
            reach = {3: "tag_only", 7: "author_only", 11: "related_only",
                     15: "redirect_only"}.get(roll, "listed")
        articles.append(GenArticle(
            index=index, title=title, section=SECTIONS[index % len(SECTIONS)],
            tags=rng.sample(TAGS, 2), author=AUTHORS[index % len(AUTHORS)],
            paragraphs=[" ".join(_sentence(rng) for _ in range(3)) for _ in range(6)],
            published=published, modified=published, shape=index % 4, style=index % 3,
            reach=reach))
    listed = [a.index for a in articles if a.reach in ("listed", "redirect_only")]
    for article in articles:
        pool = [i for i in listed if i != article.index]
        article.related = rng.sample(pool, min(2, len(pool)))
    for article in articles:  # each related-only article is linked from one listed article
        if article.reach == "related_only":
            host = articles[rng.choice(listed)]
            host.related.append(article.index)
    return articles


# ---- rendering -----------------------------------------------------------------------------

def _page(title: str, body: str, head: str = "") -> str:
    nav = " ".join(f'<a href="/section/{s}">{s.title()}</a>' for s in SECTIONS)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)} | Gazette</title>"
            f'<link rel="alternate" type="application/rss+xml" href="/feed.xml">{head}</head>'
            f'<body><header><a href="/">Gazette</a> <nav>{nav} <a href="/about">About</a> '
            f'<a href="/search?q=news">Search</a> <a href="/login">Sign in</a></nav></header>'
            f"<main>{body}</main><footer><a href=\"/contact\">Contact</a> "
            f'<a href="/privacy">Privacy</a> <a href="/calendar/2026/11">Events</a> '
            f'<a href="/tags">All topics</a></footer></body></html>')


def _teaser(article: GenArticle) -> str:
    return (f'<article class="teaser"><h2><a href="{article.link_path}">'
            f"{escape(article.title)}</a></h2><p>{escape(article.paragraphs[0][:90])}</p>"
            f'<time class="updated" datetime="{article.modified.isoformat()}">'
            f"{article.modified:%d %B %Y}</time></article>")


def render_article(article: GenArticle, by_index: dict[int, GenArticle], base: str) -> str:
    head = f'<link rel="canonical" href="{base}{article.path}">'
    if article.style == 0:
        head += '<meta property="og:type" content="article">'
    if article.style in (0, 1):
        data = {"@context": "https://schema.org", "@type": "NewsArticle",
                "headline": article.title, "datePublished": article.published.isoformat(),
                "dateModified": article.modified.isoformat()}
        head += f'<script type="application/ld+json">{json.dumps(data)}</script>'
    head += f'<meta property="article:modified_time" content="{article.modified.isoformat()}">'
    tags = " ".join(f'<a href="/tag/{t}">{t}</a>' for t in article.tags)
    related = "".join(f'<li><a href="{by_index[i].link_path}">{escape(by_index[i].title)}</a>'
                      f"</li>" for i in article.related)
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    body = (f"<article><h1>{escape(article.title)}</h1>"
            f'<p class="byline">By <a href="/author/{article.author}">'
            f'{article.author.replace("-", " ").title()}</a></p>'
            f'<time datetime="{article.published.isoformat()}">'
            f"{article.published:%d %B %Y}</time>"
            f'<div class="story">{paragraphs}</div><div class="tags">{tags}</div>'
            f'<aside class="related"><h3>Related coverage</h3><ul>{related}</ul></aside>'
            f"</article>")
    return _page(article.title, body, head)


def render_listing(title: str, items: list[GenArticle], page_links: list[tuple[str, str]],
                   next_href: str | None) -> str:
    pager = " ".join(f'<a href="{href}">{escape(label)}</a>' for label, href in page_links)
    if next_href:
        pager += f' <a rel="next" href="{next_href}">Next</a>'
    body = (f"<h1>{escape(title)}</h1><section class=\"list\">"
            + "".join(_teaser(a) for a in items) + f"</section><nav class=\"pager\">{pager}</nav>")
    return _page(title, body)


def render_plain(title: str, text: str, links: str = "") -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{links}")


def render_calendar(year: int, month: int, featured: list[GenArticle]) -> str:
    prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
    next_y, next_m = (year, month + 1) if month < 12 else (year + 1, 1)
    links = (f'<a href="/calendar/{prev_y}/{prev_m:02d}">Previous month</a> '
             f'<a href="/calendar/{next_y}/{next_m:02d}">Next month</a>')
    body = (f"<h1>Events {year}-{month:02d}</h1><p>No events listed.</p>{links}"
            f"<section>{''.join(_teaser(a) for a in featured)}</section>")
    return _page(f"Events {year}-{month:02d}", body)


def render_sitemap(articles: list[GenArticle], base: str) -> str:
    urls = "".join(f"<url><loc>{base}{a.path}</loc><lastmod>{a.modified.isoformat()}"
                   f"</lastmod></url>" for a in articles)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')


def render_feed(articles: list[GenArticle], base: str) -> str:
    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{base}{a.path}</link>"
        f"<guid>{base}{a.path}</guid>"
        f"<pubDate>{a.modified.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for a in articles)
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Gazette</title><link>{base}/</link>{items}</channel></rss>")
