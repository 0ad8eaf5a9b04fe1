"""Newsdesk in the browser: a Gradio chat over the indexed articles, with cited passages.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus/] [--data-dir data/]

A thin layer: the logic lives in ``assistant.ui`` and ``assistant.engine``.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
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


def build_app(assistant, corpus_dir: Path):
    import gradio as gr

    from assistant.errors import AssistantError
    from assistant.ui import (
        answer_markdown,
        article_rows,
        example_questions,
        ingest_uploads,
        sources_html,
        stream_chunks,
    )

    def records():
        try:
            return assistant.articles()
        except AssistantError:
            return []

    def stats_text() -> str:
        try:
            s = assistant.stats()
        except AssistantError as exc:
            return f"⚠️ {exc}"
        return f"**{s['articles']:,} articles**, {s['chunks']:,} passages indexed."

    def respond(message, history, date_from, date_to, sources):
        try:
            answer = assistant.ask(
                message, history=history, as_of=date_to or None,
                date_from=date_from or None, sources=sources or None,
            )  # fmt: skip
        except AssistantError as exc:
            yield f"⚠️ {exc}", sources_html(None)
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
            paths = [f if isinstance(f, str) else f.name for f in files]
            report = ingest_uploads(assistant, paths, corpus_dir)
            message = report.markdown()
        except AssistantError as exc:
            message = f"⚠️ {exc}"
        except Exception:
            log.exception("upload failed")
            message = "⚠️ The upload failed; the error was logged. Nothing else changed."
        choices = sorted({r.source for r in records() if r.source})
        return message, stats_text(), article_rows(records(), query), gr.update(choices=choices)

    def welcome_text(found) -> str:
        return (
            f"**Ask about the {len(found):,} indexed article(s).** Every answer quotes its "
            "sources; follow-up questions keep the context; when the articles don't say, "
            "you are told so. Filters narrow the dates and sources; the Corpus tab takes uploads."
        )

    initial = records()
    with gr.Blocks(title="Newsdesk", fill_height=True) as demo:
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
                            label="Newsdesk", height=430, placeholder=welcome_text(initial)
                        ),
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
                interactive=False, wrap=True,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("NEWSDESK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("NEWSDESK_PORT", "7860")))
    parser.add_argument("--corpus", default=str(ROOT / "corpus"), help="folder of articles")
    parser.add_argument("--data-dir", help="index folder (default: from settings, data/)")
    parser.add_argument("--no-ingest", action="store_true", help="do not sync corpus/ on start")
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
        assistant.retriever.ensure_ready()  # build the keyword index before the first question
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from assistant.remote import announce, withdraw

    demo = build_app(assistant, corpus)
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=args.host, server_port=args.port, css=CSS, show_error=False,
                prevent_thread_lock=True)  # fmt: skip
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
