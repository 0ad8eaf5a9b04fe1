"""``python -m eval run|sweep|fit|bench|load|memory``: a thin shell over the eval modules."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="score the assistant on a gold question file")
    run.add_argument("--gold", required=True, help="gold questions (.jsonl)")
    run.add_argument("--articles", required=True, help="folder or file of the articles")
    run.add_argument("--baseline", action="store_true", help="also run the llama-index baseline")
    run.add_argument("--data-dir", help="index folder to use (default: one of eval/runs/indexes)")
    run.add_argument("--out", help="report folder (default: eval/runs/<gold>-<time>)")
    run.add_argument("--limit", type=int, help="only the first N questions")
    sweep = sub.add_parser("sweep", help="score a grid of reader settings on gold sets")
    sweep.add_argument(
        "--gold",
        action="append",
        required=True,
        metavar="GOLD=ARTICLES",
        help="a gold file and its articles (repeatable)",
    )
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="GROUP.FIELD=V1,V2",
        help="values of one setting (repeatable; the product is scored)",
    )
    sweep.add_argument(
        "--data-dir",
        action="append",
        default=[],
        metavar="GOLD_NAME=DIR",
        help="an existing index for a gold set (by file stem)",
    )
    sweep.add_argument("--out", help="report folder (default: eval/runs/sweep-<time>)")
    fit = sub.add_parser("fit", help="fit the reader's phrase weights on gold sets")
    fit.add_argument("--gold", action="append", required=True, metavar="GOLD=ARTICLES",
                     help="a gold file and its articles (repeatable)")  # fmt: skip
    fit.add_argument("--data-dir", action="append", default=[], metavar="GOLD_NAME=DIR",
                     help="an existing index for a gold set (by file stem)")  # fmt: skip
    fit.add_argument("--out", help="report folder (default: eval/runs/fit-<time>)")
    run.add_argument("--backend", choices=["extractive", "local", "openai"],
                     help="who writes answers (default: settings)")  # fmt: skip
    bench = sub.add_parser("bench", help="performance benchmark on the benchmark articles")
    bench.add_argument("--articles", default="../shared/benchmarks/realtimeqa/articles.jsonl")
    bench.add_argument("--questions", default="../shared/benchmarks/realtimeqa/questions_dev.jsonl")
    bench.add_argument("--out", help="report folder (default: eval/runs/bench-<time>)")
    bench.add_argument("--scale", type=int, default=10, help="size of the large index, x corpus")
    bench.add_argument("--sessions", type=int, default=20, help="concurrent chat sessions")
    bench.add_argument("--seconds", type=float, default=60, help="how long they chat")
    memory = sub.add_parser("memory", help="how long memory freed by others takes to touch")
    memory.add_argument("--gib", type=float, default=1.0, help="memory touched, GiB")
    memory.add_argument("--freed-gib", type=float, default=4.0, help="freed before, GiB")
    load = sub.add_parser("load", help="concurrent chat sessions against the app")
    load.add_argument("--url", help="a running app (default: start one on the seed corpus)")
    load.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    load.add_argument("--seconds", type=float, default=60, help="how long to keep asking")
    load.add_argument("--gold", default="eval/gold/seed.jsonl", help="where questions come from")
    load.add_argument("--corpus", default="corpus", help="corpus of the started app")
    load.add_argument("--seed", type=int, default=0, help="random seed of the sessions")
    args = parser.parse_args(argv)

    if args.command == "load":
        from contextlib import nullcontext

        from eval.load import run_load, started_app

        with nullcontext(args.url) if args.url else started_app(args.corpus) as url:
            report = run_load(url, args.sessions, args.seconds, args.gold, args.seed)
        print(report.summary())
        return 0

    if args.command == "memory":
        from eval.memory import probe

        print(probe(args.gib, args.freed_gib))
        return 0

    from assistant.errors import AssistantError

    try:
        if args.command == "run":
            from eval.report import summary_table
            from eval.runner import run as run_eval

            results = run_eval(args.gold, args.articles, args.baseline, args.data_dir, args.out,
                               args.limit, backend=args.backend)  # fmt: skip
            print(summary_table(results))
            print(f"\nreport: {results['out_dir']}/report.md")
        elif args.command == "sweep":
            from eval.sweep import parse_grid, run_sweep

            dirs = dict(d.split("=", 1) for d in args.data_dir)
            print(run_sweep(args.gold, parse_grid(args.grid), args.out, dirs))
        elif args.command == "fit":
            from eval.fit import run_fit

            print(run_fit(args.gold, dict(d.split("=", 1) for d in args.data_dir), args.out))
        else:
            from eval.bench import run_bench

            report = run_bench(args.articles, args.questions, args.out, args.scale,
                               args.sessions, args.seconds)  # fmt: skip
            print(report)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
