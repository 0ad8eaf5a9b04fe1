"""Ask every gold question through ``Assistant`` (and the baseline) and score the answers."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.engine import Assistant
from assistant.loading import load_path
from assistant.questions import analyze
from eval.gold import GoldQuestion, load_gold
from eval.scoring import (
    abstention_scores,
    answer_correct,
    article_ranking,
    first_gold_rank,
    percentile,
    quote_is_verbatim,
    retrieval_scores,
    word_count,
)

RUNS_DIR = Path(__file__).resolve().parent / "runs"


@dataclass
class System:
    name: str
    ask: Any  # (question, history, as_of, on_token=None) -> Answer
    recorder: GenerationRecorder | None = None


def code_version() -> str:
    """The git commit the numbers came from ('+dirty' when the tree had changes)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")  # fmt: skip


def index_dir_for(articles: Path, assistant_settings) -> Path:
    """An index folder of the eval's own for exactly these articles and embedding settings."""
    key = json.dumps(
        [str(articles.resolve()), assistant_settings.embedding.model_dump(),
         assistant_settings.chunking.model_dump()], sort_keys=True, default=str,
    )  # fmt: skip
    return RUNS_DIR / "indexes" / hashlib.sha256(key.encode()).hexdigest()[:12]


def ask_conversation(system: System, q: GoldQuestion):
    """Earlier turns as history, then the scored turn, timed (and its first streamed token)."""
    history: list[tuple[str, str]] = []
    for turn in q.turns[:-1]:
        earlier = system.ask(turn, history, q.as_of)
        history.append((turn, earlier.answer))
    if system.recorder:
        system.recorder.clear()
    started = time.perf_counter()
    first: list[float] = []

    def on_token(_: str) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    answer = system.ask(q.question, history, q.as_of, on_token)
    latency = time.perf_counter() - started
    if system.recorder is not None:
        system.recorder.first_token = first[0] if first else None
    return answer, latency


class GenerationRecorder:
    """Keeps what an LLM backend wrote for the scored turn (wraps its ``write``)."""

    def __init__(self, writer) -> None:
        self.generated = None
        self.first_token: float | None = None
        inner = writer.write

        def write(*args, **kwargs):
            self.generated = inner(*args, **kwargs)
            return self.generated

        writer.write = write

    def clear(self) -> None:
        self.generated, self.first_token = None, None

    def row(self, answer) -> dict[str, Any]:
        g = self.generated
        checks = g.checks if g else []
        return {
            "llm_called": g is not None,
            "llm_raw": g.raw if g else None,
            "llm_abstained": g.abstained if g else None,
            "sentences_written": len(checks),
            "sentences_supported": sum(c.supported for c in checks),
            "sentences_recited": sum(
                c.supported and c.reason.startswith("re-cited") for c in checks
            ),  # fmt: skip
            "unsupported_reasons": [c.reason for c in checks if not c.supported],
            "fallback": bool(answer.notice) and answer.backend == "extractive",
            "notice": answer.notice,
            "final_sentences_supported": [
                s.supported for s in answer.sentences if s.text in answer.answer
            ],  # fmt: skip
            "first_token": self.first_token,
            "llm_first_token": g.first_token_s if g else None,
            "llm_seconds": g.total_s if g else None,
            "prompt_tokens": g.prompt_tokens if g else None,
            "evidence_shown": len(g.evidence) if g else None,
        }


def score_row(q: GoldQuestion, answer, latency: float, texts: dict[str, str]) -> dict[str, Any]:
    ranked = article_ranking(p.article_id for p in answer.retrieved)
    cited = [c.article_id for c in answer.citations]
    return {
        "id": q.id,
        "type": q.type or analyze(q.question).kind,
        "turns": q.turns,
        "gold": q.answers,
        "choices": q.choices,
        "as_of": q.as_of,
        "answer": answer.answer,
        "short_answer": answer.short_answer,
        "backend": answer.backend,
        "abstained": answer.abstained,
        "correct": answer_correct(answer.answer, answer.abstained, q.answers, q.choices),
        "words": 0 if answer.abstained else word_count(answer.answer),
        "gold_rank": first_gold_rank(ranked, q.evidence) if q.evidence else None,
        "cites_gold": bool(set(cited) & set(q.evidence)) if q.evidence else None,
        "quotes_verbatim": [
            quote_is_verbatim(texts.get(c.article_id), c.quote, c.start, c.end)
            for c in answer.citations
        ],
        "citations": [c.to_dict() | {"passage": None} for c in answer.citations],
        "search_query": answer.search_query,
        "latency": latency,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate figures over rows (all of them, or one question type)."""
    if not rows:
        return {}
    answerable = [r for r in rows if r["gold"]]
    with_evidence = [r for r in rows if r["gold_rank"] is not None or r["cites_gold"] is not None]
    answered = [r for r in answerable if not r["abstained"]]
    quotes = [ok for r in rows for ok in r["quotes_verbatim"]]
    latencies = [r["latency"] for r in rows]
    words = [r["words"] for r in answered]
    out: dict[str, Any] = {
        "questions": len(rows),
        "accuracy": sum(r["correct"] for r in rows) / len(rows),
        "answerable_accuracy": (
            sum(r["correct"] for r in answerable) / len(answerable) if answerable else None
        ),
        **abstention_scores([not r["gold"] for r in rows], [r["abstained"] for r in rows]),
        **retrieval_scores([r["gold_rank"] for r in with_evidence]),
        "cites_gold": (
            sum(bool(r["cites_gold"]) for r in with_evidence if not r["abstained"])
            / max(1, sum(1 for r in with_evidence if not r["abstained"]))
            if with_evidence
            else None
        ),  # fmt: skip
        "quotes_verbatim": sum(quotes) / len(quotes) if quotes else None,
        "median_words": percentile(words, 50) if words else None,
        "latency_p50": percentile(latencies, 50),
        "latency_p95": percentile(latencies, 95),
    }
    if any("llm_called" in r for r in rows):  # an LLM backend was asked
        called = [r for r in rows if r["llm_called"]]
        written = sum(r["sentences_written"] for r in called)
        final = [ok for r in rows for ok in r["final_sentences_supported"]]
        firsts = [r["first_token"] for r in called if r["first_token"] is not None]
        out |= {
            "llm_calls": len(called),
            "sentences_supported": (
                sum(r["sentences_supported"] for r in called) / written if written else None
            ),
            "final_sentences_supported": sum(final) / len(final) if final else None,
            "llm_abstentions": sum(bool(r["llm_abstained"]) for r in called),
            "fallbacks": sum(r["fallback"] for r in rows),
            "first_token_p50": percentile(firsts, 50),
            "first_token_p95": percentile(firsts, 95),
            "prompt_tokens_p50": percentile([r["prompt_tokens"] for r in called], 50),
        }
    return out


def run(
    gold: str | Path,
    articles: str | Path,
    baseline: bool = False,
    data_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    limit: int | None = None,
    settings=None,
    progress: bool = True,
    backend: str | None = None,
) -> dict[str, Any]:
    """Build or reuse the index, ask every question, score, and write the report files.

    ``backend`` names the answer backend (default: the settings'); with an LLM the rows also
    record what the model wrote, what verification kept, fallbacks and first-token latency.
    """
    from assistant.settings import get_settings

    settings = get_settings(settings)
    if backend:
        settings = settings.model_copy(deep=True)
        settings.answer.backend = backend
    backend = settings.answer.backend
    articles = Path(articles)
    questions = load_gold(gold)[:limit]
    data_dir = Path(data_dir) if data_dir else index_dir_for(articles, settings)
    assistant = Assistant(data_dir=data_dir, settings=settings)
    ingest = assistant.ingest(articles, sync=True, progress=progress)
    assistant.parse_sentences(progress=progress)  # as `assistant ingest` does: timed answers
    assistant.warm_up()  # models loaded and BLAS set as in the app, before any timing
    loaded, _ = load_path(articles)
    texts = {a.id: a.text for a in loaded}

    recorder = (
        None if backend == "extractive" else GenerationRecorder(assistant.answer_backend(backend))
    )

    def ask(q, h, d, on_token=None):
        return assistant.ask(q, history=h, as_of=d, on_token=on_token)

    systems = [System("newsdesk", ask, recorder)]
    if baseline:
        from eval.baseline import VectorBaseline

        peer = VectorBaseline(assistant)
        systems.append(System("baseline", lambda q, h, d, on_token=None: peer.ask(q, as_of=d)))

    assistant.ask("warm-up question", as_of=None)  # load everything before timing
    results: dict[str, Any] = {
        "gold": str(gold),
        "articles": str(articles),
        "corpus": {**assistant.stats(), "ingest": ingest.line()},
        "backend": backend,
        "settings_fingerprint": settings.fingerprint(),
        "code_version": code_version(),
        "settings": settings.model_dump(mode="json", exclude={"store"}),
        "systems": {},
    }
    for system in systems:
        rows = []
        for i, q in enumerate(questions, start=1):
            answer, latency = ask_conversation(system, q)
            rows.append(score_row(q, answer, latency, texts))
            if system.recorder is not None:
                rows[-1] |= system.recorder.row(answer)
            if progress:
                mark = "+" if rows[-1]["correct"] else "-"
                print(f"\r{system.name}: {i}/{len(questions)} {mark}", end="", file=sys.stderr)
        if progress:
            print(file=sys.stderr)
        by_type = {}
        for kind in sorted({r["type"] for r in rows}):
            by_type[kind] = summarize([r for r in rows if r["type"] == kind])
        results["systems"][system.name] = {
            "summary": summarize(rows),
            "by_type": by_type,
            "rows": rows,
        }

    from eval.report import write_report

    out = (
        Path(out_dir)
        if out_dir
        else RUNS_DIR / f"{Path(gold).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    write_report(results, out)
    results["out_dir"] = str(out)
    return results
