"""Command line: ``assistant ingest|ask|chat|stats``. A thin shell over ``Assistant``."""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from typing import Any

from assistant.errors import AssistantError
from assistant.settings import ANSWER_BACKENDS


def format_answer(answer: Any) -> str:
    """An answer and its numbered sources, for the terminal."""
    lines = [textwrap.fill(answer.answer, width=100)]
    if getattr(answer, "notice", ""):
        lines.append(f"(note: {answer.notice})")
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.published_at) if x)
            lines.append(f"[{c.n}] {c.title}" + (f" ({meta})" if meta else ""))
            if c.url:
                lines.append(f"    {c.url}")
            quote = textwrap.fill(
                f"“{c.quote}”", width=96, initial_indent="    ", subsequent_indent="    "
            )
            lines.append(quote)
    return "\n".join(lines)


def _assistant(args):
    from assistant.engine import Assistant

    return Assistant(data_dir=args.data_dir)


def cmd_ingest(args) -> int:
    summary = _assistant(args).ingest(args.path, sync=args.sync, progress=not args.quiet)
    if args.json:
        print(json.dumps(summary.to_dict()))
        return 0
    print(summary.line())
    for file, reason in summary.rejected:
        print(f"  rejected {file}: {reason}")
    return 0


def _ask_kwargs(args) -> dict[str, Any]:
    return {
        "as_of": args.as_of,
        "date_from": args.date_from,
        "sources": args.source,
        "backend": args.backend,
    }


class _Stream:
    """Prints an LLM's tokens as they arrive (text mode), then what verification kept."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.text = ""

    def __call__(self, delta: str) -> None:
        if not self.text:
            print("… ", end="", flush=True)
        self.text += delta
        print(delta, end="", flush=True)

    def finish(self, answer: Any) -> str:
        """The formatted answer; a note first when verification changed the streamed draft."""
        if not self.text:
            return format_answer(answer)
        print()
        draft = " ".join(re.sub(r"\[\d+\]", "", self.text).split())
        final = " ".join(re.sub(r"\[\d+\]", "", answer.answer).split())
        head = "" if draft == final else "(verified answer)\n"
        return head + format_answer(answer)


def _ask(assistant, question: str, args, history=None) -> tuple[Any, _Stream]:
    stream = _Stream(enabled=not args.json)
    on_token = stream if stream.enabled else None
    answer = assistant.ask(question, history=history, on_token=on_token, **_ask_kwargs(args))
    return answer, stream


def cmd_ask(args) -> int:
    answer, stream = _ask(_assistant(args), " ".join(args.question), args)
    print(json.dumps(answer.to_dict()) if args.json else stream.finish(answer))
    return 0


def cmd_chat(args) -> int:
    assistant = _assistant(args)
    interactive = sys.stdin.isatty() and not args.json
    history: list[tuple[str, str]] = []
    if interactive:
        print("Ask about the articles. /new starts a new conversation; Ctrl-D quits.")
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and not line:
            break
        question = line.strip()
        if not question:
            continue
        if question == "/new":
            history.clear()
            continue
        try:
            answer, stream = _ask(assistant, question, args, history)
        except AssistantError as exc:
            if args.json:
                print(json.dumps({"error": str(exc)}), flush=True)
            else:
                print(f"error: {exc}", file=sys.stderr)
            continue
        history.append((question, answer.answer))
        print(
            json.dumps(answer.to_dict()) if args.json else stream.finish(answer) + "\n", flush=True
        )
    return 0


def cmd_stats(args) -> int:
    stats = _assistant(args).stats()
    print(
        json.dumps(stats)
        if args.json
        else f"{stats['articles']} articles, {stats['chunks']} chunks"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Answer questions about news articles, with citations."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="folder of the index (default: data/ or settings)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--as-of", metavar="YYYY-MM-DD", help="only articles published by then")
    filters.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                         help="only articles published on or after this date")  # fmt: skip
    filters.add_argument("--source", action="append", help="only this source (repeatable)")
    filters.add_argument("--backend", choices=ANSWER_BACKENDS,
                         help="who writes the answer (default: settings, extractive)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="add a folder or file of articles")
    p.add_argument("path", help="folder or file: .txt, .md, .html, .jsonl")
    p.add_argument("--sync", action="store_true",
                   help="also remove indexed articles that are gone from PATH")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", parents=[common, filters], help="ask one question")
    p.add_argument("question", nargs="+", help="the question")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[common, filters],
                       help="a conversation; from a pipe, one question a line")  # fmt: skip
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("stats", parents=[common], help="how many articles and chunks are indexed")
    p.set_defaults(func=cmd_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to finish.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
