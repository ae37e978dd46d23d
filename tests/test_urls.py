"""URL normalisation and the stable article key."""

from __future__ import annotations

import pytest

from archive.outlet.config import outlet_from_mapping
from archive.outlet.urls import article_id, article_key, normalize_url


@pytest.mark.parametrize("url, expected", [
    ("HTTP://WWW.Rudaw.NET:80/English/Path", "http://www.rudaw.net/English/Path"),
    ("https://www.rudaw.net:443/english", "https://www.rudaw.net/english"),
    ("http://127.0.0.1:8700", "http://127.0.0.1:8700/"),
    ("http://a.example/x#comments", "http://a.example/x"),
    ("http://a.example/x?utm_source=rss&utm_medium=feed", "http://a.example/x"),
    ("http://a.example/x?b=2&fbclid=abc&a=1&gclid=z&UTM_Campaign=q", "http://a.example/x?a=1&b=2"),
    ("http://a.example/x?mc_cid=1&mc_eid=2&ocid=3&_ga=4&page=2", "http://a.example/x?page=2"),
    ("http://a.example/x?", "http://a.example/x"),
    ("http://a.example/x?q=a%2fb", "http://a.example/x?q=a%2Fb"),
    ("http://a.example/sorani/کوردستان", "http://a.example/sorani/%DA%A9%D9%88%D8%B1%D8%AF%D8%B3"
     "%D8%AA%D8%A7%D9%86"),
    ("http://user:pw@A.example:8080/x", "http://user:pw@a.example:8080/x"),
    ("  http://a.example/x  ", "http://a.example/x"),
    ("/relative/path", "/relative/path"),
])
def test_normalize_url(url, expected):
    assert normalize_url(url) == expected


def test_normalize_is_idempotent_and_keeps_repeated_params():
    url = "http://a.example/p?tag=b&tag=a&utm_source=x&empty="
    once = normalize_url(url)
    assert once == "http://a.example/p?empty=&tag=a&tag=b"
    assert normalize_url(once) == once


RUDAW_RULES = [
    {"pattern": r"/(?P<edition>english|sorani|kurmanci|turkish|arabic)/categories/"
                r"[a-z0-9-]+/(?P<id>\d{5,8})/?$", "key": "{edition}/{id}"},
    {"pattern": r"/(?P<edition>english|sorani|kurmanci|turkish|arabic)/(?:[a-z-]+/){1,2}"
                r"(?P<id>\d{8,10})/?$", "key": "{edition}/legacy/{id}"},
]


def outlet(rules=RUDAW_RULES):
    return outlet_from_mapping({
        "name": "rudaw", "start_urls": ["https://www.rudaw.net/english"],
        "article_urls": ["/categories/"], "article_key": rules,
    })


def test_article_key_same_for_slug_aliases_and_tracking_variants():
    o = outlet()
    a = article_key(o, "https://www.rudaw.net/kurmanci/categories/middleeast/1301794")
    b = article_key(o, "https://WWW.rudaw.net/kurmanci/categories/rojhilata-navn/1301794/")
    c = article_key(o, "https://www.rudaw.net/kurmanci/categories/middleeast/1301794"
                       "?utm_source=rss#top")
    assert a == b == c == "kurmanci/1301794"
    assert article_key(o, "https://www.rudawarabia.net/arabic/categories/news/1367254") \
        == "arabic/1367254"
    assert article_key(o, "https://www.rudaw.net/english/middleeast/syria/05032020") \
        == "english/legacy/05032020"
    # different editions with the same number are different articles
    assert article_key(o, "https://www.rudaw.net/english/categories/x/1301794") != a


def test_article_key_falls_back_to_normalized_url():
    o = outlet()
    assert article_key(o, "https://www.rudaw.net/english/opinion?utm_source=x") \
        == "https://www.rudaw.net/english/opinion"
    plain = outlet_from_mapping({"name": "plain", "start_urls": ["http://a.example/"],
                                 "article_urls": ["/news/"]})
    assert article_key(plain, "HTTP://A.example/news/1#x") == "http://a.example/news/1"


def test_article_id():
    assert article_id(outlet(), "https://www.rudaw.net/english/categories/syria/1079288") \
        == "rudaw:english/1079288"


@pytest.mark.parametrize("rules, message", [
    ([{"pattern": "("}], "needs string"),
    ([{"pattern": "(", "key": "x"}], "bad pattern"),
    ([{"pattern": "/(?P<id>\\d+)", "key": "{edition}/{id}"}], "does not capture"),
    ("not-a-list", "must be a list"),
])
def test_bad_article_key_rules_fail_clearly(rules, message):
    with pytest.raises(ValueError, match=message):
        article_key(outlet(rules), "https://www.rudaw.net/english/categories/x/1234567")
