"""The live corpus state every page polls: a cheap signature, a snapshot built once per change."""

from assistant.errors import IndexMissing
from assistant.snapshot import CorpusSnapshot, LiveCorpus
from assistant.store import ArticleRecord


def _record(article_id, source, date):
    return ArticleRecord(article_id, f"T {article_id}", source, date, "", "", "", "", 1)


class FakeAssistant:
    def __init__(self):
        self.records = [_record("b", "Wire", "2024-02-02"), _record("a", "Herald", "")]
        self.stats_calls = 0
        self.missing = False

    def stats(self):
        self.stats_calls += 1
        if self.missing:
            raise IndexMissing("No index at data: run `assistant ingest corpus/` first.")
        return {"articles": len(self.records), "chunks": 3 * len(self.records)}

    def articles(self):
        if self.missing:
            raise IndexMissing("No index at data: run `assistant ingest corpus/` first.")
        return list(self.records)

    def article_text(self, article_id):
        return f"text of {article_id}"


def test_snapshot_lists_sources_dates_and_examples():
    built = []

    def examples(records, text_of):
        built.append([r.id for r in records])
        return [f"About {text_of(r.id)}?" for r in records]

    live = LiveCorpus(FakeAssistant(), examples=examples, ttl=0)
    snap = live.snapshot()
    assert built == []  # examples parse articles: not until a page needs them (not for uploads)
    assert snap.sources == ["Herald", "Wire"] and snap.earliest == "2024-02-02"
    assert snap.examples == ["About text of b?", "About text of a?"] and snap.chunks == 6
    assert snap.record("a").source == "Herald" and snap.record("zz") is None
    assert live.snapshot() is snap and built == [["b", "a"]]  # built once per change


def test_signature_moves_with_the_index_and_with_bump():
    fake = FakeAssistant()
    live = LiveCorpus(fake, ttl=0)
    first = live.signature()
    fake.records.append(_record("c", "Wire", "2024-02-03"))
    second = live.signature()
    live.bump()
    assert len({first, second, live.signature()}) == 3
    assert [r.id for r in live.snapshot().records] == ["b", "a", "c"]


def test_many_pages_polling_cost_one_look_at_the_index():
    fake = FakeAssistant()
    live = LiveCorpus(fake, ttl=60)
    for _ in range(50):
        live.signature()
    assert fake.stats_calls == 1


def test_no_index_yet_is_a_message_not_an_error():
    fake = FakeAssistant()
    fake.missing = True
    snap = LiveCorpus(fake, ttl=0).snapshot()
    assert snap.records == [] and "run `assistant ingest corpus/` first" in snap.error
    assert CorpusSnapshot("x").earliest is None
