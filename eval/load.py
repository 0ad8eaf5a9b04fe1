"""Load: N concurrent chat sessions asking questions with follow-ups for T seconds.

    python -m eval load [--url URL] [--sessions 20] [--seconds 60]

Without ``--url`` the app is started on a free loopback port over the seed corpus with a
throw-away index. Each session holds conversations drawn from the gold questions (their
follow-up turns included; a generic follow-up after some single questions) and starts a new
conversation after each. Prints sample answers, errors and latency percentiles; not a test.

Sessions speak Gradio's HTTP API (``POST /gradio_api/call/chat``, then its event stream) over
one kept-alive connection each, with a session hash per conversation, as a browser tab holds
one. ``gradio_client`` did the same at 45-70 ms of CPU a question: on a two-core machine the load
generator took nearly a core from the app it was measuring.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eval.gold import load_gold

ROOT = Path(__file__).resolve().parent.parent
FOLLOW_UPS = ["Why did they do that?", "When was that?", "What happened next?"]


@dataclass
class Call:
    session: int
    question: str
    seconds: float
    answer: str = ""
    error: str = ""


@dataclass
class LoadReport:
    sessions: int
    seconds: float
    calls: list[Call] = field(default_factory=list)

    def latencies(self) -> list[float]:
        return sorted(c.seconds for c in self.calls if not c.error)

    def summary(self, samples: int = 5) -> str:
        ok = self.latencies()
        errors = Counter(c.error for c in self.calls if c.error)
        lines = [
            f"{self.sessions} sessions for {self.seconds:.0f} s: {len(self.calls)} questions, "
            f"{len(ok)} answered, {sum(errors.values())} errors, "
            f"{len(self.calls) / self.seconds:.2f} questions/s",
        ]
        if ok:
            p95 = ok[min(len(ok) - 1, int(round(0.95 * (len(ok) - 1))))]
            lines.append(
                f"latency p50 {statistics.median(ok):.2f} s, p95 {p95:.2f} s, "
                f"max {ok[-1]:.2f} s (mean {statistics.fmean(ok):.2f} s)"
            )
        for message, count in errors.most_common(5):
            lines.append(f"error x{count}: {message}")
        seen: set[str] = set()
        lines.append("sample answers:")
        for call in self.calls:
            if call.error or call.question in seen or len(seen) >= samples:
                continue
            seen.add(call.question)
            first = call.answer.split("\n", 1)[0]
            lines.append(f"  Q: {call.question}\n  A: {first[:160]}")
        return "\n".join(lines)


class _Chat:
    """One client of the app's ``/chat`` endpoint over a kept-alive HTTP connection.

    After any failure the connection is dropped and a new conversation begins: the event
    stream is per session, so an answer left unread there would be taken for the next one."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"{url!r}: the load generator speaks plain http:// only")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/") + "/gradio_api/call/chat"
        self.timeout = timeout  # seconds for one question, heartbeats or not
        self.connection: http.client.HTTPConnection | None = None
        self.reset_session()

    def reset_session(self) -> None:
        """Start a new conversation (the app keeps one per session hash)."""
        self.session_hash = uuid.uuid4().hex

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _request(self, method: str, path: str, body: bytes | None = None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (1, 2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port,
                                                             timeout=self.timeout)  # fmt: skip
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()  # the server closed an idle kept-alive connection: once more
                if not reused or attempt == 2:
                    raise
        if response.status != 200:
            detail = response.read()[:200].decode("utf-8", "replace")
            raise RuntimeError(f"HTTP {response.status} from {path}: {detail}")
        return response

    def ask(self, question: str) -> str:
        """The Markdown answer to ``question`` in this session's conversation."""
        deadline = time.monotonic() + self.timeout
        try:
            body = json.dumps({"data": [question, "", "", []], "session_hash": self.session_hash})
            posted = self._request("POST", self.prefix, body.encode()).read()
            stream = self._request("GET", f"{self.prefix}/{json.loads(posted)['event_id']}")
            event = ""
            for raw in stream:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line[5:])
                    stream.read()  # the rest, so the connection can be reused
                    if event == "error":
                        raise RuntimeError(f"the app reported an error: {data}")
                    return data[0]
                if time.monotonic() > deadline:  # heartbeats keep the socket itself alive
                    raise TimeoutError(f"no answer within {self.timeout:.0f} s")
            raise RuntimeError("the event stream ended without an answer")
        except BaseException:
            self.close()
            self.reset_session()
            raise


def _session(url: str, index: int, stop_at: float, rng: random.Random, gold, calls, lock):
    try:
        client = _Chat(url)
    except ValueError as exc:  # report, do not crash the other sessions
        with lock:
            calls.append(Call(index, "(connect)", 0.0, error=f"ValueError: {exc}"))
        return
    try:
        while time.monotonic() < stop_at:
            item = rng.choice(gold)
            turns = list(item.turns)
            if len(turns) == 1 and rng.random() < 0.5:
                turns.append(rng.choice(FOLLOW_UPS))
            client.reset_session()  # a new conversation
            for question in turns:
                if time.monotonic() >= stop_at:
                    break
                started, refused = time.monotonic(), False
                try:
                    answer = client.ask(question)
                    call = Call(index, question, time.monotonic() - started, answer=answer)
                except Exception as exc:
                    message = " ".join(str(exc).split())[:200]
                    call = Call(index, question, time.monotonic() - started,
                                error=f"{type(exc).__name__}: {message}")  # fmt: skip
                    refused = isinstance(exc, ConnectionRefusedError)
                with lock:
                    calls.append(call)
                if refused:
                    return  # no app there (or it stopped): one error says so
    finally:
        client.close()


def run_load(url: str, sessions: int, seconds: float, gold_path: str | Path, seed: int = 0):
    """Drive ``sessions`` concurrent conversations against ``url`` for ``seconds``."""
    gold = load_gold(gold_path)
    calls: list[Call] = []
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + seconds
    threads = [
        threading.Thread(
            target=_session,
            args=(url, i, stop_at, random.Random(seed * 1000 + i), gold, calls, lock),
            daemon=True,
        )
        for i in range(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 600)
    return LoadReport(sessions, time.monotonic() - started, sorted(calls, key=lambda c: c.seconds))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Ask ``proc`` to stop (SIGTERM); kill it if it has not within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def started_app(corpus: str | Path):
    """The app on a free loopback port over ``corpus`` with a throw-away index; yields URL."""
    with tempfile.TemporaryDirectory(prefix="newsdesk-load-") as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
        log = open(Path(tmp) / "app.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--corpus", str(corpus),
             "--data-dir", str(Path(tmp) / "data")],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.time() + 300
            while True:
                if proc.poll() is not None:
                    raise RuntimeError((Path(tmp) / "app.log").read_text()[-2000:])
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("the app did not start within 300 s") from None
                    time.sleep(0.5)
            print(f"app started at {url}", file=sys.stderr)
            yield url
        finally:
            stop_process(proc)
            log.close()
