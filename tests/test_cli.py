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
    questions = "Which group suspended its attacks?\n\nWhy did it do that?\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(questions))
    assert main(["chat", "--json", "--data-dir", str(indexed)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    assert "Kataib Hezbollah" in lines[0]["answer"]
    assert lines[1]["answer"] != lines[0]["answer"] and not lines[1]["abstained"]


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


def test_ask_with_an_unreachable_llm_server_falls_back_with_a_note(indexed, capsys, monkeypatch):
    from tests.conftest import free_port

    monkeypatch.setenv("ASSISTANT_LLM__BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    capsys.readouterr()
    args = ["ask", "Who claimed the Haifa attack?", "--backend", "openai", "--data-dir"]
    assert main([*args, str(indexed)]) == 0
    out = capsys.readouterr().out
    assert "Islamic Resistance in Iraq" in out and "(note: Cannot reach the LLM server" in out
    assert main([*args, str(indexed), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "extractive" and data["notice"].startswith("Cannot reach")


def test_unknown_backend_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["ask", "Who?", "--backend", "gpt"])
    assert "invalid choice" in capsys.readouterr().err
