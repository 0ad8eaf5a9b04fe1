"""What a question asks for: the kind of answer, the noun it names, its focus words.

"Which airline announced a deal to buy Spirit Airlines?" asks for an organisation (kind
``organization``) that is an *airline* (the head noun); "How many hot dogs did Joey Chestnut
devour?" for a number of *hot dogs*; "Have Nujaba and ... suspended their operations?" for a
yes or a no. The rules read the question's grammar (spaCy's tags), never particular topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from assistant.text import content_words

PLACE = frozenset({"GPE", "LOC", "FAC"})
PERSON = frozenset({"PERSON"})
ORG = frozenset({"ORG"})
AGENT = frozenset({"PERSON", "ORG", "NORP", "GPE"})
THING = frozenset({
    "PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE",
})  # fmt: skip
COUNT = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
MONEY = frozenset({"MONEY"})
PERCENT = frozenset({"PERCENT"})
WHEN = frozenset({"DATE", "TIME"})
SPAN = frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY"})

# Nouns that say what category of thing a "which/what <noun>" question wants.
_PLACE_NOUNS = {
    "country", "nation", "state", "city", "town", "region", "continent", "island", "county",
    "province", "capital", "neighborhood", "village", "port", "airport", "park", "place", "area",
    "location", "territory", "district", "border", "sea", "ocean", "river", "lake", "mountain",
    "destination", "venue", "stadium", "site", "harbour", "harbor", "coast", "bay", "gulf",
    "peninsula", "valley", "desert", "strait", "street", "square", "neighbourhood",
}  # fmt: skip
_ORG_NOUNS = {
    "company", "firm", "airline", "team", "band", "group", "university", "college", "school",
    "organization", "organisation", "agency", "network", "brand", "retailer", "bank",
    "automaker", "carrier", "club", "party", "chain", "manufacturer", "league", "startup",
    "studio", "publication", "newspaper", "outlet", "store", "restaurant", "militia",
    "faction", "coalition", "bloc", "union", "department", "ministry", "court", "committee",
    "government", "administration", "service", "platform", "app", "website", "corporation",
}  # fmt: skip
_PERSON_NOUNS = {
    "person", "man", "woman", "singer", "player", "actor", "actress", "leader", "politician",
    "president", "rapper", "star", "author", "artist", "musician", "athlete", "official", "ceo",
    "executive", "judge", "senator", "governor", "lawmaker", "minister", "candidate", "director",
    "coach", "host", "comedian", "celebrity", "billionaire", "founder", "journalist",
    "spokesman", "spokeswoman", "spokesperson", "commander", "general", "chief", "king",
    "queen", "prince", "princess", "pope", "mayor", "secretary", "chancellor", "premier",
    "investor", "scientist", "doctor", "officer", "suspect", "victim", "winner", "owner", "head",
}  # fmt: skip
# Words after "how"/"what" that ask for a measure rather than a count of some thing.
SIZE_WORDS = frozenset({"far", "tall", "big", "large", "high", "deep", "fast", "often"})
SHARE_NOUNS = frozenset({"percent", "percentage", "share", "proportion", "rate"})
MEASURE_NOUNS = frozenset({
    "number", "amount", "total", "count", "figure", "sum", "price", "cost", "population",
    "toll", "size",
})  # fmt: skip
_TIME_NOUNS = {"year", "day", "date", "month", "time", "season", "week", "decade", "century"}
_AUXILIARIES = {
    "is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "can", "could",
    "will", "would", "should", "shall", "may", "might", "must",
}  # fmt: skip
_WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how"}
_NEGATIONS = {"not", "n't", "never", "no"}


@dataclass(frozen=True)
class Frame:
    """The shape of the answer a question wants."""

    kind: str  # see ``analyze``
    labels: frozenset[str]  # entity labels an answer phrase may carry (empty: any phrase)
    head: str = ""  # the noun the answer is, or counts ("airline", "hot dogs"), lower case
    focus: tuple[str, ...] = ()  # the question's content words, lower case, in order
    verb: str = ""  # lemma of the question's main verb ("claim", "suspend")
    negated: bool = False
    modifiers: tuple[str, ...] = ()  # names qualifying the head ("Iranian" soldiers), lower
    variety: bool = False  # "what kind/type of X": the answer qualifies X ("drone" attack)
    subject: bool = False  # the answer is the doer ("Who claimed ...", "Which group announced")
    named: bool = False  # "what is the name of the X": the answer must name the X itself
    slot: tuple[str, ...] = ()  # (verb lemma, role, verb as written) of the wh-phrase
    verb_word: str = ""  # the main verb as written ("told" for "tell"), lower case
    doer: tuple[str, ...] = ()  # content words of the main verb's subject, when not asked
    done_to: str = ""  # lemma of the main verb's object noun ("attack" in "confirmed the attack")
    # (modifier, kind of noun) of the things the question itself describes: "the umbrella group"
    # in "Which group does the umbrella group contain?" -> ("umbrella", "organization")
    described: tuple[tuple[str, str], ...] = ()

    @property
    def wants_phrase(self) -> bool:
        return self.kind not in ("yesno", "reason", "manner", "clause")


def analyze(question: str) -> Frame:
    """The frame of ``question``: kind, labels, head noun, focus words, main verb."""
    from assistant.nlp import parse

    doc = parse([question])[0]
    # "X happened this week. Which Y ...?": the last sentence asks
    breaks = [m.end() for m in re.finditer(r"[.!?]\s+(?=[\"“‘']?[A-Z])", question)]
    asked_from = breaks[-1] if breaks else 0
    tokens = [t for t in doc if not t.is_punct and t.idx >= asked_from]
    lower = [t.lower_ for t in tokens]
    focus = tuple(content_words(question))
    verbs = [t for t in tokens if t.pos_ == "VERB" and t.lower_ not in _AUXILIARIES]
    root = next((t for t in verbs if t.dep_ == "ROOT"), verbs[0] if verbs else None)
    verb = root.lemma_.lower() if root is not None else ""
    negated = any(w in _NEGATIONS for w in lower)

    def frame(kind: str, labels: frozenset[str], head: str = "", variety: bool = False) -> Frame:
        modifiers: list[str] = []
        if head:
            at = next((t.i for t in tokens if t.lemma_.lower() == head), None)
            if at is not None:
                for t in doc[max(at - 3, 0) : at]:
                    if t.text[:1].isupper() and t.pos_ in ("PROPN", "ADJ") and t.i > 0:
                        modifiers.append(t.lower_)
        return Frame(kind, labels, head, focus, verb, negated, tuple(modifiers), variety,
                     _asks_subject(tokens, wh),
                     slot=slot_of(tokens[wh]) if wh is not None else (),
                     verb_word=root.lower_ if root is not None else "",
                     doer=_doer(root), done_to=_object_of(root),
                     described=_described(tokens, wh))  # fmt: skip

    wh = next((i for i, w in enumerate(lower) if w in _WH), None)
    if wh is None or (lower and lower[0] in _AUXILIARIES and wh > 2):
        if lower and lower[0] in _AUXILIARIES:
            return frame("yesno", frozenset())
        return frame("other", frozenset())
    word = lower[wh]
    nxt = lower[wh + 1] if wh + 1 < len(lower) else ""
    if word == "how":
        if nxt in ("many", "much"):
            after = tokens[wh + 2] if wh + 2 < len(tokens) else None
            head = _head_noun(tokens, wh + 1) if after is not None and after.pos_ in (
                "NOUN", "ADJ") else ""  # fmt: skip
            money = nxt == "much" and (not head or head in ("money", "cash", "funding"))
            if money or re.search(
                r"\b(cost|pay|paid|fine|fined|price|worth|spend|spent|"
                r"raise|raised|sell|sold|charge|earn|owe)\b",
                question.lower(),
            ):
                return frame("money", MONEY | frozenset({"CARDINAL"}), head)
            return frame("number", COUNT, head)
        if nxt == "old":
            return frame("age", frozenset({"DATE", "CARDINAL"}), "age")
        if nxt in ("long", "soon"):
            return frame("duration", SPAN)
        if nxt in SIZE_WORDS:
            return frame("number", COUNT, nxt)
        return frame("manner", frozenset())
    if word == "why":
        return frame("reason", frozenset())
    if word == "when":
        return frame("date", WHEN)
    if word == "where":
        return frame("place", PLACE)
    if word in ("who", "whom", "whose"):
        if nxt in ("is", "was", "are", "were", "'s", "’s") and wh + 2 < len(lower) \
                and lower[wh + 2] in ("the", "a", "an"):  # fmt: skip
            noun = _head_noun(tokens, wh + 2)  # "Who is the leader of Kataib Hezbollah?"
            kind, labels = _category(noun) if noun else ("agent", AGENT)
            described = any(t.lemma_.lower() == noun and any(
                c.dep_ in ("relcl", "acl") for c in t.children) for t in tokens)  # fmt: skip
            if kind in ("person", "organization") and not described:
                # a role ("the leader of ..."), not "the man who shot ...": the answer must be
                # a name given that role
                return replace(frame(kind, labels, noun), named=True)
        return frame("agent", AGENT)
    # which / what
    if word == "what" and wh > 0 and lower[wh - 1] in ("do", "does", "did", "doing"):
        return frame("clause", frozenset())  # "the IRS will do what?"
    head = _head_noun(tokens, wh)
    if not head and nxt in ("is", "are", "was", "were"):  # "what is the largest bloc ..."
        head = _head_noun(tokens, wh + 1)
    if head in SHARE_NOUNS:
        return frame("percent", PERCENT | COUNT, head)
    if head in MEASURE_NOUNS:
        return frame("number", COUNT, head)
    if head in ("name", "type", "kind", "sort", "brand") and "of" in lower[wh + 1 : wh + 6]:
        inner = _head_noun(tokens, lower.index("of", wh + 1))
        if inner:
            if head == "name":
                return replace(frame(*_category(inner), inner), named=True)
            return frame("entity", THING, inner, variety=head in ("type", "kind", "sort"))
    if head:
        kind, labels = _category(head)
        return frame(kind, labels, head)
    if word == "what" and nxt in _AUXILIARIES - {"is", "are", "was", "were"}:
        return frame("clause", frozenset())  # "what did X say / urge / do?"
    if re.search(r"\bwhat (caused|led|prompted|triggered|sparked)\b", question.lower()):
        return frame("reason", frozenset())
    return frame("entity", THING)


def subject_of(verb):
    """The subject token of ``verb`` (active or passive), or None."""
    return next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)


def _doer(verb) -> tuple[str, ...]:
    """The content words of ``verb``'s subject ("the Israeli army" in "What did the Israeli
    army say"), none when the subject is a pronoun or holds the wh-word ("Which group")."""
    subject = subject_of(verb) if verb is not None else None
    if subject is None or subject.pos_ == "PRON" or any(t.lower_ in _WH for t in subject.subtree):
        return ()
    return tuple(content_words(" ".join(t.text for t in subject.subtree)))


def _object_of(verb) -> str:
    """The lemma of the first noun phrase after ``verb`` in its clause, lower case: what it is
    done to ("attack" in "Has Israel confirmed the drone attack on Haifa claimed by ...", which
    the small parser reads as a clause of its own); "" without one."""
    if verb is None:
        return ""
    inside = {t.i for t in verb.subtree}
    chunk = next((c for c in verb.doc.noun_chunks if c.start > verb.i and c.root.i in inside
                  and c.root.pos_ in ("NOUN", "PROPN")), None)  # fmt: skip
    return chunk.root.lemma_.lower() if chunk is not None else ""


def slot_of(token) -> tuple[str, ...]:
    """``(verb lemma, role, verb as written)`` of the verb a phrase hangs from (see
    ``verb_and_role``), empty when it hangs from no verb."""
    found = verb_and_role(token)
    if found is None:
        return ()
    verb, role = found
    return verb.lemma_.lower(), role, verb.lower_


def verb_and_role(token):
    """The verb a phrase (its root ``token``) hangs from and its role there, passives turned
    active, or None: "Which group announced" -> (announced, "subj"), "was confirmed by an Iraqi
    politician" -> (confirmed, "subj"), "which product was recalled" -> (recalled, "obj"),
    "which city did he visit" -> (visit, "obj"), "in which city" -> (its verb, "in")."""
    node = token.head if token.dep_ == "det" and token.head.i != token.i else token
    while node.dep_ in ("compound", "appos", "conj", "amod") and node.head.i != node.i:
        node = node.head
    if node.dep_ == "pobj" and node.head.lower_ == "of" and node.head.head.pos_ in (
            "NOUN", "PROPN", "NUM"):  # fmt: skip
        node = node.head.head  # "30,000 pounds of chicken nuggets"
    dep, head = node.dep_, node.head
    if dep in ("nsubj", "csubj"):
        role = "subj"
    elif dep in ("nsubjpass", "dobj", "attr"):
        role = "obj"
    elif dep == "pobj" and head.dep_ == "agent":
        role, head = "subj", head.head
    elif dep == "pobj" and head.pos_ == "ADP":
        role, head = head.lower_, head.head
    else:
        return None
    return (head, role) if head.pos_ in ("VERB", "AUX") else None


def _asks_subject(tokens, wh: int | None) -> bool:
    """Is the wh-phrase the subject of a finite verb ("Who claimed", "Which group announced")?"""
    if wh is None:
        return False
    for t in tokens[wh + 1 : wh + 6]:
        if t.tag_ in ("VBD", "VBZ", "VBP") and t.lower_ not in _AUXILIARIES:
            return True
        if t.pos_ not in ("NOUN", "PROPN", "ADJ", "ADV", "DET"):
            return False
    return False


def _described(tokens, wh: int | None) -> tuple[tuple[str, str], ...]:
    """(modifier, kind of noun) of the question's noun phrases other than the wh-phrase;
    none when the question asks what something is ("Who is the NSC spokesman?": the noun phrase
    describes the answer itself)."""
    asking = tokens[wh] if wh is not None else None
    if any(t.dep_ == "ROOT" and t.lemma_ == "be" for t in tokens):
        return ()
    out = []
    for t in tokens:
        if t.pos_ != "NOUN" or (asking is not None and asking in t.subtree):
            continue
        out += qualified_as(t)
    return tuple(out)


def qualified_as(noun) -> list[tuple[str, str]]:
    """(modifier, kind of noun) for each word qualifying ``noun``: "an umbrella group" ->
    [("umbrella", "organization")]."""
    kind = noun_kind(noun.lemma_.lower())
    return [(c.lemma_.lower(), kind) for c in noun.children if c.dep_ in ("compound", "amod")]


def noun_kind(noun: str) -> str:
    """The kind of thing a noun names: "border" a place, "commander" a person, else entity."""
    return _category(noun)[0]


def _category(noun: str) -> tuple[str, frozenset[str]]:
    last = noun.split()[-1]
    if last in _TIME_NOUNS:
        return "date", WHEN
    if last in _PLACE_NOUNS:
        return "place", PLACE
    if last in _ORG_NOUNS:
        return "organization", ORG | frozenset({"PRODUCT", "NORP"})
    if last in _PERSON_NOUNS:
        return "person", PERSON
    return "entity", THING


def _head_noun(tokens, at: int) -> str:
    """The noun the word at ``at`` (a wh-word, "many", "of") governs, as a lemma:
    "which wildly popular show" -> "show", "how many hot dogs" -> "dog",
    "which island nation" -> "nation"."""
    word = tokens[at] if at < len(tokens) else None
    if word is not None and word.dep_ == "det" and word.head.pos_ == "NOUN" \
            and word.head.i > word.i:  # fmt: skip
        return word.head.lemma_.lower()
    head = ""
    for t in tokens[at + 1 : at + 7]:
        if t.pos_ in ("NOUN", "PROPN"):
            head = t.lemma_.lower()
            continue
        if head:
            break
        if t.pos_ in ("ADV", "DET", "ADJ", "NUM") or t.tag_ == "VBN":
            continue
        break
    return head
