"""Answering in worker processes, so that concurrent questions do not queue for one
interpreter lock.

A question's work is mostly Python (reading, retrieval, the question's parse), and one
process runs Python on one core at a time: the app topped out at about 19 questions a second
on two cores, with 1.3 of them busy. A worker is a separate Python process with its own
``Assistant`` over the same index, started with ``spawn`` (a fork would inherit Chroma's
runtime threads without their state). The app keeps the page, uploads and every other call;
it sends each extractive question (with its history and filters) to an idle worker and gets
the ``Answer`` back. LLM backends stream tokens to the page and stay in the app process.

Each request carries the index generation the app has seen. A worker loaded before it (an
upload or a removal since) stops and a new one takes its place, and the app replaces its idle
workers as soon as it changes the index: Chroma's embedded client does not see records another
process added ("Error finding id"), so a worker is never updated in place. The first worker
loads while the app builds its page, so that a fresh app answers sooner than by loading
everything itself first; a question waits for it while the app has not loaded its own copy yet.
Otherwise, until the workers are ready (a few seconds after a change), or when one fails, the
app answers in its own process, so an upload is answerable at once. A worker stops when the
app's end of its pipe closes.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from multiprocessing.reduction import ForkingPickler
from typing import Any

log = logging.getLogger("newsdesk.workers")
# the app's own process comes first: its page and uploads, and the answers it gives while
# workers load (a loading worker takes a core for seconds)
NICENESS = 5
MAX_WORKERS = 4  # Gradio runs at most 4 questions at once (app.py): more would only take memory
START_TIMEOUT_S = 300.0  # a worker not ready by then is given up (loading takes ~4 s here)
REPLY_TIMEOUT_S = 120.0  # a worker silent this long on one question is replaced
START_ATTEMPTS = 3  # tries to start each worker (one killed while loading is started again)
SETTLE_TIMEOUT_S = 120.0  # how long a starting worker waits for an ingest in progress to end
WAIT_STEP_S = 0.25  # how often a question waiting for a worker looks again at the others


def default_workers() -> int:
    """One per core this process may use (not the host's count), at most ``MAX_WORKERS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _serve(conn, settings) -> None:
    """A worker's loop: load once, then answer requests until the app goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's: it stops us
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    from assistant.engine import Assistant
    from assistant.errors import AssistantError

    try:
        assistant = Assistant(settings=settings)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while assistant.store.pending() and time.monotonic() < deadline:
            time.sleep(0.5)  # an ingest is writing: its articles would be read half-written
        generation = assistant.store.generation()
        assistant.warm_up()
        gc.freeze()  # the models and indexes, out of the collector's full passes (as the app)
        loaded = assistant.retriever.local.generation
        if generation != assistant.store.generation() or assistant.store.pending():
            loaded = None  # the index changed while loading: stale at the first question
    except Exception as exc:  # reported once; the app answers in its own process
        with contextlib.suppress(OSError, ValueError):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    try:
        conn.send(("ready", os.getpid()))
    except (OSError, ValueError):
        return  # the app went away while this worker loaded
    while True:
        try:
            generation, kwargs = conn.recv()
        except (EOFError, OSError):
            return  # the app has gone
        if loaded is None or generation not in (None, loaded):
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stale", generation))
            return  # a new worker loads the changed index (see above)
        try:
            reply = ("answer", assistant.ask(**kwargs))
        except AssistantError as exc:
            reply = ("refused", exc)
        except Exception as exc:  # noqa: BLE001 (sent back: the app answers in-process)
            reply = ("failed", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return  # the app has gone
        except Exception as exc:  # noqa: BLE001 (a reply that does not pickle)
            with contextlib.suppress(OSError, ValueError):
                conn.send(("failed", f"{type(exc).__name__}: {exc}"))


class AnswerPool:
    """``workers`` answering processes, each an ``Assistant`` with ``settings``."""

    def __init__(self, settings, workers: int) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._ready = 0
        self._closed = False
        self._processes: list = []
        self._starting = threading.Lock()  # one worker loads at a time
        self._loading: set = set()  # started, not ready yet
        threading.Thread(target=self._start, args=(workers,), name="newsdesk-worker-start",
                         daemon=True).start()  # fmt: skip

    @property
    def ready(self) -> int:
        """Workers that have loaded and answer questions."""
        return self._ready

    def _start(self, count: int = 1) -> None:
        """Start ``count`` workers one after the other (a loading worker takes a core)."""
        for _ in range(count):
            for _attempt in range(START_ATTEMPTS):
                with self._starting:
                    if self._closed or self._start_one():
                        break

    def _start_one(self) -> bool:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(theirs, self.settings),
                                        name="newsdesk-answer-worker", daemon=True)  # fmt: skip
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001 (the app answers in its own process)
            log.warning("could not start an answering worker: %s", exc)
            return False
        theirs.close()
        with self._lock:
            self._loading.add(process)
        try:
            if not ours.poll(START_TIMEOUT_S):
                raise TimeoutError(f"not ready within {START_TIMEOUT_S:.0f} s")
            status, detail = ours.recv()
        except Exception as exc:  # noqa: BLE001 (gone while loading, or stuck)
            status, detail = "failed", f"{type(exc).__name__}: {exc} (exit code {process.exitcode})"
        with self._lock:
            self._loading.discard(process)
            if status == "ready" and not self._closed:
                self._processes.append(process)
                self._ready += 1
                self._idle.put((ours, process))
                log.info("answering worker %s ready", detail)
                return True
        ours.close()
        if process.is_alive():
            process.terminate()
        process.join(timeout=5)
        if status != "ready" and not self._closed:  # (closing stops loading workers)
            log.warning("an answering worker failed to start: %s", detail)
        return False

    def ask(self, generation: str | None, wait=None, **kwargs: Any):
        """The ``Answer`` from a worker, or None when no worker can answer (the caller answers
        in-process). A refusal (bad input) is raised as the worker raised it. ``generation``
        is the index generation the caller knows, None when it has neither loaded nor changed
        the index (any worker is current then); while ``wait()`` says so, a question waits for
        a worker that is loading rather than come back at once."""
        while True:
            if not self._ready and not (wait and wait() and self._starting.locked()):
                return None
            try:
                conn, process = self._idle.get(timeout=WAIT_STEP_S)
                break
            except queue.Empty:
                continue  # all busy: wait on, unless they have all gone
        try:
            request = ForkingPickler.dumps((generation, kwargs))
        except Exception:  # noqa: BLE001 (arguments that do not pickle: answered here)
            self._idle.put((conn, process))
            return None
        try:
            conn.send_bytes(request)
            if not conn.poll(REPLY_TIMEOUT_S):
                raise TimeoutError(f"no reply within {REPLY_TIMEOUT_S:.0f} s")
            status, detail = conn.recv()
        except Exception as exc:  # noqa: BLE001 (gone, stuck, or a reply that does not unpickle)
            self._lost(conn, process, f"{type(exc).__name__}: {exc}")
            return None
        if status == "stale":
            self._lost(conn, process, "the index changed", logging.INFO)
            return None
        self._idle.put((conn, process))
        if status == "answer":
            return detail
        if status == "refused":
            raise detail
        log.warning("an answering worker failed a question (answered in the app): %s", detail)
        return None

    def _lost(self, conn, process, why: str, level: int = logging.WARNING) -> None:
        """A worker stopped: its place is taken by a new one."""
        if not self._closed:  # (closing stops them all)
            log.log(level, "an answering worker stopped (%s); starting another", why)
        conn.close()
        if process.is_alive():
            process.terminate()  # its state is unknown
        with self._lock:
            if process in self._processes:
                self._processes.remove(process)
                self._ready -= 1
            closed = self._closed
        if not closed:
            threading.Thread(target=self._start, name="newsdesk-worker-start",
                             daemon=True).start()  # fmt: skip

    def renew(self) -> None:
        """The index changed: the idle workers are replaced now, rather than by the first
        question after the change (a busy one is, by its next question)."""
        idle = []
        with contextlib.suppress(queue.Empty):
            while True:
                idle.append(self._idle.get_nowait())
        for conn, process in idle:
            self._lost(conn, process, "the index changed", logging.INFO)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            processes = self._processes + list(self._loading)
            self._processes, self._ready = [], 0
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        while True:
            try:
                self._idle.get_nowait()[0].close()
            except queue.Empty:
                break
