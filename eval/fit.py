"""Fit the reader's phrase weights on gold sets instead of setting them by hand.

Each question is retrieved and read once; every candidate phrase keeps its features (see
``assistant.reading.PHRASE_FEATURES``) and is labelled by whether it names a gold answer. The
weights are those of a conditional logit: per question, a softmax over its candidates, fitted to
put the gold candidates first, with an L2 penalty toward zero. Cross-validation by question
(k folds) says how the weights do on questions they were not fitted on, next to the current
settings; then the abstention threshold is scanned with the fitted weights.

    python -m eval fit --gold DEV.jsonl=ARTICLES --gold eval/gold/seed.jsonl=corpus

The command prints the weights to copy into ``ReaderSettings``; it changes nothing itself.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.runner import RUNS_DIR, code_version
from eval.scoring import gold_choices, mentions
from eval.sweep import _GoldSet

L2 = 0.01  # penalty on the weights' squared norm: ~120 questions cannot carry large weights
FOLDS = 5  # cross-validation folds, by question
STEPS = 3000  # gradient steps (the loss is convex; this is past convergence on these sets)
RATE = 0.05  # gradient step size


@dataclass
class Case:
    """One question's candidates: features (rows), gold labels, and how the reader ended."""

    set_name: str
    question_id: str
    answerable: bool
    x: np.ndarray  # candidates x features
    gold: np.ndarray  # bool per candidate
    binding: np.ndarray  # per candidate (the reader's other abstention gate)
    before_phrases: bool  # the reader abstained before looking for phrases


def collect(gold_set: _GoldSet, reader) -> list[Case]:
    """Read every question of ``gold_set`` once and keep its candidates' features."""
    from assistant.reading import PHRASE_FEATURES

    cases = []
    for q in gold_set.questions:
        reading = gold_set.assistant.read(gold_set.retrieved(q, reader), reader)
        names = gold_choices(q.answers, q.choices)
        phrases = reading.phrases
        x = np.array([[p.features.get(f, 0.0) for f in PHRASE_FEATURES] for p in phrases],
                     dtype=float).reshape(len(phrases), len(PHRASE_FEATURES))  # fmt: skip
        gold = np.array([any(mentions(p.text, g) for g in names) for p in phrases], dtype=bool)
        cases.append(Case(gold_set.name, q.id, q.answerable, x, gold,
                          np.array([p.binding for p in phrases]),
                          reading.abstained and not phrases))  # fmt: skip
    return cases


def fit(cases: list[Case], start: np.ndarray, l2: float = L2) -> np.ndarray:
    """Weights maximising the log-probability of the gold candidates (softmax per question)."""
    usable = [c for c in cases if c.gold.any() and len(c.gold) > 1]
    per_set: dict[str, int] = {}
    for c in usable:
        per_set[c.set_name] = per_set.get(c.set_name, 0) + 1
    share = [1 / (len(per_set) * per_set[c.set_name]) for c in usable]  # each set counts alike
    w = start.astype(float).copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, STEPS + 1):  # Adam on a convex loss
        grad = l2 * w * 2
        for c, weight in zip(usable, share, strict=True):
            z = c.x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            pg = p * c.gold
            q = pg / pg.sum()
            grad += weight * (c.x.T @ p - c.x.T @ q)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w


def top_right(cases: list[Case], w: np.ndarray) -> list[bool]:
    """Per case with a gold candidate: is the best-scoring candidate gold?"""
    return [bool(c.gold[int(np.argmax(c.x @ w))]) for c in cases if c.gold.any()]


def outcome(c: Case, w: np.ndarray, min_answer: float, min_binding: float) -> bool:
    """Is the reader right on this case with weights ``w`` and these abstention gates?"""
    if c.before_phrases or not len(c.gold):
        return not c.answerable
    best = int(np.argmax(c.x @ w))
    abstains = float(c.x[best] @ w) < min_answer or c.binding[best] < min_binding
    return (not c.answerable) if abstains else (c.answerable and bool(c.gold[best]))


def run_fit(golds: list[str], data_dirs: dict[str, str] | None = None,
            out_dir: str | None = None) -> str:  # fmt: skip
    """Fit, cross-validate and report; returns the Markdown report."""
    from assistant.reading import PHRASE_FEATURES
    from assistant.settings import get_settings

    settings = get_settings()
    reader = settings.reader
    started = time.perf_counter()
    cases: list[Case] = []
    for spec in golds:
        gold, _, articles = spec.partition("=")
        gold_set = _GoldSet(gold, articles, (data_dirs or {}).get(Path(gold).stem), settings)
        cases += collect(gold_set, reader)
    current = np.array([getattr(reader, f"w_{f}") for f in PHRASE_FEATURES])
    rng = np.random.default_rng(0)
    fold = rng.permutation(len(cases)) % FOLDS
    sets = sorted({c.set_name for c in cases})
    held: dict[str, list[bool]] = {"current": [], "fitted": []}
    by_set: dict[tuple[str, str], list[bool]] = {}
    for k in range(FOLDS):
        train = [c for c, f in zip(cases, fold, strict=True) if f != k]
        test = [c for c, f in zip(cases, fold, strict=True) if f == k]
        w = fit(train, current)
        for name in sets:
            mine = [c for c in test if c.set_name == name]
            by_set.setdefault((name, "current"), []).extend(top_right(mine, current))
            by_set.setdefault((name, "fitted"), []).extend(top_right(mine, w))
        held["current"] += top_right(test, current)
        held["fitted"] += top_right(test, w)
    fitted = fit(cases, current)
    lines = [
        f"# Phrase weights fitted (code `{code_version()}`, {len(cases)} questions, "
        f"{time.perf_counter() - started:.0f} s)",
        "",
        f"Candidates hold a gold answer in {sum(c.gold.any() for c in cases)} questions; "
        f"best candidate is gold, {FOLDS}-fold cross-validated: current weights "
        f"{np.mean(held['current']):.3f}, fitted {np.mean(held['fitted']):.3f} "
        f"(on all, fitted: {np.mean(top_right(cases, fitted)):.3f}). Questions with a gold "
        "candidate: "
        + ", ".join(
            f"{n} {sum(c.gold.any() for c in cases if c.set_name == n)}/"
            f"{sum(c.answerable for c in cases if c.set_name == n)} answerable"
            for n in sets
        )
        + ".",
        "",
        "Per set, cross-validated: "
        + "; ".join(
            f"{n}: current {np.mean(by_set[n, 'current']):.3f}, fitted "
            f"{np.mean(by_set[n, 'fitted']):.3f}"
            for n in sets
        )
        + ".",
        "",
        "| feature | current | fitted |",
        "| --- | --- | --- |",
        *(
            f"| w_{f} | {a:.3f} | {b:.3f} |"
            for f, a, b in zip(PHRASE_FEATURES, current, fitted, strict=True)
        ),  # fmt: skip
        "",
        "Accuracy by abstention threshold (min_answer) with the fitted weights:",
        "",
        "| min_answer | " + " | ".join(sets) + " |",
        "|" + " --- |" * (len(sets) + 1),
    ]
    best = [float((c.x @ fitted).max()) for c in cases if len(c.gold)]
    for t in np.quantile(best, np.linspace(0.0, 0.5, 11)) if best else []:
        cells = []
        for name in sets:
            mine = [outcome(c, fitted, t, reader.min_binding) for c in cases if c.set_name == name]
            cells.append(f"{np.mean(mine):.3f}")
        lines.append(f"| {t:.3f} | " + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    out = Path(out_dir) if out_dir else RUNS_DIR / f"fit-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.md").write_text(report)
    weights = {f"w_{f}": round(float(w), 3) for f, w in zip(PHRASE_FEATURES, fitted, strict=True)}
    (out / "weights.json").write_text(json.dumps(weights, indent=1))
    return report + f"\nreport: {out}/fit.md\n"
