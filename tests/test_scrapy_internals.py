"""The Scrapy internals this project leans on where Scrapy has no public API, pinned.

crawler/robots.py subclasses RobotsTxtMiddleware and works on its per-origin table
(``_parsers``) and its ``_parse_robots`` coroutine, to fix the RFC 9309 policy and the
concurrent-waiters race; crawler/distributed/wakeup.py wakes the engine (its own test
pins that).  setup.cfg pins Scrapy below 2.20; when an upgrade changes these members this
test fails loudly instead of the crawl silently falling back to Scrapy's behaviour.
"""

from __future__ import annotations

import inspect

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.test import get_crawler

from crawler.robots import StrictRobotsTxtMiddleware


def test_robots_middleware_members_we_override_still_exist():
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
    middleware = RobotsTxtMiddleware.from_crawler(crawler)
    assert isinstance(middleware._parsers, dict)  # netloc -> parser | Deferred | None
    assert inspect.iscoroutinefunction(RobotsTxtMiddleware._parse_robots)
    assert list(inspect.signature(RobotsTxtMiddleware._parse_robots).parameters) == \
        ["self", "response", "netloc", "request"]


# Scrapy methods StrictRobotsTxtMiddleware overrides: if Scrapy renamed one, our override
# would silently never run
OVERRIDDEN = ("robot_parser", "_robots_error", "_parse_robots", "process_request_2")


def test_the_scrapy_methods_we_override_keep_their_names_and_signatures():
    for name in OVERRIDDEN:
        assert name in vars(StrictRobotsTxtMiddleware), name
        base = getattr(RobotsTxtMiddleware, name, None)
        assert base is not None, f"Scrapy's RobotsTxtMiddleware has no {name} any more"
        ours = getattr(StrictRobotsTxtMiddleware, name)
        assert list(inspect.signature(base).parameters) == \
            list(inspect.signature(ours).parameters), name
