"""Command line: ``assistant ingest|ask|chat|stats``. A thin shell over ``Assistant``."""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import textwrap
import time
from typing import Any

from assistant.errors import AssistantError, InvalidInput
from assistant.settings import ANSWER_BACKENDS

DEBUG_ENV = "NEWSDESK_DEBUG"  # =1: unexpected errors print their traceback
_done_when_printed = False  # set by a one-shot answer read here: see ``run``
TRACE_ENV = "NEWSDESK_TRACE_INGEST"  # =1: ingest reports its steps on stderr (crash tests)
TRACE_DELAY_ENV = "NEWSDESK_TRACE_DELAY"  # seconds to pause after each traced step


def format_answer(answer: Any) -> str:
    """An answer and its numbered sources, for the terminal."""
    lines = [textwrap.fill(answer.answer, width=100)]
    if getattr(answer, "notice", ""):
        lines.append(f"note: {answer.notice}")
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


def _trace(step: str) -> None:
    print(f"trace: {step}", file=sys.stderr, flush=True)
    delay = float(os.environ.get(TRACE_DELAY_ENV) or 0)
    if delay > 0:
        time.sleep(delay)


def _traced_ingest(assistant, args):
    """Ingest that reports each step on stderr, so a test can kill it at a chosen moment:
    model load, each embedded batch, each article stored or deleted (``--sync``, edits)."""
    from assistant.store import Store

    def ids(arg) -> list[str]:
        items = arg if isinstance(arg, list) else [arg]
        return [str(getattr(x[0] if isinstance(x, tuple) else x, "id", x)) for x in items]

    def wrap(name: str, label: str):
        original = getattr(Store, name)

        def traced(self, arg, *rest):
            for item in ids(arg):
                _trace(f"{label} {item} start")
            result = original(self, arg, *rest)
            for item in ids(arg):
                _trace(f"{label} {item} done")
            return result

        setattr(Store, name, traced)

    wrap("put_articles", "store")
    wrap("delete_article", "delete")
    assistant._open(create=True)  # as ingest does: the store first, then the model
    _trace("model-load start")
    assistant.embed_model  # noqa: B018  (loads the model)
    _trace("model-load done")

    def progress(done: int, total: int, chunks: int) -> None:
        _trace(f"embedded {done}/{total} articles, {chunks} chunks")

    return assistant.ingest(args.path, sync=args.sync, progress=progress)


def cmd_ingest(args) -> int:
    assistant = _assistant(args)
    if os.environ.get(TRACE_ENV) == "1":
        summary = _traced_ingest(assistant, args)
    else:
        summary = assistant.ingest(args.path, sync=args.sync, progress=not args.quiet)
    if not args.json:
        print(summary.line(), flush=True)
        for file, reason in summary.rejected:
            print(f"  rejected {file}: {reason}")
    parsed = 0
    if not args.no_parse:  # answerable already; stored parses make answers about twice as fast
        bar = not args.quiet and not args.json and sys.stderr.isatty()  # no bar in logs
        try:
            parsed = assistant.parse_sentences(progress=bar)
        except (OSError, sqlite3.Error) as exc:  # ingested all the same: answers parse later
            print(f"warning: sentences not parsed ahead ({exc}); answers parse them as needed.",
                  file=sys.stderr)  # fmt: skip
    if args.json:
        print(json.dumps({**summary.to_dict(), "sentences_parsed": parsed}))
    elif parsed:
        print(f"Parsed {parsed} sentences for faster answers.")
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
    question = " ".join(args.question)
    reply = _ask_running_app(args, question)
    if reply is not None:
        if "error" in reply:
            raise AssistantError(reply["error"])
        print(json.dumps(reply) if args.json else format_answer(_Reply(reply)))
        return 0
    assistant = _assistant(args)
    if (args.backend or assistant.settings.answer.backend).strip().lower() == "extractive":
        assistant.read_in_a_fork()  # the reader loads beside retrieval, on the other core
    answer, stream = _ask(assistant, question, args)
    print(json.dumps(answer.to_dict()) if args.json else stream.finish(answer))
    global _done_when_printed
    _done_when_printed = True
    return 0


class _Reply:
    """An answer as the running app sent it, read like an ``Answer``."""

    def __init__(self, data: dict[str, Any]) -> None:
        from types import SimpleNamespace

        self.answer = data.get("answer", "")
        self.notice = data.get("notice", "")
        self.citations = [SimpleNamespace(**c) for c in data.get("citations", [])]


def _ask_running_app(args, question: str) -> dict | None:
    """The answer of an app already serving this index, if one runs (no models loaded here)."""
    from assistant.remote import ask_running_app, running_app
    from assistant.settings import get_settings

    if args.no_app or args.backend:  # the app answers with its own backend
        return None
    data_dir = args.data_dir or get_settings().store.data_dir
    url = running_app(data_dir)
    if url is None:
        return None
    return ask_running_app(url, {"question": question, **_ask_kwargs(args)})


def _lenient(stream) -> None:
    """Undecodable bytes on stdin arrive as surrogate escapes (the assistant repairs them and
    says so) instead of ending the conversation with a UnicodeDecodeError."""
    try:
        stream.reconfigure(errors="surrogateescape")
    except (AttributeError, ValueError, OSError):
        pass


def _report(exc: BaseException, as_json: bool) -> None:
    message = str(exc) if isinstance(exc, AssistantError) else _internal(exc)
    if as_json:
        print(json.dumps({"error": message}), flush=True)
    else:
        print(f"error: {message}", file=sys.stderr, flush=True)


def cmd_chat(args) -> int:
    assistant = _assistant(args)
    _lenient(sys.stdin)
    interactive = sys.stdin.isatty() and not args.json
    history: list[tuple[str, str]] = []
    if interactive:
        print("Ask about the articles. /new starts a new conversation; Ctrl-D quits.")
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        except UnicodeDecodeError:  # a stream that could not be made lenient
            _report(InvalidInput("That line was not valid UTF-8 text; type it again."), args.json)
            continue
        if not interactive and not line:
            break
        question = line.strip()
        if not question:
            continue
        if question == "/new":
            history.clear()
            continue
        if not interactive and not args.json:  # a transcript: each question before its answer
            print(f"> {question}", flush=True)
        try:
            answer, stream = _ask(assistant, question, args, history)
        except Exception as exc:  # one bad line never ends the conversation
            _report(exc, args.json)
            continue
        history.append((answer.question or question, answer.answer))
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


class UsageError(Exception):
    """A command line argparse cannot read; shown as one line, exit code 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(" ".join(f"{message} (see `{self.prog} --help`)".split()))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="assistant", description="Answer questions about news articles, with citations."
    )
    common = _Parser(add_help=False)
    common.add_argument("--data-dir", help="folder of the index (default: data/ or settings)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    filters = _Parser(add_help=False)
    filters.add_argument("--as-of", metavar="YYYY-MM-DD", help="only articles published by then")
    filters.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                         help="only articles published on or after this date")  # fmt: skip
    filters.add_argument("--source", action="append", help="only this source (repeatable)")
    filters.add_argument("--backend", choices=ANSWER_BACKENDS,
                         help="who writes the answer (default: settings, extractive)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("ingest", parents=[common], help="add a folder or file of articles")
    p.add_argument("path", help="folder or file: .txt, .md, .html, .jsonl")
    p.add_argument("--sync", action="store_true",
                   help="also remove indexed articles that are gone from PATH")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-parse", action="store_true",
                   help="do not parse new sentences now (answers parse as needed)")  # fmt: skip
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", parents=[common, filters], help="ask one question")
    p.add_argument("question", nargs="+", help="the question")
    p.add_argument("--no-app", action="store_true",
                   help="answer in this process even when the web app is running")  # fmt: skip
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[common, filters],
                       help="a conversation; from a pipe, one question a line")  # fmt: skip
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("stats", parents=[common], help="how many articles and chunks are indexed")
    p.set_defaults(func=cmd_stats)
    return parser


def _internal(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:200]
    return (
        f"internal error ({type(exc).__name__}{': ' + detail if detail else ''}); "
        f"run again with {DEBUG_ENV}=1 to see where, and please report it."
    )


def _tolerant_output() -> None:
    """Text the terminal cannot encode is escaped instead of raising mid-answer."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors are one line on stderr and exit code 1, never a traceback."""
    _tolerant_output()
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except (AssistantError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to finish.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 1
    except Exception as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        print(f"error: {_internal(exc)}", file=sys.stderr)
        return 1


def run() -> None:
    """The program's entry (``assistant``, ``python -m assistant``): ``main``, then the exit.

    After a one-shot answer read in this process, the process ends at once (``os._exit``).
    The interpreter's teardown, freeing what Chroma, llama-index and spaCy loaded, took
    ~0.4 s here after the answer was printed. Whatever asking writes (a repaired mirror of
    the index) is written before the answer, and no thread or child process is left to wait
    for (a forked reader is done with). Output that cannot be flushed exits with status 120,
    as Python's own exit does (1 for a reader gone away, as ``main`` says it)."""
    code = main()
    if _done_when_printed:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BrokenPipeError:  # the reader went away (`| head`): as in ``main``
                code = code or 1
            except (OSError, ValueError):  # a full disk, a closed stream
                code = code or 120
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
