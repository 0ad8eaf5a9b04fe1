"""Prefetch for a cold start: the files the last start read, read ahead into the page cache.

After the machine drops its file cache (a reboot, memory pressure), the app's start reads some
3,500 library, model and index files a few pages at a time, as imports and loads come to
them. The app records those files, in the order it first opened them, once it has loaded
everything (``Recorder``); the next start reads them in that order from a background thread
(``start``), one read at a time, a step ahead of the imports that need them. One read at a
time, so that the start's own reads never wait behind the whole list (some 750 MB on the
benchmark index), as they could if the kernel were asked for every file at once.

Only files under the app's own folders are read (the interpreter's, the project's code, the
index folder), each at most 256 MB. A list that is missing, stale or unreadable changes nothing
but the speed.
"""

from __future__ import annotations

import itertools
import os
import stat
import sys
import threading
from pathlib import Path

FILENAME = "startup-files.txt"
CHUNK_BYTES = 2**20  # read at a time: small enough that the start's own reads get in between
MAX_FILE_BYTES = 256 * 2**20  # bigger files (Chroma's database) are read only in part by a
# start: read whole, they would keep the disk busy with pages nobody asked for
MAX_TOTAL_BYTES = 2**30  # a start here reads ~730 MB; a list naming more is not this app's
MAX_FILES = 50_000  # lines of a list read (a start here records ~3,800)
MAX_LIST_BYTES = 8 * 2**20  # a longer list is not one this app wrote (~400 KB here)
THREAD_NAME = "newsdesk-prefetch"


class Recorder:
    """The files this process opens from now until ``save``, with its modules and mapped
    files (shared libraries, memory-mapped arrays)."""

    def __init__(self) -> None:
        self._paths: dict[str, None] = {}  # in the order first opened
        self._recording = True
        sys.addaudithook(self._hook)  # for the life of the process: a no-op after ``save``

    def _hook(self, event: str, args: tuple) -> None:
        if (
            self._recording
            and event == "open"
            and isinstance(args[0], (str, bytes, Path))
            and threading.current_thread().name != THREAD_NAME  # not the reading ahead itself
        ):
            self._paths.setdefault(os.fsdecode(args[0]))

    def save(self, folder: Path, *also: Path) -> int:
        """Stop recording and write the list into ``folder``; how many files it names. ``also``:
        folders whose files count too, since native code opened them out of sight (Chroma's
        vector index, the embedding model's weights); SQLite databases there are read by page,
        as questions need them, and are left out."""
        self._recording = False
        keyed = [*enumerate(self._paths), *_module_files(self._paths)]
        paths = dict.fromkeys(path for _, path in sorted(keyed))
        for path in [*_mapped_files(), *_files_in(also)]:
            paths.setdefault(path)
        keep = []
        for path in paths:
            try:
                size = os.stat(path).st_size
            except (OSError, ValueError):
                continue
            if os.path.isabs(path) and "\n" not in path and 0 < size <= MAX_FILE_BYTES \
                    and os.path.isfile(path):  # fmt: skip
                keep.append(path)
        target = Path(folder) / FILENAME
        temporary = target.with_name(f".{FILENAME}.{os.getpid()}")
        try:
            temporary.write_text("".join(f"{p}\n" for p in keep), encoding="utf-8",
                                 errors="surrogateescape")  # fmt: skip
            os.replace(temporary, target)
        except OSError:  # a read-only data folder: no prefetch next time
            temporary.unlink(missing_ok=True)
            return 0
        return len(keep)


def _module_files(opened: dict[str, None]) -> list[tuple[float, str]]:
    """The compiled code of every module loaded (bytecode caches, extension libraries), in the
    order ``opened`` met them: an extension library (whose loading is not audited) comes right
    after the bytecode its package opened last before it."""
    order = {path: n for n, path in enumerate(opened)}
    found: list[tuple[float, str]] = []
    last = -1.0
    for module in list(sys.modules.values()):  # in import order
        cached = getattr(module, "__cached__", None)
        if isinstance(cached, str) and cached in order:
            last = order[cached]
            continue
        for name in ("__cached__", "__file__"):
            path = getattr(module, name, None)
            if isinstance(path, str) and path.endswith((".pyc", ".so")) and path not in order:
                last += 0.001
                found.append((last, path))
    return found


def _files_in(folders) -> list[str]:
    found = []
    for folder in folders:
        for root, _, files in os.walk(folder):
            found += [os.path.join(root, f) for f in sorted(files) if ".sqlite" not in f]
    return found


def _mapped_files() -> list[str]:
    found: dict[str, None] = {}
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="surrogateescape") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].startswith("/"):
                    found.setdefault(fields[5].rstrip("\n"))
    except OSError:  # not Linux
        pass
    return list(found)


def read_ahead(listing: Path, roots: list[Path]) -> int:
    """Read the files ``listing`` names, in its order, one read at a time (so the start's own
    reads are served in between; the page cache keeps what is read); only regular files under
    ``roots``, each at most ``MAX_FILE_BYTES``, ``MAX_TOTAL_BYTES`` in all. How many files
    were read."""
    try:
        if os.stat(listing).st_size > MAX_LIST_BYTES:
            return 0
        with open(listing, encoding="utf-8", errors="surrogateescape") as f:
            paths = dict.fromkeys(line.rstrip("\n") for line in itertools.islice(f, MAX_FILES))
    except OSError:
        return 0
    allowed = tuple(os.path.join(os.path.realpath(r), "") for r in roots)
    buffer = bytearray(CHUNK_BYTES)
    count = total = 0
    for path in paths:
        try:
            real = os.path.realpath(path)
            if not real.startswith(allowed):
                continue
            # the resolved path, not followed if it changed into a link since; a FIFO named
            # here cannot block us
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except (OSError, ValueError):  # gone since, or not a path
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                continue
            total += info.st_size
            if total > MAX_TOTAL_BYTES:
                break
            while os.readv(fd, [buffer]) == CHUNK_BYTES:
                pass
            count += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return count


def start(folder: Path, *roots: Path) -> None:
    """Read ahead, in a background thread, the files the last start recorded in ``folder``
    that lie under ``folder`` or ``roots``."""
    listing = Path(folder) / FILENAME
    if listing.is_file():
        threading.Thread(target=read_ahead, args=(listing, [folder, *roots]),
                         name=THREAD_NAME, daemon=True).start()  # fmt: skip
