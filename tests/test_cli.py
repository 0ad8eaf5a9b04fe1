"""The command line, run in-process through ``main`` (and once as a real subprocess)."""

import json
import subprocess
import sys

import pytest

from assistant.cli import main
from tests.conftest import ROOT

CITATION_KEYS = {"n", "article_id", "title", "source", "published_at", "url", "quote",
                 "start", "end"}  # the documented shape, written out  # fmt: skip


@pytest.fixture
def indexed(tmp_path, seed_corpus, embed_model, monkeypatch):
    """A data folder with the seed ingested through the CLI."""
    import assistant.embedding as embedding

    monkeypatch.setattr(embedding, "load_embedding", lambda *a, **k: embed_model)
    data = tmp_path / "data"
    assert main(["ingest", str(seed_corpus), "--data-dir", str(data), "--quiet"]) == 0
    return data


def test_ask_json_shape(indexed, capsys):
    capsys.readouterr()
    assert main(["ask", "Who claimed the Haifa attack?", "--json", "--data-dir", str(indexed)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {
        "answer", "short_answer", "abstained", "backend", "notice", "date_range", "sentences",
        "citations",
    }  # fmt: skip
    assert out["abstained"] is False
    assert out["citations"] and set(out["citations"][0]) == CITATION_KEYS
    assert out["citations"][0]["n"] == 1


def test_ask_text_lists_sources(indexed, capsys):
    capsys.readouterr()
    main(["ask", "Who claimed the Haifa attack?", "--data-dir", str(indexed)])
    out = capsys.readouterr().out
    assert "[1]" in out and "Sources:" in out and "2024-02-01" in out and "Haifa" in out


def test_ingest_summary_json(indexed, seed_corpus, capsys):
    capsys.readouterr()
    main(["ingest", str(seed_corpus), "--data-dir", str(indexed), "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert (
        len(summary["unchanged"]) == 1 and summary["added"] == [] and summary["chunks_added"] == 0
    )


def test_chat_from_a_pipe_keeps_the_conversation(indexed, capsys, monkeypatch):
    import io

    capsys.readouterr()
    questions = "Who claimed the Haifa attack?\n\nWhen did they launch it?\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(questions))
    assert main(["chat", "--json", "--data-dir", str(indexed)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    assert "Islamic Resistance in Iraq" in lines[0]["answer"]
    assert "Thursday" in lines[1]["answer"]
    assert lines[1]["answer"] != lines[0]["answer"] and not lines[1]["abstained"]


def test_chat_from_a_pipe_echoes_each_question_before_its_answer(indexed, capsys, monkeypatch):
    import io

    capsys.readouterr()
    questions = "Who claimed the Haifa attack?\n\nWhen did they launch it?\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(questions))
    assert main(["chat", "--data-dir", str(indexed)]) == 0
    out = capsys.readouterr().out
    first = out.index("> Who claimed the Haifa attack?\n")
    second = out.index("> When did they launch it?\n")
    assert first == 0 and "Islamic Resistance in Iraq" in out[first:second]
    assert "Sources:" in out[second:]


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "question is empty"), ("y" * 2000, "limit is 1,000")],
)
def test_bad_questions_exit_nonzero_with_one_line(indexed, capsys, question, message):
    capsys.readouterr()
    assert main(["ask", question, "--data-dir", str(indexed)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_index_as_a_real_process(tmp_path):
    """The installed entry point, end to end: one line on stderr, exit 1, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "Who?", "--data-dir", str(tmp_path / "none")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: No index at {tmp_path / 'none'}: run `assistant ingest corpus/` first."
    )


# --- hostile input: an answer or one line on stderr, exit 0 or 1, never a traceback ---


def _stdin_bytes(monkeypatch, data: bytes):
    """Replace stdin by a real text stream over ``data`` (strict UTF-8, like a pipe)."""
    import io

    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdin", stream)


def test_chat_survives_invalid_bytes_on_stdin(indexed, capsys, monkeypatch):
    capsys.readouterr()
    _stdin_bytes(monkeypatch, b"Who claimed the Haifa attack?\n\xff\xfe\n"
                              b"who \xff won?\nWhen did they launch it?\n")  # fmt: skip
    assert main(["chat", "--json", "--data-dir", str(indexed)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4
    assert "Islamic Resistance in Iraq" in lines[0]["answer"]
    assert "only invalid text" in lines[1]["error"]
    assert "replaced with U+FFFD" in lines[2]["notice"]
    assert not lines[3]["abstained"]  # the conversation went on


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["ask", "--bogus", "x"], "unrecognized arguments: --bogus"),
     (["nonsense"], "invalid choice"),
     (["ask", "--as-of", "2022-13-45", "Who?"], "as_of: 2022-13-45 is not a valid date"),
     (["ask", "--from", "2024-03-01", "--as-of", "2024-02-01", "Who?"], "swap them"),
     (["ask", "\udcff\udcfe"], "only invalid text"),
     (["ingest", "a\x00b"], "NUL")],
)  # fmt: skip
def test_bad_command_lines_are_one_line_and_exit_1(indexed, capsys, argv, message):
    capsys.readouterr()
    assert main([*argv, "--data-dir", str(indexed)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")


def test_unexpected_error_is_one_line(indexed, capsys, monkeypatch):
    from assistant.engine import Assistant

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(Assistant, "stats", boom)
    capsys.readouterr()
    assert main(["stats", "--data-dir", str(indexed)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: internal error (RuntimeError: disk on fire second line)")
    assert err.count("\n") == 1


def test_invalid_utf8_argument_as_a_real_process(indexed):
    """The issue's command: an invalid UTF-8 byte in argv gives an answer, not a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", b"who won \xff the vote?",
         "--data-dir", str(indexed)],
        capture_output=True, cwd=ROOT, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"note: The question held 1 invalid character" in proc.stdout


def test_ask_with_an_unreachable_llm_server_falls_back_with_a_note(indexed, capsys, monkeypatch):
    from tests.conftest import free_port

    monkeypatch.setenv("ASSISTANT_LLM__BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    capsys.readouterr()
    args = ["ask", "Who claimed the Haifa attack?", "--backend", "openai", "--data-dir"]
    assert main([*args, str(indexed)]) == 0
    out = capsys.readouterr().out
    assert "Islamic Resistance in Iraq" in out and "note: Cannot reach the LLM server" in out
    assert main([*args, str(indexed), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "extractive" and data["notice"].startswith("Cannot reach")


def test_unknown_backend_is_a_usage_error(capsys):
    assert main(["ask", "Who?", "--backend", "gpt"]) == 1
    err = capsys.readouterr().err
    assert "invalid choice" in err and err.count("\n") == 1


def test_an_answer_from_the_running_app_keeps_its_notice():
    from assistant.cli import _Reply, format_answer

    reply = _Reply({"answer": "Thursday [1].", "notice": "Nothing indexed is dated June 2031.",
                    "citations": []})  # fmt: skip
    assert format_answer(reply).splitlines() == [
        "Thursday [1].", "note: Nothing indexed is dated June 2031."]  # fmt: skip
