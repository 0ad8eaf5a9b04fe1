"""Performance benchmark: ingest against a bare embedding pass, re-ingest, ask latency, scaling.

Scaled indexes (a fraction of the corpus, or several copies of it under new ids) are made by
copying the stored vectors into a fresh Chroma folder, so only query latency is measured there.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eval.gold import load_gold
from eval.runner import RUNS_DIR, code_version
from eval.scoring import percentile


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bare_embedding_pass(articles, embed_model, settings) -> tuple[float, int]:
    """Chunk and embed exactly what ingest embeds, storing nothing: the floor for ingest."""
    from llama_index.core.schema import MetadataMode

    from assistant.chunking import chunk_article
    from assistant.indexing import chunk_nodes

    texts = []
    for article in articles:
        chunks = chunk_article(article, settings.chunking.max_words,
                               settings.chunking.overlap_sentences)  # fmt: skip
        texts += [
            n.get_content(metadata_mode=MetadataMode.EMBED) for n in chunk_nodes(article, chunks)
        ]
    model = embed_model._model  # the SentenceTransformer inside llama-index's wrapper
    started = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
    return time.perf_counter() - started, len(texts)


def _copy_index(source, target_dir: Path, fraction: float, settings) -> Any:
    """A new index with ``fraction`` of the source's articles (>1: whole copies, new ids)."""
    from assistant.engine import Assistant

    target = Assistant(data_dir=target_dir, settings=settings, embed_model=source.embed_model)
    store = target._open(create=True)
    records = list(source.store.article_records().values())
    copies = max(1, int(fraction)) if fraction >= 1 else 1
    keep = records if fraction >= 1 else records[: max(1, int(len(records) * fraction))]
    keep_ids = {r.id for r in keep}
    offset = 0
    while True:
        got = source.store.chunks.get(include=["embeddings", "metadatas", "documents"],
                                      limit=2000, offset=offset)  # fmt: skip
        if not got["ids"]:
            break
        offset += len(got["ids"])
        rows = [i for i, m in enumerate(got["metadatas"]) if m["article_id"] in keep_ids]
        for copy in range(copies):
            suffix = f"-x{copy}" if copy else ""
            metas = []
            for i in rows:
                meta = dict(got["metadatas"][i])
                meta["article_id"] += suffix
                meta.pop("_node_content", None)  # rebuilt below with the new ids
                metas.append(meta)
            if not rows:
                continue
            store.chunks.add(
                ids=[got["ids"][i].replace(":", f"{suffix}:", 1) for i in rows],
                embeddings=[got["embeddings"][i] for i in rows],
                metadatas=[_with_node_content(m, got["documents"][i], got["ids"][i], suffix)
                           for m, i in zip(metas, rows, strict=True)],
                documents=[got["documents"][i] for i in rows],
            )  # fmt: skip
    for copy in range(copies):
        suffix = f"-x{copy}" if copy else ""
        for r in keep:
            store.put_article(r.__class__(**{**r.__dict__, "id": r.id + suffix}), "")
    return target


def _with_node_content(meta: dict, text: str, chunk_id: str, suffix: str) -> dict:
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    node = TextNode(id_=chunk_id.replace(":", f"{suffix}:", 1), text=text,
                    metadata={k: v for k, v in meta.items() if not k.startswith("_")})  # fmt: skip
    data = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
    return {**meta, **data}


def _ask_latencies(assistant, questions, repeat: int = 1) -> list[float]:
    assistant.ask("warm-up question")
    latencies = []
    for _ in range(repeat):
        for q in questions:
            started = time.perf_counter()
            assistant.ask(q.question, as_of=q.as_of)
            latencies.append(time.perf_counter() - started)
    return latencies


def run_bench(articles_path: str, questions_path: str, out_dir: str | None,
              scales: list[float]) -> str:  # fmt: skip
    from assistant.embedding import load_embedding
    from assistant.engine import Assistant
    from assistant.loading import load_path
    from assistant.settings import get_settings

    settings = get_settings()
    out = Path(out_dir) if out_dir else RUNS_DIR / f"bench-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    embed_model = load_embedding(settings.embedding.model, settings.embedding.batch_size)
    questions = load_gold(questions_path)
    articles, _ = load_path(Path(articles_path))
    results: dict[str, Any] = {
        "code_version": code_version(),
        "settings_fingerprint": settings.fingerprint(),
        "articles": len(articles),
        "questions": len(questions),
    }
    try:
        bare, n_chunks = _bare_embedding_pass(articles, embed_model, settings)
        results["bare_embedding_s"] = bare
        results["chunks"] = n_chunks

        assistant = Assistant(data_dir=work / "full", settings=settings, embed_model=embed_model)
        started = time.perf_counter()
        assistant.ingest(articles_path, progress=True)
        results["ingest_s"] = time.perf_counter() - started
        started = time.perf_counter()
        again = assistant.ingest(articles_path, progress=False)
        results["reingest_unchanged_s"] = time.perf_counter() - started
        results["reingest_chunks_embedded"] = again.chunks_added

        latencies = _ask_latencies(assistant, questions)
        results["ask_p50_s"] = statistics.median(latencies)
        results["ask_p95_s"] = percentile(latencies, 95)

        results["indexed_articles"] = assistant.stats()["articles"]
        scaling = []
        for fraction in scales:
            # a fresh Assistant each time, so no size profits from another's sentence cache
            index = Assistant(data_dir=work / "full", settings=settings, embed_model=embed_model) \
                if fraction == 1 else _copy_index(assistant, work / f"scale-{fraction}", fraction,
                                                  settings)  # fmt: skip
            lat = _ask_latencies(index, questions)
            scaling.append(
                {"fraction": fraction, "chunks": index.stats()["chunks"],
                 "p50_s": statistics.median(lat), "p95_s": percentile(lat, 95)}
            )  # fmt: skip
        results["scaling"] = scaling
        results["peak_rss_mib"] = _peak_mib()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (out / "bench.json").write_text(json.dumps(results, indent=1))
    _plot_scaling(results["scaling"], out / "latency_by_size.png")
    report = _markdown(results)
    (out / "bench.md").write_text(report)
    return report + f"\nreport: {out}/bench.md\n"


def _plot_scaling(scaling: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = [s["chunks"] for s in scaling]
    ax.plot(xs, [s["p50_s"] * 1000 for s in scaling], "o-", label="p50")
    ax.plot(xs, [s["p95_s"] * 1000 for s in scaling], "s--", label="p95")
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("ask latency (ms)")
    ax.set_title("Query latency by index size")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark ({r['articles']} articles read, {r['indexed_articles']} indexed, "
        f"{r['chunks']} chunks embedded, "
        f"{r['questions']} questions; settings `{r['settings_fingerprint']}`)",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| ingest, fresh index | {r['ingest_s']:.1f} s |",
        f"| bare embedding pass over the same chunks | {r['bare_embedding_s']:.1f} s |",
        f"| ingest / bare embedding | {r['ingest_s'] / r['bare_embedding_s']:.2f}× |",
        f"| re-ingest, unchanged | {r['reingest_unchanged_s']:.1f} s "
        f"({r['reingest_chunks_embedded']} chunks embedded) |",
        f"| ask latency p50 / p95 | {r['ask_p50_s'] * 1000:.0f} / {r['ask_p95_s'] * 1000:.0f} ms |",
        f"| peak memory (RSS) | {r['peak_rss_mib']:.0f} MiB |",
        "",
        "| index size | chunks | ask p50 (ms) | ask p95 (ms) |",
        "| --- | --- | --- | --- |",
    ]
    for s in r["scaling"]:
        lines.append(f"| {s['fraction']:g}× | {s['chunks']} | {s['p50_s'] * 1000:.0f} | "
                     f"{s['p95_s'] * 1000:.0f} |")  # fmt: skip
    lines += ["", "![latency by index size](latency_by_size.png)", ""]
    return "\n".join(lines)
