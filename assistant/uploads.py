"""Uploads from the web app: only files that arrived with the request, parsed before they
are stored under safe names in ``corpus/uploads/``, then ingested one by one."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AssistantError, UploadRefused
from assistant.loading import (
    SUPPORTED_SUFFIXES,
    origin_file,
    parse_bytes,
    path_text,
    read_file,
)
from assistant.types import IngestSummary
from assistant.ui import escape_markdown
from assistant.validation import clean_text

UPLOAD_DIR = "uploads"
MAX_UPLOAD_FILES = 50
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")

# Called with (share done, 0 to 1; what is happening), e.g. to drive gr.Progress.
UploadProgress = Callable[[float, str], None]


def safe_name(name: str) -> str:
    """A file name with no path and only harmless characters; the suffix kept, lower-cased."""
    base = Path(clean_text(str(name)).replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _SAFE.sub("-", stem).strip(".-_")[:80] or "article"
    return f"{stem}{_SAFE.sub('', suffix)[:12]}"


@dataclass
class UploadReport:
    stored: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    summaries: list[IngestSummary] = field(default_factory=list)

    def markdown(self) -> str:
        return "\n".join(f"- {m}" for m in self.messages) or "Nothing uploaded."


def _path_shown(upload) -> str:
    """An upload's path as text, whatever it holds (a lone surrogate cannot be a file name
    on this system, but is still shown)."""
    if not isinstance(upload, (str, os.PathLike)):
        return "?"
    try:
        return path_text(upload)
    except (UnicodeError, TypeError):
        return clean_text(str(os.fspath(upload)))


def read_upload(upload, upload_root: Path | None) -> bytes:
    """The bytes of an uploaded file, refused (``UploadRefused``) unless it lies inside
    ``upload_root`` once every link is resolved, is a regular file, and is within size."""
    if not isinstance(upload, (str, os.PathLike)):
        raise UploadRefused(f"not a file path ({type(upload).__name__}).")
    path = Path(upload)
    if upload_root is not None:
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # ValueError: not encodable as a file name
            raise UploadRefused("no such uploaded file.") from None
        if not real.is_relative_to(Path(upload_root).resolve()):
            raise UploadRefused(
                "it did not arrive with this upload (it lies outside the upload folder); "
                "only files sent with the request are read."
            )
        path = real
    try:
        return read_file(path, follow_symlinks=upload_root is None)
    except OSError as exc:
        raise UploadRefused(f"cannot read it ({exc.strerror or exc}).") from None
    except ValueError as exc:
        raise UploadRefused(f"{exc}.") from None


def _foreign_ids(assistant, articles, origin: str) -> list[str]:
    """Ids among ``articles`` that already belong to an article of another file."""
    try:
        records = assistant.store.article_records([a.id for a in articles])
    except AssistantError:  # no index yet
        return []
    return [
        a.id for a in articles if a.id in records and origin_file(records[a.id].origin) != origin
    ]


def _target(target_dir: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """Where an upload is stored: its safe name, or a numbered variant when another file
    already has that name; and whether the same bytes are already there."""
    digest = hashlib.sha256(data).hexdigest()
    target, n = target_dir / name, 1
    while target.exists():
        try:
            if hashlib.sha256(read_file(target, follow_symlinks=False)).hexdigest() == digest:
                return target, True
        except (OSError, ValueError):
            pass
        target = target_dir / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return target, False


def ingest_uploads(
    assistant,
    files: list[str | Path],
    corpus_dir: Path,
    upload_root: Path | None = None,
    on_progress: UploadProgress | None = None,
) -> UploadReport:
    """Store uploads in ``corpus_dir/uploads`` under safe names and ingest each one.

    With ``upload_root`` (the app's upload folder), a file that does not lie inside it is
    refused before anything is read. A file is parsed before it is stored: one that yields no
    article, or whose article ids belong to another file's articles, is never written, so a
    bad upload changes nothing that is indexed. ``on_progress(share, text)`` hears how far
    the files and their embedding have come.
    """
    tell = on_progress or (lambda share, text: None)
    report = UploadReport()
    if not isinstance(files, (list, tuple)):
        files = [files]
    if len(files) > MAX_UPLOAD_FILES:
        report.messages.append(
            f"Refused: {len(files):,} files at once; upload at most {MAX_UPLOAD_FILES} at a time."
        )
        return report
    target_dir = Path(corpus_dir) / UPLOAD_DIR
    for number, upload in enumerate(files):
        raw_name = _path_shown(upload)
        shown = escape_markdown(Path(raw_name).name or raw_name)
        name = safe_name(Path(raw_name).name)
        step = f"File {number + 1} of {len(files)} ({name})"
        tell(number / len(files), f"{step}: reading")
        if Path(name).suffix not in SUPPORTED_SUFFIXES:
            accepted = ", ".join(sorted(SUPPORTED_SUFFIXES))
            report.messages.append(f"**{shown}** rejected: not an article file ({accepted}).")
            continue
        try:
            data = read_upload(upload, upload_root)
        except UploadRefused as exc:
            report.messages.append(f"**{shown}** refused: {escape_markdown(str(exc))}")
            continue
        target, same = _target(target_dir, name, data)
        origin = path_text(target.resolve())
        articles, rejected = parse_bytes(data, name, origin)
        if not articles:
            reasons = "; ".join(reason for _, reason in rejected) or "no article in the file"
            report.messages.append(f"**{shown}** rejected: {escape_markdown(reasons)}")
            continue
        foreign = _foreign_ids(assistant, articles, origin)
        if foreign:
            report.messages.append(
                f"**{shown}** rejected: article id {escape_markdown(repr(foreign[0]))} belongs "
                "to an article of another file; an upload never replaces other files' articles."
            )
            continue
        if not same:
            target_dir.mkdir(parents=True, exist_ok=True)
            try:
                with open(target, "xb") as handle:
                    handle.write(data)
            except FileExistsError:
                report.messages.append(f"**{shown}** not stored: a file of that name appeared "
                                       "meanwhile; upload it again.")  # fmt: skip
                continue

        def embedded(done: int, total: int, chunks: int, number=number, step=step) -> None:
            share = (number + (done / total if total else 1)) / len(files)
            tell(share, f"{step}: {done} of {total} article(s) indexed, {chunks} passages")

        summary = assistant.ingest(target, progress=embedded)
        report.summaries.append(summary)
        took = len(summary.added) + len(summary.updated)
        if summary.rejected and not took and not summary.unchanged:
            if not same:
                target.unlink(missing_ok=True)
            reasons = "; ".join(reason for _, reason in summary.rejected)
            report.messages.append(f"**{shown}** rejected: {escape_markdown(reasons)}")
            continue
        report.stored.append(target)
        note = f"**{shown}**: {took} article(s) added"
        if summary.unchanged:
            note += f", {len(summary.unchanged)} already indexed"
        if summary.rejected:
            first_reason = escape_markdown(summary.rejected[0][1])
            note += f", {len(summary.rejected)} part(s) rejected ({first_reason})"
        report.messages.append(note + ".")
    return report
