"""Rebuild ``bench/evalset/*.jsonl.gz`` from public PyPI source distributions.

Why a script: the evaluation pages come from other projects' test suites, and anyone must be
able to check where every page and every gold text came from (SOURCES.md says the same in
prose).  Run it from the repository root; it calls ``pip download`` for two pinned sdists:

- newspaper4k 0.9.6 (MIT): ``tests/data/html/*.html`` with gold article text
  ``tests/data/txt/*.txt`` -> ``newspaper4k.jsonl.gz`` (token-level gold)
- trafilatura 1.0.0: ``tests/cache/*.html`` with the snippet assertions of
  ``tests/realworld_tests.py`` ("must contain" / "must not contain") -> ``trafilatura.jsonl.gz``;
  "must contain" snippets that are reader comments are set aside (see _comment_snippets)

Each output line: {"id", "source", "url", "html", "gold_text" | "with"+"without", "licence"}.
"""

from __future__ import annotations

import ast
import gzip
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

NEWSPAPER = "newspaper4k==0.9.6"
TRAFILATURA = "trafilatura==1.0.0"

# gold texts in newspaper4k that are not the article body of the paired page
NEWSPAPER_SKIP = {
    "cnn_summary": "summary of cnn_article, not a page",
    "cnn_test_nlp": "NLP fixture text, not the page's body",
}
NEWSPAPER_URLS = {
    "thai_article": "https://prachatai.com/journal/2019/01/80642",
    "arabic_article": "http://arabic.cnn.com/2013/middle_east/8/2/syria.clashes/index.html",
    "spanish_article": "http://ultimahora.es/mallorca/noticia/noticias/local/"
                       "fiscalia-anticorrupcion-estudia-recurre-imputacion-infanta.html",
    "chinese_article": "http://news.sohu.com/20050601/n225789219.shtml",
    "japanese_article": "https://www.nikkei.com/article/DGXMZO31897660Y8A610C1000000/",
    "japanese_article2": "http://www.afpbb.com/articles/-/3178894",
    "chinese_article_001": "https://china.chinadaily.com.cn/a/202311/17/"
                           "WS65571297a310d5acd876f404.html",
    "chinese_article_002": "http://www.news.cn/fortune/2023-11/17/c_1129981476.htm",
    "latvian_article": "https://www.lsm.lv/raksts/zinas/arzemes/"
                       "norvegija-pec-zemes-nogruvuma-pieci-bojagajusie.a387519/",
    "burmese_article": "https://www.bbc.com/burmese/burma-45989453",
}


def _sdist(spec: str, dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", spec, "--no-binary", ":all:",
                    "--no-deps", "-q", "-d", str(dest)], check=True)
    name = spec.split("==")[0]
    (archive,) = dest.glob(f"{name}-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return next(p for p in dest.iterdir() if p.is_dir() and p.name.startswith(name))


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def newspaper_pages(root: Path) -> list[dict]:
    data = root / "tests" / "data"
    pages = []
    for gold in sorted((data / "txt").glob("*.txt")):
        name = gold.stem
        html = data / "html" / f"{name}.html"
        if not html.exists() or name in NEWSPAPER_SKIP:
            continue
        url = NEWSPAPER_URLS.get(name)
        meta = data / "metadata" / f"{name}.json"
        if url is None and meta.exists():
            url = json.loads(meta.read_text(encoding="utf-8")).get("url")
        pages.append({"id": f"newspaper4k/{name}", "source": "newspaper4k", "url": url or "",
                      "html": _read_text(html), "gold_text": _read_text(gold),
                      "licence": "MIT (newspaper4k test data); page text (c) its publisher"})
    return pages


def _snippets(test: ast.AST) -> tuple[list[str], list[str]]:
    """'x' in result -> with, 'x' not in result -> without (any nesting of and/or)."""
    with_, without = [], []
    for node in ast.walk(test):
        if (isinstance(node, ast.Compare) and len(node.ops) == 1
                and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
                and isinstance(node.comparators[0], ast.Name)
                and node.comparators[0].id == "result"):
            if isinstance(node.ops[0], ast.In):
                with_.append(node.left.value)
            elif isinstance(node.ops[0], ast.NotIn):
                without.append(node.left.value)
    return with_, without


def _comment_snippets(html: str, url: str, snippets: list[str]) -> set[str]:
    """"Must contain" snippets that sit in the page's reader comments.

    trafilatura's tests extract with comments on; our contract (and the baseline we compare
    with) leaves comments out, so such snippets would count against both.  A snippet is a
    comment when trafilatura 2.3.1 finds it in its comments section and not in the body.
    """
    from trafilatura import bare_extraction

    document = bare_extraction(html, url=url, include_comments=True)
    if document is None:
        return set()
    body, comments = _flat(document.text or ""), _flat(document.comments or "")
    return {s for s in snippets if _flat(s) in comments and _flat(s) not in body}


def _flat(text: str) -> str:
    return " ".join(text.split())


def trafilatura_pages(root: Path) -> list[dict]:
    source = (root / "tests" / "realworld_tests.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    mock: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "MOCK_PAGES":
            mock = ast.literal_eval(node.value)
    func = next(n for n in tree.body
                if isinstance(n, ast.FunctionDef) and n.name == "test_extract")
    gold: dict[str, dict[str, list[str]]] = {}
    current = None

    def visit(statements: list[ast.stmt]) -> None:
        nonlocal current
        for stmt in statements:
            if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                    and getattr(stmt.value.func, "id", "") == "load_mock_page"):
                current = ast.literal_eval(stmt.value.args[0])
                gold.setdefault(current, {"with": [], "without": []})
            elif isinstance(stmt, ast.Assert) and current:
                with_, without = _snippets(stmt.test)
                gold[current]["with"].extend(with_)
                gold[current]["without"].extend(without)
            elif isinstance(stmt, ast.If):
                visit(stmt.body)

    visit(func.body)
    pages = []
    for url, snippets in gold.items():
        path = root / "tests" / "cache" / mock.get(url, "")
        if not path.is_file():
            continue
        html = _read_text(path)
        in_comments = _comment_snippets(html, url, snippets["with"])
        with_ = sorted(set(snippets["with"]) - in_comments)
        if not with_:
            continue
        pages.append({"id": f"trafilatura/{path.stem}", "source": "trafilatura", "url": url,
                      "html": html, "with": with_, "without": sorted(set(snippets["without"])),
                      "dropped_comment_snippets": sorted(in_comments),
                      "licence": "trafilatura test cache (Apache-2.0 project since 1.8); "
                                 "page text (c) its publisher"})
    return pages


def write(pages: list[dict], name: str) -> None:
    lines = "".join(json.dumps(page, ensure_ascii=False) + "\n" for page in pages)
    with open(HERE / name, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                       compresslevel=9) as out:
        out.write(lines.encode("utf-8"))  # mtime 0: a rebuild gives the same bytes
    print(f"{name}: {len(pages)} pages")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        write(newspaper_pages(_sdist(NEWSPAPER, tmp_path / "n")), "newspaper4k.jsonl.gz")
        write(trafilatura_pages(_sdist(TRAFILATURA, tmp_path / "t")), "trafilatura.jsonl.gz")


if __name__ == "__main__":
    main()
