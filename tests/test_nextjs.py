"""Next.js flight-data parsing on HTML strings."""

from __future__ import annotations

import json

from archive.discover.nextjs import article_items, find_objects, flight_chunks, flight_text


def push(text: str) -> str:
    # Next.js escapes '<' inside the literal so '</script>' cannot end the script
    literal = json.dumps(text, ensure_ascii=False).replace("<", "\\u003c")
    return f"<script>self.__next_f.push([1,{literal}])</script>"


def page(flight: str, pieces: int = 3) -> str:
    size = max(1, len(flight) // pieces + 1)
    chunks = [flight[i:i + size] for i in range(0, len(flight), size)]
    scripts = "".join(push(c) for c in chunks)
    return ("<!DOCTYPE html><html><head><script>(self.__next_f=self.__next_f||[])"
            ".push([0])</script></head><body><nav><a href='/english'>English</a></nav>"
            f"{scripts}<script>self.__next_f.push([2,null])</script></body></html>")


ITEMS = [
    {"ID": 1079288, "Title": "Talks \"resume\" in Erbil </script>", "Summary": "S1",
     "imgPath": "/images/a.jpg", "categorySlug": "syria",
     "PublishedDate": "2026-11-20T10:15:00+03:00"},
    {"categorySlug": "kurdistan", "ID": 1079100, "Title": "Second {brace", "nested":
     {"image": {"w": 1}}, "Summary": "S2"},
    {"ID": "1079300", "Title": "String id", "categorySlug": "world"},
]


def flight_for(items) -> str:
    return ('0:["$","html",null,{"lang":"en"}]\n'
            '5:["$","div",null,{"children":"$L7"}]\n'
            "7:" + json.dumps({"latest": items, "menu": [{"categorySlug": "x"}]},
                              ensure_ascii=False) + "\n")


def test_chunks_decode_escapes():
    html = page("a\"b\\c</script>\u0627", pieces=1)
    assert flight_chunks(html) == ["a\"b\\c</script>\u0627"]
    assert flight_chunks(html.encode("utf-8")) == ["a\"b\\c</script>\u0627"]


def test_objects_straddling_chunks_are_found_in_order():
    flight = flight_for(ITEMS)
    for pieces in (1, 3, 7, 40):
        html = page(flight, pieces)
        assert flight_text(html) == flight
        found = article_items(html)
        assert [o["ID"] for o in found] == [1079288, 1079100, "1079300"], pieces
        assert found[0]["Title"] == 'Talks "resume" in Erbil </script>'
        assert found[1]["nested"] == {"image": {"w": 1}}


def test_objects_without_id_or_with_bad_values_are_skipped():
    bad = [{"ID": True, "categorySlug": "a"}, {"ID": 5, "categorySlug": ""},
           {"ID": "abc", "categorySlug": "b"}, {"Title": "no id", "categorySlug": "c"}]
    assert article_items(page(flight_for(bad))) == []


def test_duplicates_collapse_but_same_id_other_slug_stays():
    twin = dict(ITEMS[0], categorySlug="middleeast")
    html = page(flight_for([ITEMS[0], ITEMS[0], twin]))
    found = article_items(html)
    assert [(o["ID"], o["categorySlug"]) for o in found] == [
        (1079288, "syria"), (1079288, "middleeast")]


def test_anchor_in_string_value_and_broken_json_do_not_crash():
    text = ('{"note":"the key \\"categorySlug\\" is documented"} '
            '{"ID":1,"categorySlug": broken} {"ID":2,"categorySlug":"ok","x":[1,2]}')
    assert find_objects(text) == [{"ID": 2, "categorySlug": "ok", "x": [1, 2]}]


def test_pages_without_flight_data():
    assert article_items("<html><body><a href='/x'>x</a></body></html>") == []
    assert article_items(b"") == []
    # a malformed literal is skipped, later ones still read
    html = ('<script>self.__next_f.push([1,"unterminated</script>'
            + push(flight_for(ITEMS[:1])))
    assert [o["ID"] for o in article_items(html)] == [1079288]
