"""Thumbs up and down on answers, kept as JSON Lines under the data folder (``feedback.jsonl``):
each line holds the question, the answer and its citations, to become gold questions later."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.session import Turn
from assistant.validation import clean_text

FEEDBACK_FILE = "feedback.jsonl"
_LOCK = threading.Lock()


def rating(liked: Any) -> str:
    """Gradio's like value as one word: "like", "dislike", or the option chosen."""
    if liked is True:
        return "like"
    if liked is False:
        return "dislike"
    return str(liked).strip().lower() or "like"


def feedback_record(turn: Turn, liked: Any, now: datetime | None = None) -> dict[str, Any]:
    """One line of the feedback file for ``turn`` (which must hold an answer)."""
    answer = turn.answer
    if answer is None:
        raise ValueError("only answers can be rated")
    return {
        "time": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "rating": rating(liked),
        "question": clean_text(turn.question),  # as typed: a lone surrogate is repaired
        "search_query": answer.search_query,
        "answer": answer.answer,
        "short_answer": answer.short_answer,
        "abstained": answer.abstained,
        "backend": answer.backend,
        "notice": answer.notice,
        "date_range": list(answer.date_range) if answer.date_range else None,
        "citations": [c.to_dict() for c in answer.citations],
    }


def record_feedback(path: Path, turn: Turn, liked: Any) -> dict[str, Any]:
    """Append the rating of ``turn`` to the JSON Lines file at ``path``; returns the record."""
    record = feedback_record(turn, liked)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    path = Path(path)
    try:
        with _LOCK:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line)
    except OSError as exc:
        raise AssistantError(f"Cannot save the rating in {path} ({exc.strerror or exc}).") from None
    return record


def read_feedback(path: Path) -> list[dict[str, Any]]:
    """Every record in the feedback file (none when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
