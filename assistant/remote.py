"""Asking a running app, so a one-shot ``assistant ask`` needs no models of its own.

The web app announces itself in its data folder (``newsdesk-app.json``: URL and process id)
and serves ``/ask_json`` (Gradio's HTTP API: POST, then read the event stream). The CLI looks
for the announcement of the data folder it would open, checks that the process lives, and asks
over loopback with the standard library alone; with no app up it answers in-process as before.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ANNOUNCEMENT = "newsdesk-app.json"


def announcement(data_dir: str | Path) -> Path:
    return Path(data_dir) / ANNOUNCEMENT


def announce(data_dir: str | Path, url: str) -> Path:
    """Record that an app serving ``data_dir`` listens at ``url`` (removed on exit)."""
    path = announcement(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url.rstrip("/") + "/", "pid": os.getpid()}))
    os.replace(tmp, path)
    return path


def withdraw(path: Path) -> None:
    try:
        data = json.loads(path.read_text())
        if data.get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_app(data_dir: str | Path) -> str | None:
    """The URL of a live app serving ``data_dir``, or None."""
    try:
        data = json.loads(announcement(data_dir).read_text())
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        return None  # only a loopback app is trusted with our questions
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    return url


def ask_running_app(url: str, payload: dict[str, Any], timeout: float = 30.0) -> dict | None:
    """``Answer.to_dict()`` from the app at ``url``, or None when it cannot answer
    (then the caller answers in-process). An error the app reports is returned as
    ``{"error": message}``."""
    body = json.dumps({"data": [json.dumps(payload)]}).encode()
    request = urllib.request.Request(url + "gradio_api/call/ask_json", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            event_id = json.loads(response.read())["event_id"]
        with urllib.request.urlopen(f"{url}gradio_api/call/ask_json/{event_id}",
                                    timeout=timeout) as stream:  # fmt: skip
            event = ""
            for raw in stream:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "complete":
                    return json.loads(json.loads(line[5:])[0])
                elif event == "error":
                    return None
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
        return None
    return None
