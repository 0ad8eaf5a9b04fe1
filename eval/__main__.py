"""``python -m eval run|bench``: thin shell over eval.runner and eval.bench."""

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
    run.add_argument("--backend", choices=["extractive", "local", "openai"],
                     help="who writes answers (default: settings)")  # fmt: skip
    bench = sub.add_parser("bench", help="performance benchmark on the benchmark articles")
    bench.add_argument("--articles", default="../shared/benchmarks/realtimeqa/articles.jsonl")
    bench.add_argument("--questions", default="../shared/benchmarks/realtimeqa/questions_dev.jsonl")
    bench.add_argument("--out", help="report folder (default: eval/runs/bench-<time>)")
    bench.add_argument("--scales", default="0.1,0.3,1,5", help="index sizes, as corpus fractions")
    args = parser.parse_args(argv)

    from assistant.errors import AssistantError

    try:
        if args.command == "run":
            from eval.report import summary_table
            from eval.runner import run as run_eval

            results = run_eval(args.gold, args.articles, args.baseline, args.data_dir, args.out,
                               args.limit, backend=args.backend)  # fmt: skip
            print(summary_table(results))
            print(f"\nreport: {results['out_dir']}/report.md")
        else:
            from eval.bench import run_bench

            report = run_bench(args.articles, args.questions, args.out,
                               [float(s) for s in args.scales.split(",")])  # fmt: skip
            print(report)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
