"""Gold questions: our JSON Lines format and the RealTime QA files, read as they are."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GoldQuestion:
    id: str
    turns: list[str]  # the conversation; the last turn is scored
    answers: list[str]  # any counts; empty means "should abstain"
    evidence: list[str] = field(default_factory=list)  # gold article ids
    choices: list[str] = field(default_factory=list)
    as_of: str | None = None
    type: str = ""

    @property
    def question(self) -> str:
        return self.turns[-1]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def parse_gold(obj: dict, lineno: int = 0) -> GoldQuestion:
    """One gold question from our format or a RealTime QA record."""
    turns = obj.get("turns") or [obj["question"]]
    answers = obj.get("answers")
    if answers is None:
        answers = [obj["answer"]] if obj.get("answer") else []
    evidence = [e["article_id"] for e in obj.get("evidence", []) if e.get("article_id")]
    return GoldQuestion(
        id=str(obj.get("id") or f"q{lineno}"),
        turns=[str(t) for t in turns],
        answers=[str(a) for a in answers],
        evidence=evidence,
        choices=[str(c) for c in obj.get("choices") or []],
        as_of=obj.get("as_of") or obj.get("question_date"),
        type=str(obj.get("type") or ""),
    )


def load_gold(path: str | Path) -> list[GoldQuestion]:
    questions = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                questions.append(parse_gold(json.loads(line), lineno))
            except (KeyError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path} line {lineno}: not a gold question ({exc})") from None
    return questions
