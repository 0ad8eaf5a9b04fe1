"""Read article files (text, Markdown, HTML, JSON Lines) into ``Article`` records.

Every problem with a file becomes a ``(file, reason)`` rejection; good files still load.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from assistant.types import Article

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MAX_FILE_BYTES = 50_000_000
MAX_ARTICLE_CHARS = 2_000_000

_DATE_LINE = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\b[ \t]*\n?", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
_MD_HEADING = re.compile(r"\A\s*#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*\n")
_ISO_PREFIX = re.compile(r"(\d{4}-\d{2}-\d{2})")


def content_hash(article: Article) -> str:
    """Hash of everything stored for an article; a change means re-chunking it."""
    blob = "\x1f".join(
        [article.title, article.text, article.source, article.published_at, article.url]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def text_hash(title: str, text: str) -> str:
    """Hash of an article's title and text, used to spot the same article filed twice.

    Metadata aside (source, date, url), the same headline over the same body is a duplicate;
    different headlines over one scraped body are not (the headline may be all that differs).
    """
    blob = " ".join(title.split()) + "\x1f" + " ".join(text.split())
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_article_id(source: str, text: str) -> str:
    """Stable id from the article's source and content."""
    return "a" + hashlib.sha256(f"{source}\n{text}".encode()).hexdigest()[:15]


def normalize_date(value: object) -> str:
    """``YYYY-MM-DD`` from a date or timestamp string; raises ValueError when unreadable."""
    if value in (None, ""):
        return ""
    match = _ISO_PREFIX.search(str(value))
    if not match:
        raise ValueError(f"unreadable date {value!r} (expected YYYY-MM-DD)")
    date.fromisoformat(match.group(1))  # validates the calendar date
    return match.group(1)


def iter_files(path: Path) -> Iterator[Path]:
    """Article files under ``path`` (or ``path`` itself), skipping hidden files and READMEs."""
    if path.is_file():
        yield path
        return
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if file.stem.upper() == "README":
            continue
        yield file


def load_path(path: Path) -> tuple[list[Article], list[tuple[str, str]]]:
    """All articles under ``path`` and the rejected files with their reasons."""
    articles: list[Article] = []
    rejected: list[tuple[str, str]] = []
    for file in iter_files(path):
        found, problems = load_file(file)
        articles.extend(found)
        rejected.extend(problems)
    return articles, rejected


def load_file(file: Path) -> tuple[list[Article], list[tuple[str, str]]]:
    """Articles in one file (JSON Lines may hold many) and any rejections."""
    name = str(file)
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        accepted = ", ".join(sorted(SUPPORTED_SUFFIXES))
        return [], [(name, f"unsupported file type '{suffix or file.name}' (accepted: {accepted})")]
    try:
        raw = file.read_bytes()
    except OSError as exc:
        return [], [(name, f"cannot read file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:
        return [], [(name, f"file too large ({len(raw):,} bytes; limit {MAX_FILE_BYTES:,})")]
    try:
        text = decode(raw)
    except ValueError as exc:
        return [], [(name, str(exc))]
    origin = str(file.resolve())
    if suffix in JSONL_SUFFIXES:
        return parse_jsonl(text, origin, name)
    try:
        if suffix in HTML_SUFFIXES:
            article = parse_html(text, origin, fallback_title=file.stem)
        else:
            article = parse_text(text, origin, fallback_source=file.name)
    except ValueError as exc:
        return [], [(name, str(exc))]
    return [article], []


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252; binary data is refused."""
    if b"\x00" in raw[:4096]:
        raise ValueError("binary file, not text (contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 or Windows-1252 text (byte {exc.start})") from None


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    return text.strip()


def _check_text(text: str) -> str:
    if not text.strip():
        raise ValueError("no article text")
    if len(text) > MAX_ARTICLE_CHARS:
        raise ValueError(f"article too long ({len(text):,} characters)")
    return text


def _first_sentence_title(text: str, limit: int = 90) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0].strip()
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def parse_text(text: str, origin: str, fallback_source: str = "") -> Article:
    """Plain text or Markdown: optional front matter or a ``date YYYY-MM-DD`` first line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    meta: dict[str, str] = {}
    fm = _FRONT_MATTER.match(text)
    if fm:
        for line in fm.group(1).splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"front matter line without 'key: value': {line.strip()!r}")
            meta[key.strip().lower()] = value.strip().strip("'\"")
        text = text[fm.end() :]
    dl = _DATE_LINE.match(text)
    if dl and "date" not in meta and "published_at" not in meta:
        meta["date"] = dl.group(1)
        text = text[dl.end() :]
    title = meta.get("title", "")
    heading = _MD_HEADING.match(text)
    if heading and not title:
        title = heading.group(1).strip()
        text = text[heading.end() :]
    text = _check_text(_clean(text))
    published = normalize_date(meta.get("published_at") or meta.get("date"))
    source = meta.get("source") or fallback_source
    return Article(
        id=meta.get("id") or make_article_id(source, text),
        title=title or _first_sentence_title(text),
        text=text,
        source=source,
        published_at=published,
        url=meta.get("url", ""),
        origin=origin,
    )


_HTML_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe")
_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre")


def _meta(soup, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content"):
            return tag["content"].strip()
    return ""


def parse_html(html: str, origin: str, fallback_title: str = "") -> Article:
    """HTML page: main text from <article>/<main>/<body> blocks, boilerplate dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = _meta(soup, "og:title", "twitter:title")
    if not title and soup.title and soup.title.string:
        title = soup.title.string.strip()
    h1 = soup.find("h1")
    if not title and h1:
        title = h1.get_text(" ", strip=True)
    published = _meta(soup, "article:published_time", "date", "pubdate", "dc.date")
    if not published:
        time_tag = soup.find("time", attrs={"datetime": True})
        published = time_tag["datetime"] if time_tag else ""
    source = _meta(soup, "og:site_name", "application-name")
    url = _meta(soup, "og:url")
    canonical = soup.find("link", rel="canonical")
    if not url and canonical and canonical.get("href"):
        url = canonical["href"]
    for tag in soup(list(_HTML_DROP)):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    for block in root.find_all(_HTML_BLOCKS):
        if block.find(_HTML_BLOCKS):  # a container of blocks: its children are taken instead
            continue
        line = " ".join(block.get_text(" ", strip=True).split())
        if line and line != title:
            blocks.append(line)
    if not blocks:
        blocks = [" ".join(root.get_text(" ", strip=True).split())]
    text = _check_text("\n\n".join(b for b in blocks if b))
    source = source or Path(origin).name
    return Article(
        id=make_article_id(source, text),
        title=title or fallback_title or _first_sentence_title(text),
        text=text,
        source=source,
        published_at=normalize_date(published),
        url=url,
        origin=origin,
    )


def parse_jsonl(text: str, origin: str, name: str) -> tuple[list[Article], list[tuple[str, str]]]:
    """One article per line: ``id, title, source, published_at, url, text``."""
    articles: list[Article] = []
    rejected: list[tuple[str, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rejected.append((where, f"invalid JSON: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            rejected.append((where, "not a JSON object"))
            continue
        body = obj.get("text")
        if not isinstance(body, str) or not body.strip():
            rejected.append((where, "missing 'text'"))
            continue
        try:
            body = _check_text(_clean(body))
            published = normalize_date(obj.get("published_at") or obj.get("date"))
        except ValueError as exc:
            rejected.append((where, str(exc)))
            continue
        source = str(obj.get("source") or Path(name).name)
        article_id = str(obj.get("id") or make_article_id(source, body))
        articles.append(
            Article(
                id=article_id,
                title=str(obj.get("title") or _first_sentence_title(body)),
                text=body,
                source=source,
                published_at=published,
                url=str(obj.get("url") or ""),
                origin=f"{origin}#{article_id}",
            )
        )
    if not articles and not rejected:
        rejected.append((name, "no articles in file"))
    return articles, rejected
