"""Newsdesk in the browser: a Gradio chat over the indexed articles, with cited passages.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus/] [--data-dir data/]
                  [--upload-dir DIR]

A thin layer: the logic lives in ``assistant.ui`` and ``assistant.engine``.

What the app reads: its index, its corpus folder (on start), and files sent with an upload
request. Uploads land in the app's own upload folder (``GRADIO_TEMP_DIR``, a fresh private
temporary folder unless ``--upload-dir`` names one); Gradio refuses any file reference outside
it before copying anything, and the upload handler checks again (links resolved) before
reading a byte.
"""

from __future__ import annotations

import argparse
import atexit
import html
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger("newsdesk.app")
ROOT = Path(__file__).resolve().parent

CSS = """
.nd-sources { font-size: 0.92em; }
.nd-source { margin-bottom: 0.9em; }
.nd-meta { color: #666; font-size: 0.9em; }
.nd-passage { margin: 0.3em 0 0 0; padding-left: 0.7em; border-left: 3px solid #ccc; }
.nd-passage mark { background: #ffe58a; padding: 0 2px; }
.nd-empty { color: #888; }
"""


def use_upload_folder(upload_dir: Path) -> Path:
    """Make ``upload_dir`` Gradio's upload and cache folder for this process (GRADIO_TEMP_DIR
    is read when blocks are built and when a request's files are checked)."""
    upload_dir = Path(upload_dir).resolve()
    upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(upload_dir)
    return upload_dir


def _blocks_class():
    """``gr.Blocks`` whose input checks answer with one escaped line instead of a trace.

    Gradio checks every file reference in a request before preprocessing: only files in its
    upload folder are taken (``InvalidPathError`` otherwise, before anything is copied). Its
    messages may quote the request's values and are shown as HTML, so they are re-raised as
    one escaped line; a refused path gets the upload refusal.
    """
    import gradio as gr
    from gradio.exceptions import InvalidPathError

    from assistant.errors import UploadRefused

    class NewsdeskBlocks(gr.Blocks):
        async def preprocess_data(self, *args, **kwargs):
            try:
                return await super().preprocess_data(*args, **kwargs)
            except InvalidPathError as exc:
                log.warning("refused a request: %s", " ".join(str(exc).split()))
                refusal = UploadRefused(
                    "Upload refused: a file in the request did not arrive with it (it lies "
                    "outside the upload folder of this app); only files sent with the upload "
                    "are read."
                )
                message = html.escape(str(refusal), quote=False)
                raise gr.Error(message, print_exception=False) from None
            except Exception as exc:
                message = exc.message if isinstance(exc, gr.Error) else str(exc)
                first = " ".join(str(message).split("\n\n")[0].split())[:300]
                log.warning("refused a request: %s", first)
                raise gr.Error(
                    html.escape(f"The request's inputs could not be read: {first}", quote=False),
                    print_exception=False,
                ) from None

    return NewsdeskBlocks


def build_app(assistant, corpus_dir: Path, upload_dir: Path | None = None):
    upload_root = use_upload_folder(upload_dir or tempfile.mkdtemp(prefix="newsdesk-uploads-"))

    import gradio as gr

    from assistant.errors import AssistantError
    from assistant.ui import (
        answer_markdown,
        article_rows,
        escape_markdown,
        example_questions,
        ingest_uploads,
        plain_history,
        sources_html,
        stream_chunks,
    )

    def records():
        try:
            return assistant.articles()
        except AssistantError:
            return []

    def sources() -> list[str]:
        return sorted({r.source for r in records() if r.source})

    def stats_text() -> str:
        try:
            s = assistant.stats()
        except AssistantError as exc:
            return f"⚠️ {escape_markdown(str(exc))}"
        return f"**{s['articles']:,} articles**, {s['chunks']:,} passages indexed."

    def respond(message, history, date_from, date_to, sources):
        try:
            answer = assistant.ask(
                message, history=plain_history(history), as_of=date_to or None,
                date_from=date_from or None, sources=sources or None,
            )  # fmt: skip
        except AssistantError as exc:
            yield f"⚠️ {escape_markdown(str(exc))}", sources_html(None)
            return
        except Exception:  # keep serving; the details go to the server log
            log.exception("answering failed")
            yield (
                "⚠️ Something went wrong while answering; the error was logged.",
                sources_html(None),
            )
            return
        text = answer_markdown(answer)
        first, _, rest = text.partition("\n")
        for partial in stream_chunks(first):
            yield partial, sources_html(None)
        yield text, sources_html(answer)

    def upload(files, query):
        if not files:
            return "Nothing uploaded.", stats_text(), article_rows(records(), query), gr.update()
        try:
            paths = [f if isinstance(f, str) else getattr(f, "name", f) for f in files]
            report = ingest_uploads(assistant, paths, corpus_dir, upload_root=upload_root)
            message = report.markdown()
        except AssistantError as exc:
            message = f"⚠️ {escape_markdown(str(exc))}"
        except Exception:
            log.exception("upload failed")
            message = "⚠️ The upload failed; the error was logged. Nothing else changed."
        return message, stats_text(), article_rows(records(), query), gr.update(choices=sources())

    def welcome_text(found) -> str:
        return (
            f"**Ask about the {len(found):,} indexed article(s).** Every answer quotes its "
            "sources; follow-up questions keep the context; when the articles don't say, "
            "you are told so. Filters narrow the dates and sources; the Corpus tab takes uploads."
        )

    initial = records()
    blocks = _blocks_class()
    with blocks(title="Newsdesk", fill_height=True, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# Newsdesk\nAsk about the news articles; every answer cites its passages.")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    sources_panel = gr.HTML(sources_html(None), render=False)
                    date_from = gr.Textbox("", label="From (YYYY-MM-DD)", render=False)
                    date_to = gr.Textbox("", label="Until (YYYY-MM-DD)", render=False)
                    source_pick = gr.Dropdown(
                        choices=sorted({r.source for r in initial if r.source}),
                        multiselect=True, label="Sources", render=False,
                    )  # fmt: skip
                    chat = gr.ChatInterface(
                        respond,
                        chatbot=gr.Chatbot(
                            label="Newsdesk", height=430, placeholder=welcome_text(initial),
                            latex_delimiters=[], sanitize_html=True,
                        ),  # fmt: skip
                        additional_inputs=[date_from, date_to, source_pick],
                        additional_inputs_accordion=gr.Accordion("Filters", open=False),
                        additional_outputs=[sources_panel],
                        examples=[
                            [q, "", "", []]
                            for q in example_questions(initial[:8], assistant.article_text)
                        ]
                        or None,
                        api_name="chat",
                        fill_height=True,
                    )  # fmt: skip
                    new_chat = gr.Button("New conversation", variant="secondary")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources_panel.render()
        with gr.Tab("Corpus"):
            stats = gr.Markdown(stats_text())
            search = gr.Textbox(label="Search articles (title or source)")
            table = gr.Dataframe(
                value=article_rows(initial), headers=["date", "title", "source"],
                datatype=["str", "str", "str"], interactive=False, wrap=True,
            )  # fmt: skip
            files = gr.File(
                label="Upload articles (.txt, .md, .html, .jsonl)", file_count="multiple",
                file_types=[".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"],
            )  # fmt: skip
            upload_result = gr.Markdown()

        new_chat.click(
            lambda: ([], [], sources_html(None)), None,
            [chat.chatbot, chat.chatbot_state, sources_panel], api_visibility="private",
        )  # fmt: skip
        search.change(lambda q: article_rows(records(), q), search, table, api_visibility="private")
        demo.load(  # a page opened after uploads lists them too
            lambda q: (stats_text(), article_rows(records(), q), gr.update(choices=sources())),
            search, [stats, table, source_pick], api_visibility="private",
        )  # fmt: skip
        files.upload(
            upload, [files, search], [upload_result, stats, table, source_pick], api_name="upload"
        )

        def ask_json(payload: str) -> str:
            """One question as JSON in, ``Answer.to_dict()`` as JSON out (the CLI's fast path)."""
            import json

            try:
                request = json.loads(payload)
                answer = assistant.ask(
                    request["question"], history=request.get("history"),
                    as_of=request.get("as_of"), date_from=request.get("date_from"),
                    sources=request.get("sources"),
                )  # fmt: skip
                return json.dumps(answer.to_dict())
            except AssistantError as exc:
                return json.dumps({"error": str(exc)})
            except (ValueError, KeyError, TypeError):
                return json.dumps({"error": "The request must be JSON with a 'question'."})

        gr.api(ask_json, api_name="ask_json")
    return demo


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("NEWSDESK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("NEWSDESK_PORT", "7860")))
    parser.add_argument("--corpus", default=str(ROOT / "corpus"), help="folder of articles")
    parser.add_argument("--data-dir", help="index folder (default: from settings, data/)")
    parser.add_argument("--no-ingest", action="store_true", help="do not sync corpus/ on start")
    parser.add_argument(
        "--upload-dir",
        help="the app's own upload folder (default: a fresh private temporary folder, removed "
        "on exit); it must not lie inside the corpus, the index or the project",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from assistant.engine import Assistant
    from assistant.errors import AssistantError

    assistant = Assistant(data_dir=args.data_dir)
    corpus = Path(args.corpus)
    try:
        if not args.no_ingest:
            print(f"Syncing the index with {corpus} ...", file=sys.stderr)
            summary = assistant.ingest(corpus, sync=True)
            print(summary.line(), file=sys.stderr)
            for file, reason in summary.rejected:
                print(f"  rejected {file}: {reason}", file=sys.stderr)
        assistant.warm_up()  # models and indexes loaded before the first question
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from assistant.remote import announce, withdraw

    blocked = [corpus.resolve(), Path(assistant.settings.store.data_dir).resolve(), ROOT]
    if args.upload_dir:
        upload_dir = Path(args.upload_dir).resolve()
        if any(upload_dir.is_relative_to(b) for b in blocked):
            print(f"error: --upload-dir {upload_dir} lies inside the corpus, the index or the "
                  "project; choose a folder of its own.", file=sys.stderr)  # fmt: skip
            return 1
    else:
        upload_dir = Path(tempfile.mkdtemp(prefix="newsdesk-uploads-"))
        atexit.register(shutil.rmtree, upload_dir, ignore_errors=True)
    demo = build_app(assistant, corpus, upload_dir)
    print(f"Uploads are received in {upload_dir}", file=sys.stderr)
    demo.queue(default_concurrency_limit=4)
    signal.signal(signal.SIGTERM, _stop)  # close cleanly, so the upload folder is removed
    demo.launch(
        server_name=args.host, server_port=args.port, css=CSS, show_error=False,
        blocked_paths=[str(p) for p in blocked], max_file_size="50mb", prevent_thread_lock=True,
    )  # fmt: skip
    if args.host in ("127.0.0.1", "localhost"):  # `assistant ask` may use this app
        notice = announce(assistant.settings.store.data_dir, f"http://127.0.0.1:{args.port}/")
        atexit.register(withdraw, notice)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
