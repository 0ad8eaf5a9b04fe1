"""Choose the reader's weights and thresholds by a grid over gold sets, not by eye.

Retrieval does not depend on the reader's settings, so each question is resolved and retrieved
once (cached per question and conversation) and only read again for each point of the grid:
a grid of dozens of points over the dev set takes minutes.

    python -m eval sweep --gold DEV.jsonl=ARTICLES --gold eval/gold/seed.jsonl=corpus \\
        --grid reader.w_binding=0.2,0.4,0.6 --grid reader.min_context=0.4,0.5,0.6
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

from eval.gold import load_gold
from eval.runner import RUNS_DIR, code_version, index_dir_for
from eval.scoring import answer_correct, mentions, percentile, word_count


def parse_grid(specs: list[str]) -> dict[str, list[float]]:
    """``["reader.w_binding=0.2,0.4"]`` -> ``{"reader.w_binding": [0.2, 0.4]}``."""
    grid = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        if "." not in name or not values:
            raise ValueError(f"grid entry {spec!r}: expected group.field=v1,v2,...")
        grid[name.strip()] = [float(v) for v in values.split(",")]
    return grid


def _with(settings, point: dict[str, float]):
    data = settings.model_dump()
    for name, value in point.items():
        group, field = name.split(".", 1)
        if field not in data[group]:
            raise ValueError(f"no setting {name}")
        kind = type(data[group][field])
        if kind is bool and value not in (0, 1):
            raise ValueError(f"{name} is a yes/no setting: give 0 or 1, not {value}")
        data[group][field] = kind(value) if kind in (int, bool) else value
    return type(settings)(**data)


class _GoldSet:
    """One gold file with its index, its questions prepared (retrieved) once."""

    def __init__(self, gold: str, articles: str, data_dir: str | None, settings) -> None:
        from assistant.engine import Assistant

        self.name = Path(gold).stem
        self.questions = load_gold(gold)
        path = Path(articles)
        folder = Path(data_dir) if data_dir else index_dir_for(path, settings)
        self.assistant = Assistant(data_dir=folder, settings=settings)
        self.assistant.ingest(path, sync=True, progress=True)
        self._prepared: dict[tuple, Any] = {}

    def prepare(self, question: str, history: list[tuple[str, str]], as_of):
        key = (question, tuple(history), as_of)
        if key not in self._prepared:
            self._prepared[key] = self.assistant.prepare(question, history, as_of)
        return self._prepared[key]

    def retrieved(self, q, reader):
        """``q``'s last turn retrieved, after its earlier turns were answered with ``reader``."""
        history: list[tuple[str, str]] = []
        for turn in q.turns[:-1]:
            earlier = self.assistant.conclude(self.prepare(turn, history, q.as_of), reader)
            history.append((turn, earlier.answer))
        return self.prepare(q.question, history, q.as_of)

    def score(self, reader) -> dict[str, Any]:
        rows = []
        sentence_hits: list[bool | None] = []
        for q in self.questions:
            retrieved = self.retrieved(q, reader)
            answer = self.assistant.conclude(retrieved, reader)
            reading = self.assistant.read(retrieved, reader) if q.answers else None
            top = reading.sentences[0].text if reading and reading.sentences else ""
            rows.append((q, answer))
            sentence_hits.append(any(mentions(top, g) for g in q.answers) if q.answers else None)
        correct = [answer_correct(a.answer, a.abstained, q.answers, q.choices) for q, a in rows]
        answerable = [c for c, (q, _) in zip(correct, rows, strict=True) if q.answers]
        refusals = [a.abstained for q, a in rows if not q.answers]
        words = [word_count(a.answer) for _, a in rows if not a.abstained]
        hits = [h for h in sentence_hits if h is not None]
        return {
            "accuracy": sum(correct) / len(rows),
            "sentence@1": sum(hits) / len(hits) if hits else None,
            "answerable": sum(answerable) / len(answerable) if answerable else None,
            "abstain_recall": sum(refusals) / len(refusals) if refusals else None,
            "median_words": percentile(words, 50) if words else None,
        }


def run_sweep(golds: list[str], grid: dict[str, list[float]], out_dir: str | None = None,
              data_dirs: dict[str, str] | None = None) -> str:  # fmt: skip
    """Score every point of ``grid`` on every gold set; write and return a Markdown table."""
    from assistant.settings import get_settings

    base = get_settings()
    sets = []
    for spec in golds:
        gold, _, articles = spec.partition("=")
        sets.append(_GoldSet(gold, articles, (data_dirs or {}).get(Path(gold).stem), base))
    names = list(grid)
    results = []
    started = time.perf_counter()
    for values in itertools.product(*(grid[n] for n in names)):
        point = dict(zip(names, values, strict=True))
        settings = _with(base, point)
        scores = {s.name: s.score(settings.reader) for s in sets}
        results.append({"point": point, "scores": scores})
    results.sort(key=lambda r: -sum(s["accuracy"] for s in r["scores"].values()))
    out = Path(out_dir) if out_dir else RUNS_DIR / f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    meta = {"code_version": code_version(), "settings_fingerprint": base.fingerprint(),
            "grid": grid, "seconds": time.perf_counter() - started}  # fmt: skip
    (out / "sweep.json").write_text(json.dumps({**meta, "results": results}, indent=1))
    table = _table(results, names, [s.name for s in sets], meta)
    (out / "sweep.md").write_text(table)
    return table + f"\nreport: {out}/sweep.md\n"


def _table(results, names: list[str], sets: list[str], meta: dict) -> str:
    def f(v) -> str:
        return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    keys = ("acc", "answerable", "abstain", "words", "sentence@1")
    head = [*names, *(f"{s} {k}" for s in sets for k in keys)]
    lines = [
        f"# Sweep (code `{meta['code_version']}`, base settings `{meta['settings_fingerprint']}`,"
        f" {len(results)} points, {meta['seconds']:.0f} s)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    for r in results:
        cells = [f(r["point"][n]) for n in names]
        for s in sets:
            sc = r["scores"][s]
            cells += [f(sc["accuracy"]), f(sc["answerable"]), f(sc["abstain_recall"]),
                      f(sc["median_words"]), f(sc["sentence@1"])]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
