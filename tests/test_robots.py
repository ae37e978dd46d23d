"""robots.txt is obeyed from the very first request, even for concurrent seeds.

Scrapy 2.19's RobotsTxtMiddleware let concurrent requests through while robots.txt was
still downloading (crawler/robots.py explains why); many seeds under a disallowed path,
all scheduled at once, expose it reliably.
"""

from __future__ import annotations

import pytest

from tests.conftest import crawl

pytestmark = pytest.mark.slow


def test_concurrent_disallowed_seeds_are_never_fetched(tmp_path, fresh_site):
    base = fresh_site.base_url
    seeds = "\n".join(f"  - {base}/private/front?n={n}" for n in range(20))
    feeds = "\n".join(f"  - {base}/private/rss?n={n}" for n in range(5))
    sitemaps = "\n".join(f"  - {base}/private/sitemap.xml?n={n}" for n in range(5))
    outlet = tmp_path / "robots.yaml"
    outlet.write_text(
        f"name: robots-check\nstart_urls:\n  - {base}/english\n{seeds}\nfeeds:\n{feeds}\n"
        f"sitemaps:\n{sitemaps}\narticle_urls: ['/categories/[a-z0-9-]+/\\d+$']\n"
        # no page resources: they count towards --max-pages and could end the crawl
        # before every seed has reached the robots.txt check
        "download_delay: 0\nconcurrency: 16\nresources: none\n", encoding="utf-8")
    result = crawl(outlet, tmp_path / "store", "--max-pages", "5")
    assert result.returncode == 0, result.stderr[-2000:]
    assert fresh_site.count("/private/front") == 0
    assert fresh_site.count("/private/rss") == 0
    assert fresh_site.count("/private/sitemap.xml") == 0
    assert result.reports[0]["refusals"]["by_kind"]["robots"] == 30
    first = min(fresh_site.requests, key=lambda e: e.monotonic)
    assert first.path == "/robots.txt"


def test_unreachable_robots_txt_means_disallow(tmp_path):
    """A 5xx robots.txt (RFC 9309: server error) stops the crawl of that origin."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            status = 503 if self.path == "/robots.txt" else 200
            body = b"<html><body><a href='/news/1'>x</a></body></html>"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        outlet = tmp_path / "down.yaml"
        outlet.write_text(f"name: down\nstart_urls: [http://127.0.0.1:{port}/]\n"
                          "article_urls: ['/news/']\ndownload_delay: 0\n", encoding="utf-8")
        result = crawl(outlet, tmp_path / "store")
    finally:
        server.shutdown()
    # nothing could be crawled: the run says so (degraded, exit 5) instead of "ok"
    assert result.returncode == 5, result.stderr[-2000:]
    assert "status=degraded" in result.stdout
    assert "newsarchive: down: degraded: no page was fetched" in result.stderr
    assert set(seen) == {"/robots.txt"}
    assert result.reports[0]["refusals"]["by_kind"]["robots"] == 1
