"""The start-up prefetch (``assistant.prefetch``): what a start records, what the next one
reads ahead. Whether the kernel then reads the files is its business: the bench measures the
start with the file cache dropped."""

import json.decoder  # noqa: F401  (its compiled code is looked for below)
import os
import sys
from pathlib import Path

from assistant import prefetch


def test_a_start_records_what_it_opened_and_the_next_reads_it_ahead(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    opened = tmp_path / "zeta.bin"  # opened first, named last
    opened.write_bytes(b"x" * 10)
    second = tmp_path / "alpha.bin"
    second.write_bytes(b"a")
    later = tmp_path / "later.bin"
    later.write_bytes(b"y")
    (data / "vectors.bin").write_bytes(b"v")  # in a folder passed along: native code reads it
    (data / "chroma.sqlite3").write_bytes(b"s")  # a database there: read by page, left out

    recorder = prefetch.Recorder()
    opened.read_bytes()
    second.read_bytes()
    count = recorder.save(data, data)
    later.read_bytes()  # after saving: not recorded

    listed = (data / prefetch.FILENAME).read_text().splitlines()
    assert count == len(listed)
    assert str(opened) in listed and str(data / "vectors.bin") in listed
    assert str(later) not in listed and str(data / "chroma.sqlite3") not in listed
    assert sys.modules["json.decoder"].__cached__ in listed  # loaded modules' code

    assert listed.index(str(opened)) < listed.index(str(second))  # in the order opened

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # a FIFO named in the list must not block the reading ahead
    outside = tmp_path.parent / f"{tmp_path.name}-outside.bin"
    outside.write_bytes(b"z")  # not under the folders it may read
    (data / prefetch.FILENAME).write_text("\n".join(
        [*listed, str(tmp_path / "gone"), str(fifo), "not/absolute", "nul\x00", str(outside)]
    ) + "\n")  # fmt: skip
    inside = [p for p in listed if p.startswith((str(tmp_path), sys.prefix, sys.base_prefix))]
    assert prefetch.read_ahead(
        data / prefetch.FILENAME, [tmp_path, Path(sys.prefix), Path(sys.base_prefix)]
    ) == len(inside)
    outside.unlink()


def test_no_list_or_an_unreadable_one_changes_nothing(tmp_path):
    assert prefetch.read_ahead(tmp_path / prefetch.FILENAME, [tmp_path]) == 0
    prefetch.start(tmp_path)  # nothing recorded yet: no thread, no error
    (tmp_path / prefetch.FILENAME).write_bytes(b"\xff\xfe\x00garbage")
    assert prefetch.read_ahead(tmp_path / prefetch.FILENAME, [tmp_path]) == 0


def test_a_read_only_folder_gets_no_list(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root writes anyway: nothing to check here
            return
        assert prefetch.Recorder().save(folder) == 0
        assert not (folder / prefetch.FILENAME).exists()
    finally:
        folder.chmod(0o700)


def test_reading_ahead_records_nothing_and_reads_only_what_it_may(tmp_path, monkeypatch):
    import threading

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    small, big = allowed / "small.bin", allowed / "big.bin"
    small.write_bytes(b"s" * 4)
    big.write_bytes(b"b" * 64)
    secret = tmp_path / "secret.txt"  # outside the folders it may read, even through a link
    secret.write_text("not ours")
    (allowed / "link.txt").symlink_to(secret)
    listing = tmp_path / prefetch.FILENAME
    listing.write_text("\n".join([str(small), str(small), str(big), str(allowed / "link.txt"),
                                   str(secret)]) + "\n")  # fmt: skip
    monkeypatch.setattr(prefetch, "MAX_FILE_BYTES", 16)  # big.bin is over it

    recorder = prefetch.Recorder()
    counts = []
    reader = threading.Thread(target=lambda: counts.append(prefetch.read_ahead(listing,
                              [allowed])), name=prefetch.THREAD_NAME)  # fmt: skip
    reader.start()
    reader.join()
    assert counts == [1]  # small.bin, once
    out = tmp_path / "out"
    out.mkdir()
    recorder.save(out)
    # what the reading ahead opened is not what a start needs
    assert str(small) not in (out / prefetch.FILENAME).read_text().splitlines()
