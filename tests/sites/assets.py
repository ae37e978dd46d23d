"""Page resources of the Rudaw sample outlet: stylesheets, scripts, a web font, images.

Every page links the shared stylesheet (which ``@import``s a font sheet and uses a
background image), the site script, a favicon and its edition's logo; fronts load the
Next.js build manifest and the chunk that draws the "latest" list from the flight data in
the page; new-style articles show a photo with ``srcset`` through ``/_next/image``; legacy
articles, listings and every ``og:image`` take their photos from a third origin standing
for the image CDN (``cdn_url``).  The static text files live in ``rudaw/static``; images
are generated (valid PNGs, so a browser decodes them).  All invented.
"""

from __future__ import annotations

import struct
import zlib
from string import Template

from .content import ARABIC, MAIN, SITE_ROOT, SiteContent
from .response import Response

CDN = "cdn"  # the third origin: plays the outlet's image CDN on its own local port
STATIC = SITE_ROOT / "static"
STYLESHEET = "/Content/css/site.min.css"
STYLESHEET_URL = STYLESHEET + "?v=4.2.1"  # as the pages link it
FONT_SHEET = "/Content/css/fonts.css"
FONT = "/Content/fonts/rudaw-sans.woff2"
BACKGROUND = "/Content/img/paper.png"
VIDEO_POSTER = "/Content/img/video-poster.png"  # new-style articles: <video poster>; the
# clip itself (/media/clips/*.mp4) is never served: audio/video are skipped by default
SCRIPT = "/Scripts/jquery-3.6.0.min.js"  # the path the real pages use; an invented stand-in
WEBPACK = "/_next/static/chunks/webpack-7f3a1c.js"
BUILD_MANIFEST = "/_next/static/r4d7Xb/_buildManifest.js"
FRONT_CHUNK = "/_next/static/chunks/pages/front-5e2b.js"
PHOTO_PROXY = "/_next/image"  # new-style article photos, any ?url=&w=&q=
FAVICON = "/favicon.ico"
PLACEHOLDER = "/images/placeholder.jpg"
CDN_ROBOTS = "User-agent: *\nAllow: /\n"
CSS = "text/css; charset=utf-8"
JS = "text/javascript; charset=utf-8"
FRONT_HEAD = (f'<script src="{BUILD_MANIFEST}" defer></script>\n'
              f'<script src="{FRONT_CHUNK}" defer></script>\n')


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid truecolour PNG of one colour (small, deterministic)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def _static(name: str, content_type: str) -> Response:
    return _asset((STATIC / name).read_bytes(), content_type)


def _asset(body: bytes, content_type: str, compressible: bool = True) -> Response:
    """A resource: no cookies, validators and 304s like the site's fronts."""
    return Response(body=body, content_type=content_type, cookies=False,
                    compressible=compressible, validators="page")


def photo(seed: int) -> bytes:
    """An article photo (each seed its own colour, so its own bytes)."""
    return png(48, 32, (40 + seed * 37 % 200, 90 + seed * 53 % 150, 120 + seed * 71 % 120))


def asset_routes(content: SiteContent) -> dict:
    """(origin, path) -> Response for every resource the pages embed."""
    image = "image/png"
    routes = {
        (MAIN, STYLESHEET): _static("site.css", CSS),
        (MAIN, FONT_SHEET): _static("fonts.css", CSS),
        (MAIN, FONT): _asset(b"wOF2" + bytes(range(256)) * 4, "font/woff2", compressible=False),
        (MAIN, BACKGROUND): _asset(png(8, 8, (250, 248, 240)), image, compressible=False),
        (MAIN, VIDEO_POSTER): _asset(png(32, 18, (30, 30, 30)), image, compressible=False),
        (MAIN, SCRIPT): _static("site.js", JS),
        (MAIN, WEBPACK): _static("webpack.js", JS),
        (MAIN, BUILD_MANIFEST): _static("buildManifest.js", JS),
        (MAIN, FRONT_CHUNK): _static("front.js", JS),
        (MAIN, PHOTO_PROXY): _asset(photo(0), image, compressible=False),
        (MAIN, FAVICON): _asset(png(16, 16, (0, 102, 153)), "image/x-icon", compressible=False),
        (CDN, "/robots.txt"): Response(body=CDN_ROBOTS.encode(), content_type="text/plain",
                                       cookies=False),
        (CDN, PLACEHOLDER): _asset(photo(1), image, compressible=False),
    }
    for (origin, path), response in list(routes.items()):
        if origin == MAIN:  # the arabic origin's pages link the same paths on their origin
            routes[ARABIC, path] = response
    logo = Template((STATIC / "logo.svg").read_text(encoding="utf-8"))
    for name in content.editions:
        svg = _asset(logo.substitute(label=name.capitalize()).encode(), "image/svg+xml")
        routes[content.editions[name].origin, f"/images/logo-{name}.svg"] = svg
    for number, article in enumerate(content.articles, start=2):
        if article.image:
            routes[CDN, article.image] = _asset(photo(number), image, compressible=False)
    return routes
