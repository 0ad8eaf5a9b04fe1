"""The parser's faster part-of-speech and lemma step gives exactly what spaCy's own gives."""

from assistant import nlp

SENTENCES = [
    "Three American soldiers were killed and 40 injured in a drone attack on Tower 22 in Jordan.",
    "There is something y'all ain't gonna like: it's been said that the drones weren't his.",
    "I told you it would rain, but it didn't, so we got ta let's go.",
    "Kataib Hezbollah said on Tuesday it had suspended its attacks to avoid embarrassing Baghdad.",
    "Prices for eggs rose 38%, flour 22.7% and chicken 17.6% over the last 12 months.",
    "“We’re targeting younger customers,” said a KFC spokesperson; c'mon, do it  now!",
]


def test_fast_attributes_match_spacys_own_pipeline():
    pipeline = nlp.pipeline()
    ours = list(nlp._pipe(pipeline, SENTENCES))
    theirs = list(pipeline.pipe(SENTENCES))

    def annotations(doc):
        return [(t.text, t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.ent_type_) for t in doc]

    for mine, reference in zip(ours, theirs, strict=True):
        assert annotations(mine) == annotations(reference)
    assert {t.lemma_ for t in ours[0]} >= {"kill", "soldier", "be"}  # lemmas are set at all
