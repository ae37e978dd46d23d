"""archive.extract on invented pages, one per cause of empty or damaged text seen on real
pages: the fallback ladder, the article-or-not evidence, control bytes, Unicode forms,
and list/Q&A blocks in the middle of a body."""

from __future__ import annotations

import unicodedata

import trafilatura

from archive.extract.article import build_record
from archive.extract.extractor import extract
from archive.outlet.config import outlet_from_mapping

URL = "http://news.example.org/2024/05/12/story"
BLOG_SENTENCES = [
    "Last weekend I finally planted the runner beans along the fence, after two months of "
    "reading about soil and shade.",
    "The seed order arrived in a damp box, but every seedling survived the trip and the "
    "first night outside.",
    "My neighbour lent me a heavy garden fork, which made the digging much quicker than "
    "the old spade I inherited.",
    "Next month I will write about the first harvest and whether the slugs leave anything "
    "for us to eat.",
]
LIGHTHOUSE = [
    "The harbour town of Velmora spent the winter arguing about its old lighthouse, which "
    "has not guided a ship since the radar mast went up on the northern cliff.",
    "Volunteers from the rowing club counted the visitors who climbed the spiral stairs "
    "each weekend, and the tally surprised the council members who had planned to sell.",
    "By spring the council agreed to keep the tower open for another season while a small "
    "trust raises money for new railings and a repaired lantern room.",
]


def page(body: str, head: str = "", lang: str = "en") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}'
            f"<title>Story - Example News</title></head><body>"
            f'<header><a href="/">Home</a></header>{body}'
            f"<footer><p>Example News</p></footer></body></html>")


def blog_page() -> str:
    # "bottom" as a class token is page-bottom chrome to trafilatura's precision mode
    paragraphs = "".join(f"<p>{s}</p>" for s in BLOG_SENTENCES)
    return page(f'<div id="post"><h1>Planting day</h1><p class="date">12 May 2024</p>'
                f'<div class="bottom">{paragraphs}</div></div>')


def test_blog_post_whose_precision_pass_keeps_only_the_date_gets_its_text():
    precise = trafilatura.extract(blog_page(), favor_precision=True, fast=True)
    assert precise.strip() == "12 May 2024"  # the cause, as trafilatura has it
    record = extract(blog_page(), URL)
    assert record is not None
    assert record["text"].split("\n\n") == BLOG_SENTENCES
    assert record["extraction"]["rung"] == "broad"
    assert record["published"] == "2024-05-12"


def test_ladder_choice_is_recorded_in_extractor_options():
    outlet = outlet_from_mapping({"name": "blog", "start_urls": ["http://news.example.org/"],
                                  "article_urls": ["/20"]})
    broad = build_record({"url": URL, "body": blog_page().encode(), "status": 200}, outlet, "r1")
    assert broad["extractor"]["options"]["rung"] == "broad"
    plain = build_record({"url": URL, "body": lighthouse_page("").encode(), "status": 200},
                         outlet, "r1")
    assert plain["extractor"]["options"]["rung"] == "precision"


CJK = [
    "本市今天上午举行了新图书馆的开馆仪式。",
    "图书馆位于老城区的河边，共有五层。",
    "馆内藏书约二十万册，其中儿童读物占三成。",
    "市民可以凭身份证免费办理借书证。",
    "开馆第一天，前来参观的市民排起了长队。",
    "一位退休教师说，她每周都会来这里看报纸。",
    "馆长表示，明年将增加外文图书和电子阅览室。",
    "图书馆每天早上八点开门，晚上九点关门。",
    "周末还将举办面向中小学生的读书活动。",
    "附近的公交车站也增加了两条线路。",
    "市政府计划在其他城区再建三座分馆。",
    "有关部门提醒市民遵守馆内的安静规定。",
    "不少家长带着孩子在儿童阅览区读绘本。",
    "一名大学生说，这里的自习座位比学校还多。",
    "新馆的建设历时三年，总投资约两亿元。",
    "屋顶安装了太阳能板，可以满足部分用电。",
    "馆内的咖啡角由本地的一家残疾人企业经营。",
    "图书馆还与社区合作，为老年人提供上门借书服务。",
    "开馆仪式结束后，一支学生乐队进行了演出。",
    "市民对新馆的设计和服务普遍表示满意。",
]


def cjk_page(dated: bool) -> str:
    sidebar = "".join(f'<div class="card"><h3><a href="/news/{i}">其他新闻标题第{i}条</a></h3>'
                      f"</div>" for i in range(8))
    head = '<meta property="article:published_time" content="2024-05-12T09:00:00+08:00">' \
        if dated else ""
    body = "".join(f"<p>{p}</p>" for p in CJK)
    return page(f'<main><div class="story"><h1>新图书馆开馆</h1>{body}</div>'
                f'<div class="more">{sidebar}</div></main>', head, lang="zh")


def test_cjk_article_with_short_paragraphs_and_linked_sidebar_is_an_article():
    for dated in (False, True):
        record = extract(cjk_page(dated), URL)
        assert record is not None, dated
        assert record["text"].split("\n\n") == CJK
        assert record["language"] == "cmn"


def test_index_of_links_is_still_not_an_article():
    links = "".join(f'<li><a href="/p/{i}">An invented page title number {i}</a></li>'
                    for i in range(30))
    assert extract(page(f"<main><h1>All pages</h1><ul>{links}</ul></main>"), URL) is None


def test_control_bytes_are_removed_before_parsing():
    html = lighthouse_page("").replace("<article>", "<article>\x07\x0b").replace(
        "lighthouse,", "light\x07house,").replace("<p>", "<p>\x1b", 1)
    for data in (html, html.encode()):
        record = extract(data, URL)
        assert record is not None
        assert record["text"].split("\n\n") == LIGHTHOUSE
        assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in record["text"])


BENGALI_DECOMPOSED = [  # "ো" written as e-kar + aa-kar, "য়" as one code point: both non-NFC
    "আমাদের গ্রামে নতুন স্কুল খে\u09be\u09b2া হ\u09dfেছে এবং প্রথম দিনে অনেক ছাত্রছাত্রী এসেছে।",
    "শিক্ষকরা বলেছেন যে বর্ষার আগে মাঠের কাজ শেষ হবে এবং খেলার জায়গা তৈরি হবে।",
    "গ্রামের মানুষ স্কুলের জন্য বই আর বেঞ্চ দান করেছেন, যা সবাইকে খুশি করেছে।",
    "প্রধান শিক্ষক জানালেন, আগামী বছর থেকে বিকেলে কম্পিউটার শেখার ক্লাসও চালু হবে।",
]


def test_bengali_text_title_and_authors_are_nfc():
    head = '<meta name="author" content="রহিম উদ\u09cdদিন">'
    body = "".join(f"<p>{p}</p>" for p in BENGALI_DECOMPOSED)
    html = page(f"<article><h1>নতুন স্কুল খ\u09c7\u09beলা হ\u09dfেছে</h1>{body}</article>",
                head, lang="bn")
    record = extract(html, URL)
    assert record is not None
    for value in (record["text"], record["title"], *record["authors"]):
        assert value == unicodedata.normalize("NFC", value)
    assert "\u09dc" not in record["text"] and "\u09df" not in record["text"]
    assert "খোলা" in record["title"]
    assert record["text"].split("\n\n") == [unicodedata.normalize("NFC", p)
                                            for p in BENGALI_DECOMPOSED]


LIST_AND_QA = (
    "<p>The trust lists what it needs:</p><ul>"
    '<li><a href="/a">New railings for the gallery</a></li>'
    '<li><a href="/b">A repaired lantern room roof</a></li>'
    '<li><a href="/c">Fresh paint for the stairs</a></li></ul>'
    '<p><b>Q:</b> <a href="/q">Who pays for all of the repairs?</a></p>'
    '<p><b>A:</b> <a href="/r">The trust, with help from the visitors.</a></p>'
)


def lighthouse_page(middle: str) -> str:
    return page(f"<main><article><h1>Lighthouse stays open</h1><p>{LIGHTHOUSE[0]}</p>"
                f"{middle}<p>{LIGHTHOUSE[1]}</p><p>{LIGHTHOUSE[2]}</p></article></main>")


def test_list_and_qa_between_paragraphs_survive():
    html = lighthouse_page(LIST_AND_QA)
    precise = trafilatura.extract(html, favor_precision=True, fast=True)
    assert "New railings" not in precise and "Who pays" not in precise  # the cause
    record = extract(html, URL)
    assert record["text"].split("\n\n") == [
        LIGHTHOUSE[0], "The trust lists what it needs:", "- New railings for the gallery",
        "- A repaired lantern room roof", "- Fresh paint for the stairs",
        "Q: Who pays for all of the repairs?", "A: The trust, with help from the visitors.",
        LIGHTHOUSE[1], LIGHTHOUSE[2]]
    assert record["extraction"]["filled_blocks"] == 5


def test_link_box_between_paragraphs_is_not_restored():
    box = ('<div><h4>Read also</h4><ul><li><a href="/x">Ferry</a></li>'
           '<li><a href="/y">Harbour</a></li><li><a href="/z">Storm</a></li></ul></div>')
    record = extract(lighthouse_page(box), URL)
    assert record["text"].split("\n\n") == LIGHTHOUSE


def test_layout_table_rows_between_kept_rows_come_back_from_the_second_pass():
    from archive.extract.tablefill import fill_from_pass, is_layout_table

    precise = ["| first row of the story |", "| third row of the story |"]
    broad = ["| menu |", precise[0], "| second row of the story |", precise[1], "| footer |"]
    assert is_layout_table(precise) and not is_layout_table(LIGHTHOUSE)
    assert fill_from_pass(precise, broad) == (
        [precise[0], "| second row of the story |", precise[1]], 1)
