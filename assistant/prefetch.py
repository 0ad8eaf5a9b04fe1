"""Prefetch for a cold start: the files the last start read, read ahead into the page cache.

After the machine drops its file cache (a reboot, memory pressure), the app's start reads some
3,500 library, model and index files a few pages at a time, as imports and loads come to
them: here 5.3 s to the first answer against 3.7 s with the files cached. The app records those
files once it has loaded everything (``Recorder``); the next start asks the kernel to read them
all ahead (``posix_fadvise(WILLNEED)``) from a background thread (``start``). The disk then reads
them at once, while the imports run.

These are hints to the kernel only: nothing is read into this process. A list that is missing,
stale or unreadable changes nothing but the speed.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

FILENAME = "startup-files.txt"
MAX_FILE_BYTES = 256 * 2**20  # bigger files (Chroma's database) are read in part: ahead whole
# they would keep the disk busy with pages nobody asked for


class Recorder:
    """The files this process opens from now until ``save``, with its modules and mapped
    files (shared libraries, memory-mapped arrays)."""

    def __init__(self) -> None:
        self._paths: set[str] = set()
        self._recording = True
        sys.addaudithook(self._hook)  # for the life of the process: a no-op after ``save``

    def _hook(self, event: str, args: tuple) -> None:
        if self._recording and event == "open" and isinstance(args[0], (str, bytes, Path)):
            self._paths.add(os.fsdecode(args[0]))

    def save(self, folder: Path, *also: Path) -> int:
        """Stop recording and write the list into ``folder``; how many files it names. ``also``:
        folders whose files count too, since native code opened them out of sight (Chroma's
        vector index, the embedding model's weights); SQLite databases there are read by page,
        as questions need them, and are left out."""
        self._recording = False
        paths = self._paths | _module_files() | _mapped_files() | _files_in(also)
        keep = []
        for path in sorted(paths):
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            if os.path.isabs(path) and 0 < size <= MAX_FILE_BYTES and os.path.isfile(path):
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


def _module_files() -> set[str]:
    """The compiled code of every module loaded: bytecode caches and extension libraries."""
    found = set()
    for module in list(sys.modules.values()):
        for name in ("__cached__", "__file__"):
            path = getattr(module, name, None)
            if isinstance(path, str) and path.endswith((".pyc", ".so")):
                found.add(path)
    return found


def _files_in(folders) -> set[str]:
    found = set()
    for folder in folders:
        for root, _, files in os.walk(folder):
            found.update(os.path.join(root, f) for f in files if ".sqlite" not in f)
    return found


def _mapped_files() -> set[str]:
    found = set()
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="surrogateescape") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].startswith("/"):
                    found.add(fields[5].rstrip("\n"))
    except OSError:  # not Linux
        pass
    return found


def advise(listing: Path) -> int:
    """Ask the kernel to read ahead every file ``listing`` names; how many it was asked for."""
    if not hasattr(os, "posix_fadvise"):
        return 0
    try:
        paths = Path(listing).read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return 0
    advised = 0
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO named here cannot block us
        except (OSError, ValueError):  # gone since, or not a path
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                advised += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return advised


def start(folder: Path) -> None:
    """Read ahead, in a background thread, the files the last start recorded in ``folder``."""
    listing = Path(folder) / FILENAME
    if listing.is_file():
        threading.Thread(target=advise, args=(listing,), name="newsdesk-prefetch",
                         daemon=True).start()  # fmt: skip
