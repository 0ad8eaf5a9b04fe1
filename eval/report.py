"""Write an evaluation's results: JSON rows, a Markdown report and its plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METRICS = [
    ("accuracy", "answer accuracy"),
    ("answerable_accuracy", "accuracy on answerable"),
    ("abstention_precision", "abstention precision"),
    ("abstention_recall", "abstention recall"),
    ("hit@1", "retrieval hit@1"),
    ("hit@5", "retrieval hit@5"),
    ("hit@10", "retrieval hit@10"),
    ("mrr", "retrieval MRR"),
    ("cites_gold", "answers citing a gold article"),
    ("quotes_verbatim", "quotes verbatim"),
    ("median_words", "median answer words"),
    ("latency_p50", "latency p50 (s)"),
    ("latency_p95", "latency p95 (s)"),
]
LLM_METRICS = [  # only in reports where an LLM backend answered
    ("llm_calls", "LLM calls"),
    ("sentences_supported", "model sentences supported"),
    ("final_sentences_supported", "final sentences supported"),
    ("llm_abstentions", "model said it does not know"),
    ("fallbacks", "fallbacks to extractive"),
    ("first_token_p50", "first token p50 (s)"),
    ("first_token_p95", "first token p95 (s)"),
    ("prompt_tokens_p50", "prompt tokens p50 (estimated)"),
]


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _ratio(ours: Any, theirs: Any) -> str:
    if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)) or not theirs:
        return "–"
    return f"{ours / theirs:.2f}×"


def summary_table(results: dict[str, Any]) -> str:
    systems = results["systems"]
    names = list(systems)
    head = "| metric | " + " | ".join(names) + (" | ratio |" if len(names) == 2 else " |")
    lines = [head, "|" + " --- |" * (len(names) + 1 + (len(names) == 2))]
    llm_rows = [m for m in LLM_METRICS if any(systems[n]["summary"].get(m[0]) is not None
                                              for n in names)]  # fmt: skip
    for key, label in METRICS + llm_rows:
        values = [systems[n]["summary"].get(key) for n in names]
        row = f"| {label} | " + " | ".join(fmt(v) for v in values)
        if len(names) == 2:
            row += f" | {_ratio(values[0], values[1])}"
        lines.append(row + " |")
    return "\n".join(lines)


def by_type_table(system: dict[str, Any]) -> str:
    lines = ["| type | questions | accuracy | hit@5 | median words | p50 latency (s) |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for kind, s in system["by_type"].items():
        lines.append(
            f"| {kind} | {s['questions']} | {fmt(s['accuracy'])} | {fmt(s['hit@5'])} | "
            f"{fmt(s['median_words'])} | {fmt(s['latency_p50'])} |"
        )
    return "\n".join(lines)


def _plots(results: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    ours = results["systems"]["newsdesk"]
    kinds = list(ours["by_type"])
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(results["systems"])
    for i, (name, system) in enumerate(results["systems"].items()):
        values = [system["by_type"].get(k, {}).get("accuracy") or 0 for k in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], values, width, label=name)
    ax.set_xticks([x + width * (len(results["systems"]) - 1) / 2 for x in range(len(kinds))])
    ax.set_xticklabels(kinds, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title("Answer accuracy by question type")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "accuracy_by_type.png", dpi=110)
    plt.close(fig)
    files.append("accuracy_by_type.png")

    fig, ax = plt.subplots(figsize=(7, 3.2))
    for name, system in results["systems"].items():
        ax.hist([r["latency"] * 1000 for r in system["rows"]], bins=20, alpha=0.6, label=name)
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    files.append("latency.png")
    return files


def _failures(system: dict[str, Any], n: int = 10) -> str:
    wrong = [r for r in system["rows"] if not r["correct"]]
    wrong.sort(key=lambda r: (r["gold_rank"] is not None, r["gold_rank"] or 0), reverse=True)
    lines = []
    for r in wrong[:n]:
        gold = " / ".join(r["gold"]) or "(abstain)"
        lines.append(f"- **{r['id']}** ({r['type']}): {' → '.join(r['turns'])}  ")
        lines.append(f"  gold: {gold}; gold article rank: {fmt(r['gold_rank'])}  ")
        lines.append(f"  answer: {r['answer'][:300]}")
    return "\n".join(lines) or "None."


def write_report(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    plots = _plots(results, out)
    corpus = results["corpus"]
    text = [
        f"# Evaluation: {Path(results['gold']).name}",
        "",
        f"Articles: `{results['articles']}` ({corpus['articles']} articles, "
        f"{corpus['chunks']} chunks). Answer backend: `{results.get('backend', 'extractive')}`. "
        f"Settings fingerprint: `{results['settings_fingerprint']}`, "
        f"code `{results.get('code_version', 'unknown')}`.",
        "",
        summary_table(results),
        "",
        "## By question type (newsdesk)",
        "",
        by_type_table(results["systems"]["newsdesk"]),
        "",
        *[f"![{p}]({p})" for p in plots],
        "",
        "## Worst failures (newsdesk)",
        "",
        _failures(results["systems"]["newsdesk"]),
        "",
    ]
    (out / "report.md").write_text("\n".join(text))
