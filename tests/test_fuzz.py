"""Property-based fuzzing of every public input path (hypothesis, derandomized: CI repeats it).

Over 1,000 generated bad inputs: questions (invalid Unicode, surrogates, non-text), histories
of every shape, source filters, dates, file contents (random bytes, byte-order marks, huge
lines), file names, ingest arguments and uploads, thrown at the Python API, the CLI (in-process
through ``main(argv)`` with stdin replaced, plus a few real processes) and the running app
(through ``gradio_client``). Every outcome must be an answer or one of our errors: an
``AssistantError`` from the API, exit code 0/1 with at most one stderr line and no traceback
from the CLI, an answer or a one-line refusal from the app. The indexed articles and chunks
(ids and counts) are the same before and after. The tally lands in
``artifacts/fuzz-report.json`` and the terminal summary.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import AssistantError
from tests.conftest import ROOT, SECRET_CODE, SEED, write_article

pytestmark = pytest.mark.slow

THROWN: Counter = Counter()  # inputs thrown, per target
OUTCOMES: Counter = Counter()  # answered / refused, per target
MINIMUM = 1000


def fuzz(n: int):
    """Hypothesis settings for one target: ``n`` examples, reproducible, no example database."""
    return settings(
        max_examples=n, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip


# --- strategies ---

NASTY = [
    "\ud800", "\udfff", "\udcff", "\udc80", "\ud83d", "\x00", "\x07", "\x1b[31m", "\u202e",
    "\ufeff", "\ufffe", "\uffff", "\U0010ffff", "\u0301", "\u200b", "\r\n", "\t", "'", '"',
    "<script>alert(1)</script>", "[x](javascript:alert(1))", "../../etc/passwd", "%s%n",
    "who", "Haifa", "attack", "Kataib Hezbollah", "?", " ", "\n",
]  # fmt: skip
ANY_CHAR = st.characters(categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Co"])
text = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(ANY_CHAR, max_size=6)), max_size=10).map(
        "".join
    ),
    st.sampled_from(["", " ", "long", "long-accented", "repeated"]).map(
        lambda k: {"long": "x" * 1001, "long-accented": "é" * 999 + "\ud800",
                   "repeated": "Who? " * 300}.get(k, k)),
)  # fmt: skip


class Opaque:
    """Some object no input check knows about."""

    def __repr__(self) -> str:
        return "Opaque()"


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=20),
    st.just(Opaque()), st.just(date(2024, 2, 1)), st.just(Ellipsis),
)  # fmt: skip
questions = st.one_of(text, scalars, st.lists(text, max_size=2), st.dictionaries(text, text))

content = st.one_of(
    text, scalars,
    st.lists(st.one_of(st.fixed_dictionaries({"type": st.sampled_from(["text", "file", 5]),
                                              "text": st.one_of(text, scalars)}),
                       text, scalars), max_size=3),
)  # fmt: skip
message = st.one_of(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "robot", 5, None]),
         "content": content}
    ),
    st.dictionaries(st.sampled_from(["role", "content", "x", "question", "answer"]),
                    st.one_of(text, scalars), max_size=3),
)  # fmt: skip
turn = st.one_of(
    st.tuples(st.one_of(text, st.none()), st.one_of(text, st.none())),
    st.lists(st.one_of(text, scalars), max_size=4),
    st.lists(st.one_of(text, scalars), max_size=4).map(tuple),
    message, scalars, text,
)  # fmt: skip
histories = st.one_of(
    st.lists(turn, max_size=6), st.lists(turn, max_size=6).map(tuple), text, scalars,
    message, st.sets(st.integers(), max_size=3),
)  # fmt: skip
sources = st.one_of(
    text, scalars, st.lists(st.one_of(text, scalars), max_size=4),
    st.sets(text, max_size=3), st.dictionaries(text, text, max_size=2),
    st.just(["000_62dedea8b5f1f4e6.txt"]), st.just("Wire"),
)  # fmt: skip
day_like = st.builds(
    lambda y, m, d, rest: f"{y:04d}-{m:02d}-{d:02d}{rest}",
    st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99),
    st.sampled_from(["", "T10:00:00", "T25:61", "Z", " 10:00", "T10:00:00+02:00", "x", "T"]),
)  # fmt: skip
dates = st.one_of(day_like, text, scalars, st.just(datetime(2024, 2, 1, 23, 59)))

IMPOSSIBLE = st.one_of(
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1, 9999),
              st.integers(13, 99), st.integers(1, 28)),
    st.builds(lambda y, d: f"{y:04d}-02-{d:02d}", st.integers(1, 9999), st.integers(30, 99)),
)  # fmt: skip
SUFFIXES = [".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"]


def _odd(data: bytes, unit: int) -> bytes:
    return data if len(data) % unit else data + b"\x01"


def _not_an_article(line: str) -> bool:
    try:
        obj = json.loads(line)
    except ValueError:
        return True
    body = obj.get("text") if isinstance(obj, dict) else None
    return not (isinstance(body, str) and body.strip())


bad_files = st.one_of(  # (bytes, suffix, why it must be refused)
    st.binary(max_size=300).map(lambda b: (b"x" + b[:50] + b"\x00" + b[50:], ".txt", "binary")),
    st.binary(max_size=200).map(
        lambda b: (codecs.BOM_UTF16_LE + _odd(b, 2), ".md", "utf-16")),
    st.binary(max_size=200).map(
        lambda b: (codecs.BOM_UTF32_BE + _odd(b, 4), ".txt", "utf-32")),
    st.tuples(IMPOSSIBLE, text, st.sampled_from([".md", ".txt"])).map(
        lambda t: (f"---\ndate: {t[0]}\n---\n{t[1]} words.".encode("utf-8", "surrogatepass"),
                   t[2], "date")),
    st.lists(st.sampled_from([" ", "\n", "\t", "\r", "\u00a0", "\u2003"]), max_size=30).map(
        lambda ws: ("".join(ws).encode(), ".txt", "empty")),
    st.lists(text.filter(_not_an_article), min_size=1, max_size=5).map(
        lambda lines: ("\n".join(lines).encode("utf-8", "surrogatepass"), ".jsonl", "jsonl")),
    st.tuples(st.sampled_from(["text", "published_at"]), scalars | IMPOSSIBLE).map(
        lambda kv: (json.dumps({"title": "T", kv[0]: kv[1] if kv[0] != "text" else None},
                               default=str).encode(), ".jsonl", "jsonl-field")),
    text.filter(lambda t: t.strip() and not t.lstrip().startswith("#")
                and not set(t) & set(":\n\r-")).map(
        lambda t: (f"---\n{t}\n---\nBody.".encode("utf-8", "surrogatepass"), ".md",
                   "front-matter")),
    text.map(lambda t: (f"<html><script>{t}</script><style>{t}</style></html>".encode(
        "utf-8", "surrogatepass"), ".html", "html-empty")),
    st.binary(max_size=100).map(lambda b: (b, ".pdf", "suffix")),
    st.sampled_from(["too-long", "huge-line"]).map(
        lambda k: (b"x " * 1_000_001, ".txt", k) if k == "too-long"
        else (json.dumps({"text": "y" * 2_000_001}).encode(), ".jsonl", k)),
)  # fmt: skip
file_names = st.one_of(
    st.text(st.characters(categories=["L", "N", "Zs", "P", "S"], exclude_characters="/\\"),
            min_size=1, max_size=30).filter(lambda n: not n.startswith(".")),
    st.binary(min_size=1, max_size=12).map(
        lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_").lstrip(b".") or b"n"),
)  # fmt: skip


def _write(folder: Path, name, data: bytes, suffix: str) -> Path:
    """A file with a (possibly undecodable) generated name; its path as a ``Path``."""
    raw = os.fsencode(folder) + b"/" + (os.fsencode(name) if isinstance(name, str) else name)
    raw = raw[:200] + suffix.encode()
    with open(raw, "wb") as handle:
        handle.write(data)
    return Path(os.fsdecode(raw))


# --- the index under attack, and what must not change ---


def snapshot(assistant) -> tuple:
    store = assistant.store
    articles = tuple(sorted(store.article_records()))
    chunks = tuple(sorted(chunk_id for chunk_id, _, _ in store.iter_chunks()))
    return articles, chunks, assistant.stats()["articles"], assistant.stats()["chunks"]


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory, embed_model):
    """(assistant, data dir, its snapshot, scratch folder): the seed and one Wire article."""
    from assistant import Assistant

    base = tmp_path_factory.mktemp("fuzz")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    write_article(corpus, "wire.md", "Haifa port reopened after the drone attack.",
                  title="Port reopens", source="Wire", date="2024-02-03")  # fmt: skip
    assistant = Assistant(data_dir=base / "data", embed_model=embed_model)
    assistant.ingest(corpus, progress=False)
    scratch = base / "scratch"
    scratch.mkdir()
    yield assistant, base / "data", snapshot(assistant), scratch


@pytest.fixture(scope="module", autouse=True)
def fuzz_report():
    """Write and check the tally once the module is done."""
    yield
    report = {
        "inputs": sum(THROWN.values()),
        "by_target": dict(sorted(THROWN.items())),
        "outcomes": dict(sorted(OUTCOMES.items())),
        "stack_traces": 0,  # any would have failed the test that met it
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "fuzz-report.json").write_text(json.dumps(report, indent=2) + "\n")
    sys.modules[__name__].REPORT = report


def _api(target: str, call, done: str = "answered") -> None:
    """Run ``call``: it returns (``done``), or raises an AssistantError whose message is one
    line (refused). Anything else fails the test."""
    THROWN[target] += 1
    try:
        call()
    except AssistantError as exc:
        assert "\n" not in str(exc) and str(exc).strip()
        OUTCOMES[f"{target}: refused"] += 1
    else:
        OUTCOMES[f"{target}: {done}"] += 1


QUESTION = "Who claimed the Haifa attack?"


# --- the Python API ---


@fuzz(130)
@given(question=questions)
def test_api_questions(fuzz_index, question):
    _api("api.ask question", lambda: fuzz_index[0].ask(question))


@fuzz(200)
@given(history=histories, follow_up=st.sampled_from(["Why did it do that?", QUESTION]))
def test_api_histories(fuzz_index, history, follow_up):
    _api("api.ask history", lambda: fuzz_index[0].ask(follow_up, history=history))


@fuzz(120)
@given(sources=sources)
def test_api_sources(fuzz_index, sources):
    _api("api.ask sources", lambda: fuzz_index[0].ask(QUESTION, sources=sources))


@fuzz(150)
@given(as_of=dates, date_from=dates)
def test_api_dates(fuzz_index, as_of, date_from):
    _api("api.ask dates", lambda: fuzz_index[0].ask(QUESTION, as_of=as_of, date_from=date_from))


@fuzz(150)
@given(bad=bad_files, name=file_names)
def test_api_ingest_bad_files(fuzz_index, bad, name):
    assistant, _, before, scratch = fuzz_index
    data, suffix, why = bad
    folder = scratch / f"files-{THROWN['api.ingest file']}"
    folder.mkdir()
    path = _write(folder, name, data, suffix)
    summary = None

    def call():
        nonlocal summary
        summary = assistant.ingest(path, progress=False)

    _api("api.ingest file", call, "file rejected with a reason")
    assert summary is not None and summary.added == [] and summary.updated == []
    assert summary.rejected, why
    assert all("\n" not in reason for _, reason in summary.rejected)
    assert snapshot(assistant) == before
    shutil.rmtree(folder)


def _exists(path) -> bool:
    try:
        return os.path.lexists(path)
    except (ValueError, TypeError):
        return False


def _unused(paths):
    """Generated paths that name nothing on disk ("." or "/" would ingest real folders)."""
    return paths.filter(lambda p: not _exists(p))


def _special_paths(scratch: Path) -> list:
    hostile = scratch / "hostile"
    if not hostile.exists():
        hostile.mkdir()
        (hostile / "loop.md").symlink_to(hostile / "loop.md")
        (hostile / "dangling.txt").symlink_to(hostile / "missing.txt")
        (hostile / "folder.md").mkdir()
        os.mkfifo(hostile / "pipe.txt")
        (hostile / "zero.txt").symlink_to("/dev/zero")
        (hostile / "binary.txt").write_bytes(b"\x00\x01")
    return [
        hostile, hostile / "loop.md", hostile / "pipe.txt", hostile / "zero.txt",
        hostile / "folder.md", "/dev/zero", "/dev/null", scratch / "nowhere", "a\x00b",
        b"\xff\xfe", str(hostile / "dangling.txt"), Path("x\udcff"),
    ]  # fmt: skip


@fuzz(60)
@given(data=st.data())
def test_api_ingest_arguments(fuzz_index, data, monkeypatch):
    assistant, _, before, scratch = fuzz_index
    monkeypatch.chdir(scratch)  # a generated relative path never names a real folder
    path = data.draw(st.one_of(st.sampled_from(_special_paths(scratch)), _unused(text), scalars))
    sync = data.draw(st.one_of(st.booleans(), scalars, text))
    progress = data.draw(st.one_of(st.booleans(), scalars, text))
    _api("api.ingest arguments", lambda: assistant.ingest(path, sync=sync, progress=progress),
         "nothing ingested")  # fmt: skip
    assert snapshot(assistant) == before


@fuzz(80)
@given(data=st.data())
def test_api_uploads(fuzz_index, data):
    from assistant.ui import ingest_uploads

    assistant, _, before, scratch = fuzz_index
    root = scratch / "upload-root"
    corpus = scratch / "upload-corpus"
    if not root.exists():
        (root / "ok").mkdir(parents=True)
        secret = scratch / "secret.md"
        secret.write_text(f"---\ndate: 2024-01-01\n---\nThe code is {SECRET_CODE}.\n")
        (root / "ok" / "planted.md").symlink_to(secret)
        os.mkfifo(root / "ok" / "pipe.md")
    bad, name = data.draw(bad_files), data.draw(file_names)
    inside = _write(root / "ok", name, bad[0], bad[1])
    candidates = [
        inside, scratch / "secret.md", root / "ok" / "planted.md", root / "ok" / "pipe.md",
        f"{root}/ok/../../secret.md", root, root / "missing.md", ROOT / "README.md",
    ]  # fmt: skip
    files = data.draw(st.one_of(
        st.lists(st.one_of(st.sampled_from(candidates), text, scalars), max_size=4),
        st.sampled_from(candidates), scalars, st.just(["x.md"] * 60),
    ))  # fmt: skip
    _api("api.upload", lambda: ingest_uploads(assistant, files, corpus, upload_root=root),
         "refused or rejected in the report")  # fmt: skip
    stored = list((corpus / "uploads").iterdir()) if (corpus / "uploads").exists() else []
    assert stored == []
    assert snapshot(assistant) == before
    inside.unlink()


# --- the command line, in-process ---


def _cli(argv: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    from assistant.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def _check_cli(target: str, code: int, err: str, max_lines: int = 1) -> None:
    """Exit 0 or 1; stderr holds at most ``max_lines`` lines, each one of our messages."""
    THROWN[target] += 1
    assert code in (0, 1), (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.count("\n") <= max_lines, err
    assert all(line.startswith("error: ") for line in err.splitlines()), err
    if code == 1:
        assert err.startswith("error: "), err
    OUTCOMES[f"{target}: {'answered' if code == 0 else 'refused'}"] += 1


argv_text = text.map(lambda t: t.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
argv_any = st.one_of(  # as Python hands argv over: undecodable bytes as surrogate escapes
    argv_text, st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape"))
)


@fuzz(90)
@given(data=st.data())
def test_cli_arguments(fuzz_index, data, monkeypatch):
    _, data_dir, before, scratch = fuzz_index
    monkeypatch.chdir(scratch)
    command = data.draw(st.sampled_from(["ask", "ask", "ask", "ingest", "stats", "nonsense"]))
    argv = [command]
    if command == "ask":
        argv += data.draw(st.lists(argv_any, min_size=0, max_size=3))
        for flag in ("--as-of", "--from", "--source"):
            if data.draw(st.booleans()):
                argv += [flag, data.draw(st.one_of(day_like, argv_any))]
    elif command == "ingest":
        paths = [str(p) for p in _special_paths(scratch) if isinstance(p, (str, Path))]
        argv.append(data.draw(st.one_of(st.sampled_from(paths), _unused(argv_any))))
        argv += data.draw(st.sampled_from([[], ["--sync"], ["--json"], ["--quiet"]]))
    argv += data.draw(st.lists(st.sampled_from(["--json", "--bogus", "-x", "--"]), max_size=1))
    argv += ["--data-dir", data.draw(st.sampled_from([str(data_dir)] * 5 + ["", "a\x00b"]))]
    code, _, err = _cli(argv)
    _check_cli("cli.argv", code, err)
    assert snapshot(fuzz_index[0]) == before


@fuzz(12)
@given(lines=st.lists(st.one_of(st.binary(max_size=40), argv_text.map(
    lambda t: t.encode("utf-8", "replace"))), min_size=1, max_size=4),
       as_json=st.booleans())  # fmt: skip
def test_cli_chat_stdin(fuzz_index, lines, as_json):
    _, data_dir, before, _ = fuzz_index
    stdin = b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n"
    argv = ["chat", "--data-dir", str(data_dir)] + (["--json"] if as_json else [])
    code, out, err = _cli(argv, stdin)
    THROWN["cli.chat lines"] += len(lines) - 1  # each line is an input; _check_cli counts one
    _check_cli("cli.chat lines", code, err, max_lines=len(lines))  # one error a line at most
    assert code == 0
    if as_json:
        for row in out.splitlines():
            json.loads(row)
    assert snapshot(fuzz_index[0]) == before


def test_cli_real_processes(fuzz_index, tmp_path):
    """Real runs (the rest goes through main() in-process): undecodable argv bytes, stdin
    noise with a timestamp filter."""
    _, data_dir, before, scratch = fuzz_index
    rng = random.Random(7)
    noise = b"\n".join(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
                       for _ in range(6)).replace(b"\x00", b"")  # fmt: skip
    runs = [
        (["ask", b"who \xff\xfe won the Haifa attack?", "--source", "Wire"], b"", 0),
        (["chat", "--json", "--as-of", "2024-02-01T10:00:00Z"],
         noise + b"\nWho claimed the Haifa attack?\n", 0),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for argv, stdin, expected in runs:
        proc = subprocess.run(
            [sys.executable, "-m", "assistant", *argv, "--data-dir", str(data_dir)],
            input=stdin, capture_output=True, cwd=tmp_path, timeout=300, env=env,
        )  # fmt: skip
        err = proc.stderr.decode("utf-8", "replace")
        _check_cli("cli.process", proc.returncode, err)
        assert proc.returncode == expected, err
    assert snapshot(fuzz_index[0]) == before


# --- the running app, through gradio_client ---


def _app_stats(client) -> str:
    return client.predict(None, "", api_name="/upload")[1]


@pytest.fixture(scope="module")
def app_client(secure_app):
    from gradio_client import Client

    client = Client(secure_app[0], verbose=False)
    uploads = secure_app[1] / "uploads"
    stored = sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []
    before = _app_stats(client)
    yield client
    after_stored = sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []
    assert _app_stats(client) == before and after_stored == stored
    log = (secure_app[4] / "app.log").read_text()
    assert "Traceback" not in log and "answering failed" not in log and "upload failed" not in log


def _raw_call(url: str, api: str, inputs: list) -> list:
    """One call through Gradio's HTTP API with the JSON escaped (lone surrogates included);
    the final outputs, or AppError with the app's message."""
    import httpx
    from gradio_client.exceptions import AppError

    body = json.dumps({"data": inputs}).encode()  # ensure_ascii: "\\ud800" travels as text
    event = httpx.post(f"{url}gradio_api/call/{api}", content=body, timeout=60,
                       headers={"Content-Type": "application/json"}).json()  # fmt: skip
    stream = httpx.get(f"{url}gradio_api/call/{api}/{event['event_id']}", timeout=120).text
    kind, data = None, None
    for line in stream.splitlines():
        if line.startswith("event: "):
            kind = line[7:].strip()
        elif line.startswith("data: "):
            data = json.loads(line[6:])
    if kind == "error":
        raise AppError(data.get("error") if isinstance(data, dict) else str(data))
    assert kind == "complete", stream[-500:]
    return data


def _app(target: str, call, done: str = "answered") -> object:
    from gradio_client.exceptions import AppError

    THROWN[target] += 1
    try:
        result = call()
    except AppError as exc:
        message = str(exc)
        assert message and message != "None" and "\n" not in message.strip(), message
        OUTCOMES[f"{target}: refused"] += 1
        return None
    OUTCOMES[f"{target}: {done}"] += 1
    return result


@fuzz(40)
@given(message=text, date_from=st.one_of(day_like, text), date_to=st.one_of(day_like, text),
       sources=st.one_of(st.just([]), st.just(["000_62dedea8b5f1f4e6.txt"]),
                         st.lists(text, max_size=2)))  # fmt: skip
def test_app_chat(app_client, secure_app, message, date_from, date_to, sources):
    inputs = [message, date_from, date_to, sources]
    try:
        json.dumps(inputs, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # httpx cannot send lone surrogates: escape them ourselves
        result = _app("app.chat", lambda: _raw_call(secure_app[0], "chat", inputs))
    else:
        result = _app("app.chat", lambda: app_client.predict(*inputs, api_name="/chat"))
    if result is not None:
        answer = result[0]  # the raw API also returns the chat state
        assert isinstance(answer, str) and "Traceback" not in answer
        assert "Something went wrong" not in answer


@fuzz(20)
@given(bad=bad_files.filter(lambda b: len(b[0]) < 100_000), name=file_names)
def test_app_upload_bad_files(app_client, secure_app, tmp_path_factory, bad, name):
    from gradio_client import handle_file

    folder = tmp_path_factory.mktemp("app-upload")
    path = _write(folder, name if isinstance(name, str) else "n", bad[0], bad[1])
    result = _app("app.upload", lambda: app_client.predict([handle_file(str(path))], "",
                                                           api_name="/upload"),
                  "rejected in the report")  # fmt: skip
    if result is not None:
        assert "rejected" in result[0] or "refused" in result[0], result[0]


@pytest.mark.parametrize("path", ["secret", "readme", "cwd-file", "dev", "traversal", "dir"])
def test_app_upload_server_paths(app_client, secure_app, path, monkeypatch):
    from gradio_client import Client
    from gradio_client.client import Endpoint

    url, corpus, uploads, secret, _ = secure_app
    target = {
        "secret": secret, "readme": ROOT / "README.md", "cwd-file": "pyproject.toml",
        "dev": "/dev/zero", "traversal": f"{uploads}/../corpus/{SEED.name}", "dir": uploads,
    }[path]  # fmt: skip
    monkeypatch.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)
    client = Client(url, verbose=False)
    payload = [{"path": str(target), "meta": {"_type": "gradio.FileData"}}]
    result = _app("app.upload path", lambda: client.predict(payload, "", api_name="/upload"))
    assert result is None  # refused


def test_enough_inputs_were_thrown():
    """Runs last in this module: the suite threw at least 1,000 inputs, none crashed."""
    if len({target.split(".")[0] for target in THROWN}) < 3:
        pytest.skip("only part of the fuzz suite ran")
    total = sum(THROWN.values())
    print(f"\nfuzz: {total} inputs thrown: {dict(THROWN)}")
    assert total >= MINIMUM, THROWN
