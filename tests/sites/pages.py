"""HTML pages of the Rudaw sample outlet, rendered from ``rudaw/templates`` and the content data.

Both site generations are imitated: legacy server-rendered pages (date URLs, <a href>
listings, no machine-readable date) and the Next.js generation (ID URLs, og:/JSON-LD
metadata, fronts whose article list exists only in ``self.__next_f.push`` flight data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from string import Template
from urllib.parse import quote

from .assets import FRONT_HEAD
from .content import ARABIC, SITE_ROOT, Article, Edition, SiteContent

TEMPLATES = SITE_ROOT / "templates"
SECTION_SLUGS = ("kurdistan", "iraq", "middleeast", "world", "business", "culture", "sports",
                 "opinion", "interview", "tv")
IMAGE_HOST = "https://images.rudaw.net"
FLIGHT_CHUNKS = 4


def template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _slugify(name: str) -> str:
    return "-".join(name.lower().split())


def ad_slot(rotation: int) -> str:
    """A rotating ad/widget slot: new bytes, no text (``SampleSite.touch_noise``)."""
    return (f'<div class="ad-slot" data-slot="sidebar" data-creative="cr-{rotation:06d}">'
            "</div>\n")


class PageRenderer:
    """Renders every HTML page for one pair of base URLs (main and arabic origin)."""

    def __init__(self, content: SiteContent, main_url: str, arabic_url: str,
                 noise: Mapping[str, int] | None = None, image_host: str = IMAGE_HOST) -> None:
        self.content = content
        self.image_host = image_host  # the CDN origin that serves article photos
        self.main_url = main_url
        self.arabic_url = arabic_url
        self.noise = noise or {}  # page key -> ad rotation (0: no ad slot rendered)
        self._templates = {name: template(name) for name in (
            "page.html", "header.html", "footer.html", "comments.html", "legacy_article.html",
            "new_article.html", "front.html", "section.html")}

    # ---- helpers -----------------------------------------------------------------------

    def base_for(self, edition: Edition) -> str:
        return self.arabic_url if edition.origin == ARABIC else self.main_url

    def url_of(self, article: Article, path: str | None = None) -> str:
        return self.base_for(self.content.editions[article.edition]) + (
            path or article.canonical_path)

    def _render(self, name: str, **values: object) -> str:
        return self._templates[name].substitute(**values)

    def _header(self, edition: Edition, legacy: bool) -> str:
        items = []
        for label, slug in zip(edition["menu"], SECTION_SLUGS, strict=False):
            href = f"/{edition.name}/{slug}" if legacy else f"/{edition.name}/categories/{slug}"
            items.append(f'      <li><a href="{href}">{escape(label)}</a></li>')
        return self._render("header.html", main_url=self.main_url, arabic_url=self.arabic_url,
                            edition=edition.name, live=escape(edition["live"]),
                            search=escape(edition["search"]),
                            site_name=escape(edition["site_name"]), menu_items="\n".join(items))

    def _footer(self, edition: Edition) -> str:
        items = [f'    <li><a href="/{edition.name}/{_slugify(label) if label.isascii() else i}">'
                 f"{escape(label)}</a></li>" for i, label in enumerate(edition["footer"])]
        return self._render("footer.html", newsletter=escape(edition["newsletter"]),
                            footer_items="\n".join(items),
                            copyright=escape(edition["copyright"]))

    def page(self, edition: Edition, title: str, main: str, *, legacy: bool,
             head_extra: str = "", scripts: str = "", body_class: str = "",
             noise_key: str | None = None) -> str:
        footer = self._footer(edition)
        rotation = self.noise.get(noise_key or "", 0)
        if rotation:
            footer = ad_slot(rotation) + footer
        return self._render(
            "page.html", html_lang=edition["html_lang"], dir=edition["dir"],
            page_title=escape(title), head_extra=head_extra, body_class=body_class,
            header=self._header(edition, legacy), main=main, footer=footer,
            scripts=scripts)

    def _comments(self, edition: Edition, article: Article) -> str:
        paragraphs = "\n".join(f"    <p>{escape(p)}</p>" for p in edition["comments"])
        return self._render(
            "comments.html", comments_title=escape(edition["comments_title"]),
            comment_paragraphs=paragraphs, post_comment=escape(edition["post_comment"]),
            article_key=escape(article.key), name_label=escape(edition["name_label"]),
            email_label=escape(edition["email_label"]), required=escape(edition["required"]),
            submit=escape(edition["submit"]))

    def _body(self, edition: Edition, article: Article) -> str:
        paragraphs = list(article.paragraphs)
        if article.dateline:
            paragraphs[0] = article.dateline + edition["dateline_sep"] + paragraphs[0]
        return "\n".join(f"        <p>{escape(p)}</p>" for p in paragraphs)

    def _link_items(self, articles: list[Article], indent: str = "          ") -> str:
        return "\n".join(f'{indent}<li><a href="{a.canonical_path}">{escape(a.title)}</a></li>'
                         for a in articles)

    def _share(self, edition: Edition, url: str) -> str:
        quoted = quote(url, safe="")
        targets = ("https://www.facebook.com/sharer/sharer.php?u=", "https://x.com/intent/post?url=",
                   "https://wa.me/?text=", "mailto:?body=")
        return "\n".join(f'        <a class="share" href="{t}{quoted}">{escape(label)}</a>'
                         for t, label in zip(targets, edition["share"], strict=False))

    def _og(self, article: Article, url: str, image: str) -> str:
        return (f'<meta property="og:type" content="article">\n'
                f'<meta property="og:title" content="{escape(article.title)}">\n'
                f'<meta property="og:description" content="{escape(article.summary)}">\n'
                f'<meta property="og:image" content="{image}">\n'
                f'<meta property="og:url" content="{escape(url)}">\n'
                f'<meta name="description" content="{escape(article.summary)}">\n')

    # ---- article pages -------------------------------------------------------------------

    def legacy_article(self, article: Article) -> str:
        """Legacy layout mirroring the seed page: title, DD-MM-YYYY, author, related, A+ A-."""
        edition = self.content.editions[article.edition]
        lines = []
        for name in article.authors:
            lines.append(f'          <span class="article-main__author-name">{escape(name)}</span>')
            if article.handle:
                lines.append(
                    f'          <div class="author-card"><a href="/{edition.name}/authors/'
                    f'{_slugify(name)}">{escape(name)}</a> <a class="author-card__handle" '
                    f'href="https://x.com/{article.handle}">@{article.handle}</a></div>')
        url = self.url_of(article)
        image = escape(self.image_host + (article.image or "/images/placeholder.jpg"))
        most_read = self.content.most_read(article.edition)
        main = self._render(
            "legacy_article.html", title=escape(article.title),
            visible_date=article.visible_date, author_lines="\n".join(lines),
            also_in=escape(edition["also_in"].format(section=article.section)),
            related_items=self._link_items(self.content.related(article)), image=image,
            body=self._body(edition, article),
            updated=escape(edition["updated"].format(time=article.updated_time)),
            share_items=self._share(edition, url), comments=self._comments(edition, article),
            most_read=escape(edition["most_read"]),
            most_read_items=self._link_items(most_read, "        "))
        head = self._og(article, url, image)
        return self.page(edition, f"{article.title} - {edition['site_name']}", main,
                         legacy=True, head_extra=head, body_class="article-page legacy",
                         noise_key=article.canonical_path)

    def new_article(self, article: Article) -> str:
        """Next.js-style article: SSR body plus og:, canonical, JSON-LD NewsArticle."""
        edition = self.content.editions[article.edition]
        url = self.url_of(article)
        raw_image = self.image_host + (article.image or "/images/placeholder.jpg")
        proxied = f"/_next/image?url={quote(raw_image, safe='')}"
        proxy = escape(f"{proxied}&w=1200&q=75")
        srcset = escape(f"{proxied}&w=640&q=75 640w, {proxied}&w=1200&q=75 1200w")
        authors = "\n".join(
            f'        <a class="article__author" href="/{edition.name}/authors/{_slugify(n)}">'
            f"{escape(n)}</a>" for n in article.authors)
        related = self.content.related(article)
        main = self._render(
            "new_article.html", edition=edition.name, site_name=escape(edition["site_name"]),
            slug=article.slug, section=escape(article.section), title=escape(article.title),
            title_attr=escape(article.title), visible_date=article.visible_date,
            author_lines=authors, image_proxy=proxy, image_srcset=srcset,
            body=self._body(edition, article),
            updated=escape(edition["updated"].format(time=article.updated_time)),
            share_items=self._share(edition, url),
            also_in=escape(edition["also_in"].format(section=article.section)),
            related_items=self._link_items(related, "      "),
            comments=self._comments(edition, article), most_read=escape(edition["most_read"]),
            most_read_items=self._link_items(self.content.most_read(article.edition),
                                             "      "))
        ld = {
            "@context": "https://schema.org", "@type": "NewsArticle",
            "mainEntityOfPage": url, "headline": article.title,
            "description": article.summary, "image": [raw_image],
            "datePublished": article.published, "dateModified": article.modified or
            article.published, "inLanguage": edition["html_lang"],
            "author": [{"@type": "Person", "name": n} for n in article.authors],
            "publisher": {"@type": "Organization", "name": "Rudaw",
                          "logo": {"@type": "ImageObject",
                                   "url": f"{self.base_for(edition)}/images/logo.png"}},
        }
        head = (self._og(article, url, proxy)
                + f'<link rel="canonical" href="{escape(url)}">\n'
                + '<script type="application/ld+json">'
                + json.dumps(ld, ensure_ascii=False) + "</script>\n"
                + '<script src="/_next/static/chunks/webpack-7f3a1c.js" async></script>\n')
        flight = self.flight_scripts([("related", related)])
        return self.page(edition, f"{article.title} | {edition['site_name']}", main,
                         legacy=False, head_extra=head, scripts=flight,
                         body_class="article-page", noise_key=article.canonical_path)

    # ---- fronts and listings -----------------------------------------------------------

    @staticmethod
    def flight_item(article: Article, slug: str | None = None, revised: bool = False) -> dict:
        """One article object of the flight data; ``revised`` adds ``ModifiedDate`` for an
        article edited at run time (fronts only, so an edit leaves sibling pages alone)."""
        item = {"ID": article.id, "Title": article.title, "Summary": article.summary,
                "imgPath": article.image, "categorySlug": slug or article.slug}
        if revised and article.revised:
            item["ModifiedDate"] = article.revised
        item["PublishedDate"] = article.published
        return item

    def flight_scripts(self, groups: list[tuple[str, list]]) -> str:
        """``self.__next_f.push`` chunks; the text is cut so objects straddle chunk borders."""
        payload = {name: [a if isinstance(a, dict) else self.flight_item(a) for a in items]
                   for name, items in groups}
        text = ('0:["$","html",null,{"children":"$L1"}]\n'
                + "7:" + json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n")
        size = max(1, len(text) // FLIGHT_CHUNKS + 7)
        chunks = [text[i:i + size] for i in range(0, len(text), size)]
        lines = ["<script>(self.__next_f=self.__next_f||[]).push([0])</script>"]
        for chunk in chunks:
            literal = json.dumps(chunk, ensure_ascii=False).replace("</", "<\\/")
            lines.append(f"<script>self.__next_f.push([1,{literal}])</script>")
        return "\n".join(lines) + "\n"

    def front(self, edition: Edition) -> str:
        """Edition front: no article links in the HTML, the list is in flight data only."""
        articles = self.content.newest_first(edition.name, "new")
        latest = [self.flight_item(a, revised=True) for a in articles]
        most_read = [self.flight_item(a, a.alt_slugs[0], revised=True) for a in articles
                     if a.alt_slugs]
        main = self._render("front.html", most_read=escape(edition["most_read"]))
        head = ('<meta property="og:type" content="website">\n'
                f'<meta property="og:title" content="{escape(edition["site_name"])}">\n'
                + FRONT_HEAD)
        return self.page(edition, edition["site_name"], main, legacy=False, head_extra=head,
                         scripts=self.flight_scripts([("latest", latest),
                                                      ("mostRead", most_read)]),
                         body_class="home", noise_key=edition.front_path)

    def legacy_section(self, edition: Edition, section: str, pages: list[list[Article]],
                       page: int, noise_key: str | None = None) -> str:
        """Legacy section listing with ``?page=N`` pagination (no next link on the last)."""
        items = "\n".join(
            f'    <li class="section-list__item"><a href="{a.canonical_path}"><img src="'
            f'{self.image_host}{a.image}" alt=""></a><h3><a href="{a.canonical_path}">'
            f"{escape(a.title)}</a></h3><p>{escape(a.summary)}</p>"
            f'<span class="date">{a.visible_date}</span></li>' for a in pages[page - 1])
        base = f"/{edition.name}/{_slugify(section).replace('-', '')}"
        links = []
        if page > 1:
            prev = base if page == 2 else f"{base}?page={page - 1}"
            links.append(f'<a class="prev" href="{prev}">&laquo; Previous</a>')
        if page < len(pages):
            links.append(f'<a class="next" href="{base}?page={page + 1}">Next &raquo;</a>')
        main = self._render("section.html", section=escape(section), items=items,
                            pagination=" ".join(links))
        return self.page(edition, f"{section} - {edition['site_name']}", main, legacy=True,
                         body_class="section-page", noise_key=noise_key)
