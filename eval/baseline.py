"""The peer baseline: llama-index out of the box over the same chunks and embedding model.

``VectorStoreIndex`` on our Chroma collection, dense top-2 retrieval, and the top passage as the
answer, cited whole. No hybrid search, no sentence selection, no abstention, no conversation.
The as-of filter is applied, so both systems see the same evidence.
"""

from __future__ import annotations

from assistant.retrieval import SearchFilters
from assistant.types import Answer, Citation, Passage


def node_passage(node, score: float) -> Passage:
    """A llama-index node (one of our chunks) as a ``Passage``."""
    meta = node.metadata
    start = int(meta.get("start", 0))
    text = node.get_content()
    return Passage(
        chunk_id=node.node_id, article_id=meta.get("article_id", ""), text=text, start=start,
        end=int(meta.get("end", start + len(text))), title=meta.get("title", ""),
        source=meta.get("source", ""), published_at=meta.get("published_at", ""),
        url=meta.get("url", ""), score=score,
    )  # fmt: skip


class VectorBaseline:
    def __init__(self, assistant) -> None:
        from llama_index.core import VectorStoreIndex

        self._index = VectorStoreIndex.from_vector_store(
            assistant.store.vector_store(), embed_model=assistant.embed_model
        )

    def ask(self, question: str, as_of=None) -> Answer:
        from datetime import date

        day = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
        retriever = self._index.as_retriever(
            similarity_top_k=2, filters=SearchFilters(as_of=day).llama_filters()
        )
        hits = [node_passage(h.node, h.score or 0.0) for h in retriever.retrieve(question)]
        if not hits:
            return Answer(answer="", abstained=True, question=question)
        top = hits[0]
        citation = Citation(
            n=1, article_id=top.article_id, chunk_id=top.chunk_id, title=top.title,
            source=top.source, published_at=top.published_at, url=top.url, quote=top.text,
            start=top.start, end=top.end, passage=top.text, passage_start=top.start,
        )  # fmt: skip
        return Answer(
            answer=f"{top.text} [1]", abstained=False, citations=[citation],
            question=question, search_query=question, retrieved=hits,
        )  # fmt: skip
