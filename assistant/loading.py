"""Read article files (text, Markdown, HTML, JSON Lines) into ``Article`` records.

Every problem with a file becomes a ``(file, reason)`` rejection; good files still load.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path

from assistant.errors import InvalidInput
from assistant.types import Article
from assistant.validation import clean_text, find_date

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
_JSONL_ORIGIN = re.compile("|".join(re.escape(s) + "#" for s in sorted(JSONL_SUFFIXES)), re.I)
MAX_FILE_BYTES = 50_000_000
MAX_ARTICLE_CHARS = 2_000_000

_DATE_LINE = re.compile(r"\A\s*date[:\s]\s*(\d{4}-\d{2}-\d{2})\b[ \t]*\n?", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
# the heading's line only; its closing hashes are dropped by ``_heading_title``, not here: a
# pattern doing both backtracked for minutes over a long run of spaces
_MD_HEADING = re.compile(r"\A\s*+#{1,6}[ \t]([^\n]*+)\n")
_BOMS = (  # longest first: the UTF-32-LE mark begins with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


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


def normalize_date(value: object, field: str = "date") -> str:
    """``YYYY-MM-DD`` from a date or ISO timestamp; ValueError naming ``field`` when unreadable."""
    if value in (None, ""):
        return ""
    try:
        day = find_date(str(value), field)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None
    return day.isoformat() if day else ""


def path_text(path: Path | str) -> str:
    """A path as text that can be stored and printed: undecodable bytes of a file name are
    shown as ``\\xNN`` (the same name always gives the same text)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_skipped(rel: Path) -> bool:
    if any(part.startswith(".") for part in rel.parts):
        return True
    return rel.stem.upper() == "README"


def _skip_reason(path: Path) -> str | None:
    """Why a directory entry is not an article file, or None when it may be read."""
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link points back at itself)"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return f"broken symbolic link (its target {path_text(os.readlink(path))} is missing)"
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISDIR(info.st_mode):
        if path.is_symlink():
            return "a link to a folder (links to folders are not followed)"
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            return "a folder named like an article file, not a file"
        return None
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)"
    return None


def iter_entries(path: Path) -> Iterator[tuple[Path, str | None]]:
    """``(file, reason)`` for every entry under ``path``: reason None for files to read, else
    why it is skipped. Hidden files and READMEs are left out silently; links to folders are
    not followed."""
    reason = _skip_reason(path)
    if reason is None and not path.is_dir():
        yield path, None
        return
    if reason is not None and not path.is_dir():
        yield path, reason
        return
    for folder, dirs, files in os.walk(path, followlinks=False):
        base = Path(folder)
        entries = []
        for name in list(dirs):
            child = base / name
            if _is_skipped(child.relative_to(path)):
                dirs.remove(name)
                continue
            why = _skip_reason(child)
            if why is not None:
                dirs.remove(name)
                entries.append((child, why))
        for name in files:
            child = base / name
            if not _is_skipped(child.relative_to(path)):
                entries.append((child, _skip_reason(child)))
        dirs.sort()
        yield from sorted(entries, key=lambda e: os.fsencode(e[0]))


def iter_files(path: Path) -> Iterator[Path]:
    """Article files under ``path`` (or ``path`` itself), skipping hidden files and READMEs."""
    for file, reason in iter_entries(path):
        if reason is None:
            yield file


def load_path(path: Path) -> tuple[list[Article], list[tuple[str, str]]]:
    """All articles under ``path`` and the rejected files with their reasons."""
    articles: list[Article] = []
    rejected: list[tuple[str, str]] = []
    for file, reason in iter_entries(Path(path)):
        if reason is not None:
            rejected.append((path_text(file), reason))
            continue
        found, problems = load_file(file)
        articles.extend(found)
        rejected.extend(problems)
    return articles, rejected


def read_file(file: Path, limit: int | None = None, follow_symlinks: bool = True) -> bytes:
    """The bytes of a regular file, without following a FIFO or device into a hang and without
    reading more than ``limit`` bytes (default ``MAX_FILE_BYTES``); OSError or ValueError
    saying why not."""
    limit = MAX_FILE_BYTES if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(file, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file (a device, pipe or socket)")
        if info.st_size > limit:
            raise ValueError(f"file too large ({info.st_size:,} bytes; limit {limit:,})")
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise ValueError(f"file too large (more than {limit:,} bytes)")
    return raw


def load_file(file: Path) -> tuple[list[Article], list[tuple[str, str]]]:
    """Articles in one file (JSON Lines may hold many) and any rejections."""
    name = path_text(file)
    if file.suffix.lower() not in SUPPORTED_SUFFIXES:
        return [], [(name, unsupported_reason(file.name))]
    reason = _skip_reason(file)
    if reason is not None:
        return [], [(name, reason)]
    try:
        raw = read_file(file)
    except OSError as exc:
        return [], [(name, f"cannot read file: {exc.strerror or exc}")]
    except ValueError as exc:
        return [], [(name, str(exc))]
    return parse_bytes(raw, name, path_text(file.resolve()))


def unsupported_reason(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    accepted = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type '{clean_text(suffix or file_name)}' (accepted: {accepted})"


def parse_bytes(raw: bytes, name: str, origin: str) -> tuple[list[Article], list[tuple[str, str]]]:
    """Articles in the bytes of a file called ``name`` (its suffix picks the format)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return [], [(name, unsupported_reason(name))]
    try:
        text = decode(raw)
    except ValueError as exc:
        return [], [(name, str(exc))]
    if suffix in JSONL_SUFFIXES:
        articles, rejected = parse_jsonl(text, origin, name)
        return [clean_article(a) for a in articles], rejected
    try:
        if suffix in HTML_SUFFIXES:
            article = parse_html(text, origin, fallback_title=clean_text(Path(name).stem))
        else:
            article = parse_text(text, origin, fallback_source=clean_text(Path(name).name))
    except ValueError as exc:
        return [], [(name, str(exc))]
    return [clean_article(article)], []


def clean_article(article: Article) -> Article:
    """The article with every text field valid Unicode (JSON escapes can carry lone
    surrogates, which no index can store)."""
    changes = {}
    for f in fields(article):
        value = getattr(article, f.name)
        if isinstance(value, str):
            fixed = clean_text(value)
            if fixed != value:
                changes[f.name] = fixed
    return replace(article, **changes) if changes else article


def decode(raw: bytes) -> str:
    """Text from bytes: a byte-order mark (UTF-8, UTF-16, UTF-32) decides, else UTF-8, else
    Windows-1252; binary data is refused."""
    for bom, codec, label in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"not valid {label} text despite its byte-order mark (byte {exc.start})"
                ) from None
    if b"\x00" in raw[:4096]:
        raise ValueError("binary file, not text (contains NUL bytes)")
    try:
        return raw.decode("utf-8")
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
        title = _heading_title(heading.group(1))
        text = text[heading.end() :]
    text = _check_text(_clean(text))
    field = "published_at" if meta.get("published_at") else "date"
    published = normalize_date(meta.get(field), field)
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
        published_at=normalize_date(published, "published time"),
        url=url,
        origin=origin,
    )


def origin_file(origin: str) -> str:
    """The file an article came from, given its origin: the path itself, or "path#id" for a
    JSON Lines article. A path may hold "#" too ("Issue #42.md", "/data/C#/corpus")."""
    found = _JSONL_ORIGIN.search(origin)  # not via lower(): "İ" lowers to two characters
    return origin[: found.end() - 1] if found else origin  # up to the "#"


def _heading_title(line: str) -> str:
    """A Markdown heading's text: "Title ##" -> "Title", but "C#" stays "C#"."""
    title = line.strip(" \t")
    bare = title.rstrip("#")
    if bare != title and (not bare or bare[-1] in " \t"):
        title = bare.rstrip(" \t")
    return title.strip()


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
        except RecursionError:  # "[[[[...]]]]" nested past Python's limit
            rejected.append((where, "invalid JSON: nested too deeply"))
            continue
        if not isinstance(obj, dict):
            rejected.append((where, "not a JSON object"))
            continue
        # JSON escapes can spell lone surrogates ("\ud800"): repair before any use
        obj = {k: clean_text(v) if isinstance(v, str) else v for k, v in obj.items()}
        body = obj.get("text")
        if not isinstance(body, str) or not body.strip():
            rejected.append((where, "missing 'text'"))
            continue
        try:
            body = _check_text(_clean(body))
            field = "published_at" if obj.get("published_at") else "date"
            published = normalize_date(obj.get(field), field)
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
