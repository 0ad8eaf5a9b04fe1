"""Newsdesk in the browser: a Gradio chat over the indexed articles, with cited passages.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus/] [--data-dir data/]
                  [--upload-dir DIR]

A thin layer: what is shown lives in ``assistant.ui``, the conversation in ``assistant.session``,
suggestions in ``assistant.suggestions``, the live corpus state in ``assistant.snapshot``,
uploads in ``assistant.uploads``, feedback in ``assistant.feedback``; styles and the page
script in ``web/``.

What the app reads: its index, its corpus folder (on start), and files sent with an upload
request. Uploads land in the app's own upload folder (``GRADIO_TEMP_DIR``: a fresh private
folder made at start, in the system's temporary folder or inside ``--upload-dir``, removed on
exit); Gradio refuses any file reference outside it before copying anything, and the upload
handler checks again (links resolved) before reading a byte.
"""

import argparse
import atexit
import gc
import html
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Gradio switches matplotlib to "agg" around every event and, with no backend chosen, resolves
# one by importing pyplot on the first (~0.3 s of the first answer). The app draws nothing.
os.environ.setdefault("MPLBACKEND", "agg")

log = logging.getLogger("newsdesk.app")
ROOT = Path(__file__).resolve().parent

WEB = ROOT / "web"
POLL_SECONDS = 5.0  # how often each open page checks whether the index changed
N_EXAMPLES = 4
N_FOLLOW_UPS = 3
SOURCES_JS = """
element.addEventListener('click', (event) => {
  const open = event.target.closest('.nd-open[data-article]');
  if (open) trigger('click', {article: open.dataset.article, turn: Number(open.dataset.turn)});
});
"""
ARTICLE_JS = """
const first = () => {
  const mark = element.querySelector('mark');
  if (mark) mark.scrollIntoView({block: 'center'});
};
watch('value', first);
setTimeout(first, 80);
"""


def page_assets() -> dict[str, str]:
    """``launch`` arguments for the page's styles and script (``web/``)."""
    return {
        "css": (WEB / "newsdesk.css").read_text(encoding="utf-8"),
        "js": (WEB / "newsdesk.js").read_text(encoding="utf-8"),
    }


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
    """The Gradio app over ``assistant``: the Chat tab (answers, sources, filters, examples,
    follow-ups, feedback, export), the Corpus tab (list, uploads, removal) and the ``/chat``
    and ``/upload`` API endpoints."""
    upload_root = use_upload_folder(upload_dir or tempfile.mkdtemp(prefix="newsdesk-uploads-"))

    import gradio as gr

    from assistant import feedback, session, ui
    from assistant.errors import AssistantError, InvalidInput
    from assistant.snapshot import LiveCorpus
    from assistant.suggestions import example_questions, follow_up_questions, written_follow_ups
    from assistant.uploads import ingest_uploads

    corpus_dir = Path(corpus_dir)
    live = LiveCorpus(assistant, examples=example_questions)
    exports = Path(tempfile.mkdtemp(prefix="newsdesk-exports-"))
    atexit.register(shutil.rmtree, exports, ignore_errors=True)
    feedback_file = Path(assistant.settings.store.data_dir) / feedback.FEEDBACK_FILE
    private = {"api_visibility": "private"}

    # --- what the handlers compute (the logic itself lives in assistant.*) ---

    def stats_text(snap) -> str:
        return (
            f"⚠️ {ui.escape_markdown(snap.error)}"
            if snap.error
            else ui.corpus_stats(len(snap.records), snap.chunks)
        )

    def article_view(article_id, citations=()):
        try:
            text = assistant.article_text(article_id)
        except AssistantError:
            text = None
        record = live.snapshot().record(article_id)
        cited = next((c for c in citations if c.article_id == article_id), None)
        meta = record or cited
        fields = {k: getattr(meta, k, "") for k in ("title", "source", "published_at", "url")}
        return gr.update(visible=True), ui.article_html(article_id, text, citations=citations,
                                                        **fields)  # fmt: skip

    def suggestions_for(answer) -> list[str]:
        if answer is None or answer.abstained or not answer.citations:
            return []
        try:
            text = assistant.article_text(answer.citations[0].article_id)
            return follow_up_questions(answer, text, limit=N_FOLLOW_UPS)
        except Exception:  # suggestions are a nicety: never fail an answer over them
            log.exception("follow-up suggestions failed")
            return []

    def follow_up_outputs(follow):
        return [
            gr.update(visible=bool(follow)),
            *[gr.update(value=q, visible=True) for q in follow],
            *[gr.update(value="", visible=False)] * (N_FOLLOW_UPS - len(follow)),
        ]

    def asking(busy: bool) -> list:
        """The examples while an answer is on its way: a second question meanwhile would
        answer from the same earlier turns, and one of the two turns would be lost."""
        return [gr.update(interactive=not busy)] * N_EXAMPLES

    def turn_outputs(turns, filters):
        """Everything a finished turn updates: chat, question box, turns, panel, follow-ups,
        date chip, export, and the question box and examples open again."""
        answer = turns[-1].answer if turns else None
        follow = suggestions_for(answer)
        chip = ui.date_chip(session.question_dates(turns, filters))
        export = session.write_export(turns, exports) if turns else None
        return [
            ui.chat_messages(turns),
            gr.update(value="", interactive=True),
            turns,
            ui.sources_panel([(t.question, t.answer) for t in turns]),
            *follow_up_outputs(follow),
            gr.update(value=chip, visible=bool(chip)),
            gr.update(value=str(export) if export else None, interactive=bool(export)),
            *asking(False),
        ]

    def respond(message, turns, date_from, date_until, sources):
        question = message if isinstance(message, str) else ""
        turns = list(turns or [])
        rest = [gr.skip()] * (len(respond_outputs) - 2)
        if not question.strip():
            yield [gr.skip()] * len(respond_outputs)
            return
        try:
            filters = session.read_filters(date_from, date_until, sources)
        except InvalidInput as exc:
            yield turn_outputs([*turns, session.Turn(question, error=str(exc))], None)
            return
        # one question at a time: the box, the follow-ups and the examples wait for the answer
        yield [ui.chat_messages(turns, (question, "")), gr.update(value="", interactive=False),
               gr.skip(), gr.skip(), *follow_up_outputs([]), gr.skip(), gr.skip(),
               *asking(True)]  # fmt: skip
        try:
            for item in session.answer_stream(assistant, question, turns, filters):
                if isinstance(item, str):
                    yield [ui.chat_messages(turns, (question, item)), gr.skip(), *rest]
                else:
                    turns.append(item)
        except Exception:  # the box must open again; the details go to the server log
            log.exception("answering failed")
            turns.append(session.Turn(question, error=session.ANSWER_FAILED))
        yield turn_outputs(turns, filters)
        answer = turns[-1].answer
        if answer is not None and answer.backend != "extractive":  # the model's own, after
            written = written_follow_ups(assistant, answer, limit=N_FOLLOW_UPS)
            if written:
                yield (
                    [gr.skip()] * 4
                    + follow_up_outputs(written)
                    + [gr.skip()] * (len(respond_outputs) - 4 - len(follow_buttons) - 1)
                )

    def new_conversation():
        return turn_outputs([], None)

    def drop_question_dates(turns):
        again = session.without_question_dates(turns, live.snapshot().earliest)
        if again is None:
            return gr.skip(), gr.skip(), "", gr.update(visible=False)
        return *again, gr.update(visible=False)

    def open_cited_article(turns, evt: gr.EventData):
        data = getattr(evt, "_data", None) or {}
        article_id, turn = data.get("article"), data.get("turn")
        if not isinstance(article_id, str) or not article_id:
            return gr.skip(), gr.skip()
        citations = []
        if isinstance(turn, int) and 0 <= turn < len(turns or []) and turns[turn].answer:
            citations = turns[turn].answer.citations
        return article_view(article_id, citations)

    def rate(turns, data: gr.LikeData):
        number = session.turn_of_message(data.index)
        if number is None or number >= len(turns or []) or turns[number].answer is None:
            return
        try:
            feedback.record_feedback(feedback_file, turns[number], data.liked)
        except AssistantError as exc:
            gr.Warning(str(exc))
            return
        gr.Info("Thank you: your rating is saved with the question and its sources.")

    def page_values(query, picked_sources, picked_article):
        snap = live.snapshot()
        examples = snap.examples[:N_EXAMPLES]
        sources = snap.sources
        ids = {r.id for r in snap.records}
        return [
            snap.signature,
            ui.header_text(snap.records, snap.error),
            gr.update(placeholder=ui.welcome_text(len(snap.records))),
            gr.update(visible=bool(examples)),
            *[gr.update(value=q, visible=True) for q in examples],
            *[gr.update(value="", visible=False)] * (N_EXAMPLES - len(examples)),
            gr.update(choices=sources, value=[s for s in picked_sources or [] if s in sources]),
            stats_text(snap),
            ui.article_rows(snap.records, query),
            gr.update(
                choices=ui.article_choices(snap.records),
                value=picked_article if picked_article in ids else None,
            ),  # fmt: skip
        ]

    def poll(seen, query, picked_sources, picked_article):
        if live.signature() == seen:
            return [gr.skip()] * len(page_outputs)
        return page_values(query, picked_sources, picked_article)

    def upload(files, query, progress=gr.Progress()):  # noqa: B008 (Gradio's way)
        if not files:
            snap = live.snapshot()
            rows = ui.article_rows(snap.records, query)
            return "Nothing uploaded.", stats_text(snap), rows, gr.update()
        try:
            paths = [f if isinstance(f, str) else getattr(f, "name", f) for f in files]
            report = ingest_uploads(
                assistant, paths, corpus_dir, upload_root=upload_root,
                on_progress=lambda share, text: progress(share, desc=text),
            )  # fmt: skip
            message = report.markdown()
            if any(s.added or s.updated for s in report.summaries):
                live.bump()
                new = [a for s in report.summaries for a in (*s.added, *s.updated)]
                try:  # ahead of questions; they parse what is not stored yet themselves
                    assistant.parse_sentences(progress=False, background=True, articles=new)
                except AssistantError as exc:
                    log.warning("Not parsing the upload ahead: %s", exc)
        except AssistantError as exc:
            message = f"⚠️ {ui.escape_markdown(str(exc))}"
        except Exception:
            log.exception("upload failed")
            message = "⚠️ The upload failed; the error was logged. Nothing else changed."
        snap = live.snapshot()
        return (
            message,
            stats_text(snap),
            ui.article_rows(snap.records, query),
            gr.update(choices=snap.sources),
        )

    def pick_row(query, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        found = ui.matching_records(live.snapshot().records, query)
        return found[row].id if isinstance(row, int) and 0 <= row < len(found) else gr.skip()

    def open_picked(article_id):
        if not article_id:
            return gr.skip(), gr.skip()
        return article_view(article_id)

    def ask_removal(article_id):
        """Ask before removing; the article asked about is kept (``pending``), so that picking
        another one before answering removes neither."""
        record = live.snapshot().record(article_id) if article_id else None
        if record is None:
            return gr.update(visible=False), "", "Pick an article first.", None
        what = ui.escape_markdown(
            " · ".join(x for x in (record.title, record.source, record.published_at) if x)
        )
        text = (
            f"Remove **{what}** from the index? Its file in the corpus folder is deleted too "
            "when it holds only this article. This cannot be undone."
        )
        return gr.update(visible=True), text, "", article_id

    def remove(article_id):
        if not article_id:  # the question was withdrawn (another article picked)
            return gr.update(visible=False), ""
        try:
            message = ui.escape_markdown(assistant.remove(article_id, corpus_dir).line())
            live.bump()
        except AssistantError as exc:
            message = f"⚠️ {ui.escape_markdown(str(exc))}"
        return gr.update(visible=False), message

    def api_chat(message, turns, date_from, date_until, sources):
        """The ``/chat`` endpoint: one Markdown reply with its sources, and the sources panel;
        each client keeps its own conversation."""
        from assistant.validation import check_sources

        turns = list(turns or [])
        try:
            picked = check_sources(sources or None)  # one name or a list, as the page sends
        except AssistantError as exc:
            return ui.error_message(str(exc)), ui.sources_html(None), turns
        filters = session.Filters(date_from or None, date_until or None, picked)
        turn = session.ask(assistant, message, turns, filters)
        turns.append(turn)
        if turn.answer is None:
            return ui.error_message(turn.error), ui.sources_html(None), turns
        return ui.answer_markdown(turn.answer), ui.sources_html(turn.answer), turns

    # --- the page ---

    blocks = _blocks_class()
    with blocks(title="Newsdesk", delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])  # this page's conversation (session.Turn)
        seen = gr.State("")  # the index signature this page shows
        redo = gr.State("")  # a question to ask again (date chip removed)
        with gr.Row(elem_id="nd-header"):
            gr.Markdown("# Newsdesk", elem_id="nd-title")
            header = gr.Markdown("", elem_id="nd-stats")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat", elem_id="nd-chat-tab"):
                with gr.Row(elem_id="nd-filters", equal_height=True):
                    date_from = gr.DateTime(label="From", include_time=False, type="string",
                                            scale=1, min_width=140)  # fmt: skip
                    date_until = gr.DateTime(label="Until", include_time=False, type="string",
                                             scale=1, min_width=140)  # fmt: skip
                    source_pick = gr.Dropdown([], value=[], multiselect=True, label="Sources",
                                              scale=2, min_width=200)  # fmt: skip
                    date_chip = gr.Button("", visible=False, size="sm", elem_id="nd-date-chip",
                                          elem_classes="nd-chip", scale=0)  # fmt: skip
                with gr.Row(elem_id="nd-extras"):
                    with gr.Row(elem_id="nd-examples", visible=False) as examples_row:
                        gr.Markdown("Try:", elem_classes="nd-label")
                        example_buttons = [
                            gr.Button("", visible=False, size="sm", elem_classes="nd-example")
                            for _ in range(N_EXAMPLES)
                        ]
                with gr.Row(elem_id="nd-main"):
                    with gr.Column(scale=3, min_width=320, elem_id="nd-chat-col"):
                        chatbot = gr.Chatbot(
                            label="Newsdesk", show_label=False, height=460, elem_id="nd-chat",
                            placeholder=ui.welcome_text(0), latex_delimiters=[],
                            sanitize_html=True, feedback_options=("Like", "Dislike"),
                            buttons=["copy"],
                        )  # fmt: skip
                        question = gr.Textbox(
                            placeholder="Ask about the articles…", show_label=False,
                            submit_btn="Ask", lines=1, max_lines=4, elem_id="nd-question",
                        )  # fmt: skip
                        with gr.Row(elem_id="nd-followups", visible=False) as followups:
                            gr.Markdown("Ask next:", elem_classes="nd-label")
                            follow_buttons = [
                                gr.Button("", visible=False, size="sm", elem_classes="nd-follow")
                                for _ in range(N_FOLLOW_UPS)
                            ]
                        with gr.Row(elem_id="nd-actions"):
                            new_chat = gr.Button("New conversation", size="sm")
                            export = gr.DownloadButton("Export conversation", value=None,
                                                       size="sm", interactive=False,
                                                       elem_id="nd-export")  # fmt: skip
                    with gr.Column(scale=2, min_width=300, elem_id="nd-sources-col"):
                        gr.Markdown("### Sources")
                        sources_panel = gr.HTML(ui.EMPTY_PANEL, js_on_load=SOURCES_JS,
                                                elem_id="nd-sources-panel")  # fmt: skip
            with gr.Tab("Corpus", id="corpus"):
                stats = gr.Markdown("")
                files = gr.File(
                    label="Upload articles (.txt, .md, .html, .jsonl)", file_count="multiple",
                    file_types=[".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"],
                )  # fmt: skip
                upload_result = gr.Markdown(elem_id="nd-upload-result")
                search = gr.Textbox(label="Search articles (title or source)")
                table = gr.Dataframe(
                    value=[], headers=["date", "source", "title"], datatype=["str"] * 3,
                    interactive=False, wrap=True, elem_id="nd-articles",
                )  # fmt: skip
                with gr.Row(equal_height=True):
                    article_pick = gr.Dropdown([], label="Article (or click a row above)",
                                               scale=4, elem_id="nd-article-pick")  # fmt: skip
                    open_button = gr.Button("Read", size="sm", scale=0)
                    remove_button = gr.Button("Remove…", size="sm", variant="stop", scale=0,
                                              elem_id="nd-remove")  # fmt: skip
                with gr.Row(visible=False, elem_id="nd-confirm") as confirm:
                    confirm_text = gr.Markdown()
                    confirm_yes = gr.Button("Yes, remove it", variant="stop", size="sm",
                                            scale=0, elem_id="nd-confirm-yes")  # fmt: skip
                    confirm_no = gr.Button("Cancel", size="sm", scale=0)
                pending = gr.State(None)  # the article the confirmation names
                removal_result = gr.Markdown(elem_id="nd-removal-result")
        with gr.Column(visible=False, elem_id="nd-article-view") as reader:
            close_reader = gr.Button("Close ✕", size="sm", elem_id="nd-article-close")
            article_body = gr.HTML("", js_on_load=ARTICLE_JS, elem_id="nd-article-body")
        with gr.Row(visible=False):  # the /chat API's own inputs (the page has its own)
            api_question = gr.Textbox("", label="message")
            api_from = gr.Textbox("", label="date_from")
            api_until = gr.Textbox("", label="date_until")
            api_sources = gr.Dropdown([], value=[], multiselect=True, allow_custom_value=True,
                                      label="sources")  # fmt: skip
            api_answer = gr.Markdown(label="answer")
            api_panel = gr.HTML(js_on_load=None, label="sources_html")
            api_turns = gr.State([])
            api_go = gr.Button()
        timer = gr.Timer(POLL_SECONDS)

        # --- events ---
        respond_outputs = [chatbot, question, turns, sources_panel, followups, *follow_buttons,
                           date_chip, export, *example_buttons]  # fmt: skip
        page_outputs = [seen, header, chatbot, examples_row, *example_buttons, source_pick, stats,
                        table, article_pick]  # fmt: skip
        filters = [date_from, date_until, source_pick]
        answering = [question.submit(respond, [question, turns, *filters], respond_outputs,
                                     **private)]  # fmt: skip
        for button in (*example_buttons, *follow_buttons):
            answering.append(button.click(respond, [button, turns, *filters], respond_outputs,
                                          **private))  # fmt: skip
        chip = date_chip.click(drop_question_dates, [turns], [date_from, turns, redo, date_chip],
                               **private)  # fmt: skip
        answering += [chip, chip.then(respond, [redo, turns, *filters], respond_outputs,
                                      **private)]  # fmt: skip
        # a new conversation stops an answer on its way: finished, it would bring back the
        # turns it started from
        new_chat.click(new_conversation, None, respond_outputs, cancels=answering, **private)
        chatbot.like(rate, [turns], None, **private)
        sources_panel.click(open_cited_article, [turns], [reader, article_body], **private)
        close_reader.click(lambda: gr.update(visible=False), None, reader, **private)

        page_inputs = [search, source_pick, article_pick]
        demo.load(page_values, page_inputs, page_outputs, **private)
        timer.tick(poll, [seen, *page_inputs], page_outputs, show_progress="hidden",
                   concurrency_limit=None, **private)  # fmt: skip
        files.upload(
            upload, [files, search], [upload_result, stats, table, source_pick], api_name="upload"
        ).then(page_values, page_inputs, page_outputs, show_progress="hidden", **private)
        search.change(lambda q: ui.article_rows(live.snapshot().records, q), search, table,
                      **private)  # fmt: skip
        table.select(pick_row, [search], article_pick, **private)
        open_button.click(open_picked, article_pick, [reader, article_body], **private)
        remove_button.click(ask_removal, article_pick,
                            [confirm, confirm_text, removal_result, pending],
                            **private)  # fmt: skip

        def withdraw(article_id, asked):
            if article_id == asked:
                return gr.skip(), gr.skip()
            return gr.update(visible=False), None

        article_pick.change(withdraw, [article_pick, pending], [confirm, pending], **private)
        confirm_no.click(lambda: (gr.update(visible=False), None), None, [confirm, pending],
                         **private)  # fmt: skip
        confirm_yes.click(remove, pending, [confirm, removal_result], **private).then(
            page_values, page_inputs, page_outputs, show_progress="hidden", **private
        )
        api_go.click(api_chat, [api_question, api_turns, api_from, api_until, api_sources],
                     [api_answer, api_panel, api_turns], api_name="chat")  # fmt: skip

        def ask_json(payload: str) -> str:
            """One question as JSON in, ``Answer.to_dict()`` as JSON out (the CLI's fast path)."""
            import json

            request = None
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
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                if isinstance(request, dict) and "question" in request:
                    log.exception("answering a JSON request failed")
                    return json.dumps({"error": session.ANSWER_FAILED})
                return json.dumps({"error": "The request must be JSON with a 'question'."})

        gr.api(ask_json, api_name="ask_json")
    return demo


def _stop(signum, frame):
    raise KeyboardInterrupt


def _port_number(text: str) -> int:
    """A TCP port, 1-65535 (larger numbers wrapped around in the address lookup)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def _port_taken(host: str, port: int) -> str:
    """Why the app cannot listen on ``host``:``port`` (in use, an unknown host), or ""."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = found[0]
    except (OSError, UnicodeError) as exc:
        return f"cannot listen on {host}: {exc}."
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as exc:
            why = exc.strerror or exc
            return (f"port {port} on {host} is not free ({why}): another app may be "
                    "running there. Stop it, or pass --port with another number.")  # fmt: skip
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("NEWSDESK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=_port_number,
                        default=os.environ.get("NEWSDESK_PORT", "7860"))  # fmt: skip
    parser.add_argument("--corpus", default=str(ROOT / "corpus"), help="folder of articles")
    parser.add_argument("--data-dir", help="index folder (default: from settings, data/)")
    parser.add_argument("--no-ingest", action="store_true", help="do not sync corpus/ on start")
    parser.add_argument(
        "--workers", type=int,
        help="processes that answer questions (default: from settings, one per usable core, "
        "at most 4; 0: answer in the app's own process)",
    )  # fmt: skip
    parser.add_argument(
        "--upload-dir",
        help="where the app makes its private upload folder, removed on exit (default: the "
        "system's temporary folder); it must not lie inside the corpus, the index or the project",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    taken = _port_taken(args.host, args.port)  # said before seconds of loading, not after
    if taken:
        print(f"error: {taken}", file=sys.stderr)
        return 1

    from assistant import prefetch

    recorder = prefetch.Recorder()  # the files this start reads, for the next one
    from assistant.encoder import resolve_model_path
    from assistant.engine import Assistant
    from assistant.errors import AssistantError
    from assistant.remote import announce, withdraw
    from assistant.store import on_local_disk
    from assistant.workers import default_workers

    assistant = Assistant(data_dir=args.data_dir)
    data_dir = Path(assistant.settings.store.data_dir)
    # what the last start read, read ahead while this one imports
    prefetch.start(data_dir, Path(sys.prefix), Path(sys.base_prefix), ROOT / "assistant")
    corpus = Path(args.corpus)
    blocked = [corpus.resolve(), Path(assistant.settings.store.data_dir).resolve(), ROOT]
    parent = None
    if args.upload_dir:
        parent = Path(args.upload_dir).resolve()
        if any(parent.is_relative_to(b) for b in blocked):
            print(f"error: --upload-dir {parent} lies inside the corpus, the index or the "
                  "project; choose a folder of its own.", file=sys.stderr)  # fmt: skip
            return 1
    # Uploads are received in a new private folder (inside --upload-dir when given): a request
    # may name any file under the upload folder, so it must hold nothing but uploads.
    try:
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        upload_dir = Path(tempfile.mkdtemp(prefix="newsdesk-uploads-", dir=parent))
    except OSError as exc:
        print(f"error: cannot make an upload folder in {parent or tempfile.gettempdir()}: "
              f"{exc.strerror or exc}.", file=sys.stderr)  # fmt: skip
        return 1
    atexit.register(shutil.rmtree, upload_dir, ignore_errors=True)
    workers = assistant.settings.answer.workers if args.workers is None else args.workers
    workers = default_workers() if workers < 0 else workers
    signal.signal(signal.SIGTERM, _stop)  # from here a stop closes cleanly: workers, uploads
    demo = None
    try:
        try:
            if not args.no_ingest:
                print(f"Syncing the index with {corpus} ...", file=sys.stderr)
                summary = assistant.ingest(corpus, sync=True)
                print(summary.line(), file=sys.stderr)
                for file, reason in summary.rejected:
                    print(f"  rejected {file}: {reason}", file=sys.stderr)
            if workers:
                # the first worker loads models and indexes while this process builds the
                # page (two cores at work); this process loads its own copy once the page is up
                assistant.answer_in_workers(workers)
                # a missing index or a server down stops us here (an embedded index by its
                # file, without importing Chroma, which this process would wait for; any other
                # fault of the index stops us at the warm-up below, once the page is up)
                if not on_local_disk(assistant.settings):
                    assistant.store.generation()
            else:
                assistant.warm_up()  # models and indexes loaded before the first question
        except AssistantError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        demo = build_app(assistant, corpus, upload_dir)
        print(f"Uploads are received in {upload_dir}", file=sys.stderr)
        demo.queue(default_concurrency_limit=4)
        # The models, indexes and page built so far live as long as the app: leave them out of
        # the garbage collector's full passes, which otherwise scan them all during some answer.
        gc.freeze()
        try:
            demo.launch(
                server_name=args.host, server_port=args.port, show_error=False,
                **page_assets(),
                blocked_paths=[str(p) for p in blocked], max_file_size="50mb",
                prevent_thread_lock=True,
            )  # fmt: skip
        except OSError as exc:  # the port was taken while we loaded
            print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        # sentences not parsed yet (a corpus just synced) are parsed by a low-priority process
        assistant.parse_sentences(progress=False, background=True)
        if workers:
            try:  # for uploads, and the questions no worker can answer
                assistant.warm_up()
            except AssistantError as exc:  # as it would have before the page was up
                print(f"error: {exc}", file=sys.stderr)
                return 1
            gc.freeze()  # as above, for what the warm-up loaded
        model = resolve_model_path(assistant.settings.embedding.model)
        threading.Thread(target=recorder.save, args=(data_dir, data_dir, model),
                         daemon=True).start()  # fmt: skip
        if args.host in ("127.0.0.1", "localhost"):  # `assistant ask` may use this app
            notice = announce(assistant.settings.store.data_dir, f"http://127.0.0.1:{args.port}/")
            atexit.register(withdraw, notice)
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second stop does not cut this short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if demo is not None:
            demo.close()
        assistant.close_workers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
