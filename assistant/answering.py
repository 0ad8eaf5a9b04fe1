"""Composition: the answer the user reads, from what the reader found.

The extractive composer says the answer first ("The Islamic Resistance in Iraq [1].", "No [1].",
"To prevent any embarrassment to the Iraqi government [1].") and quotes the supporting sentence
once, in its citation (verbatim, with offsets). A refusal carries no citations.
"""

from __future__ import annotations

from assistant.conversation import ResolvedQuestion
from assistant.reading import Reading, Sentence
from assistant.types import Answer, AnswerSentence, Citation, Passage

ABSTENTION = "The articles don't say: nothing in the indexed articles answers this question."
_WHY = {
    "yesno": "The articles don't say whether {q}",
    "reason": "The articles don't say why: no retrieved sentence gives a reason for it.",
}


def citation(n: int, sentence: Sentence) -> Citation:
    p = sentence.passage
    return Citation(
        n=n,
        article_id=p.article_id,
        chunk_id=p.chunk_id,
        title=p.title,
        source=p.source,
        published_at=p.published_at,
        url=p.url,
        quote=sentence.text,
        start=sentence.start,
        end=sentence.end,
        passage=p.text,
        passage_start=p.start,
    )


def abstention(resolved: ResolvedQuestion, reading: Reading | None, passages: list[Passage],
               text: str = "") -> Answer:  # fmt: skip
    kind = reading.frame.kind if reading else ""
    if not text:
        template = _WHY.get(kind, ABSTENTION)
        text = template.format(q=_whether(resolved.question))
    return Answer(
        answer=text,
        abstained=True,
        question=resolved.question,
        search_query=resolved.search_query,
        retrieved=passages,
        confidence=reading.confidence if reading else 0.0,
        date_range=_date_range(resolved),
    )


def compose(resolved: ResolvedQuestion, reading: Reading, passages: list[Passage]) -> Answer:
    """The extractive answer: the answer phrase (or verdict, or clause) with its marker."""
    if reading.abstained or not reading.evidence:
        return abstention(resolved, reading, passages)
    support = reading.evidence[0]
    body = reading.answer
    if reading.frame.kind == "yesno":
        body = f"{reading.answer}, according to the article" if not body else body
    if not body:  # a manner question without a clause: the sentence is the answer
        body = support.text.rstrip(".")
    sentence = f"{body.rstrip('.')} [1]."
    return Answer(
        answer=sentence,
        abstained=False,
        citations=[citation(1, support)],
        question=resolved.question,
        search_query=resolved.search_query,
        retrieved=passages,
        confidence=reading.confidence,
        short_answer=reading.short_answer,
        sentences=[AnswerSentence(sentence, (1,), True)],
        date_range=_date_range(resolved),
    )


def _whether(question: str) -> str:
    """'Has Israel confirmed it?' -> 'Israel has confirmed it.' (roughly; for the refusal)."""
    words = question.rstrip("?").split()
    if len(words) > 1:
        return " ".join([words[1][:1].upper() + words[1][1:], words[0].lower(), *words[2:]]) + "."
    return question


def _date_range(resolved: ResolvedQuestion) -> tuple[str, str] | None:
    if not resolved.date_range:
        return None
    start, end = resolved.date_range
    return start.isoformat(), end.isoformat()
