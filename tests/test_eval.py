"""Scoring functions on hand-made cases, gold parsing, and a small end-to-end run."""

import json

import pytest

from eval.gold import load_gold, parse_gold
from eval.scoring import (
    abstention_scores,
    answer_correct,
    article_ranking,
    first_gold_rank,
    mentions,
    percentile,
    quote_is_verbatim,
    retrieval_scores,
)
from tests.conftest import ROOT, free_port


def test_correct_answer_case_and_punctuation_insensitive():
    assert answer_correct("The ISLAMIC resistance in Iraq, it said. [1]", False,
                          ["Islamic Resistance in Iraq"])  # fmt: skip


def test_wrong_answer():
    assert not answer_correct("Kataib Hezbollah did. [1]", False, ["Islamic Resistance in Iraq"])


def test_abstained_on_answerable_is_wrong_and_on_unanswerable_is_right():
    assert not answer_correct("The articles don't say.", True, ["x"])
    assert answer_correct("The articles don't say.", True, [])
    assert not answer_correct("Something [1]", False, [])


def test_choices_require_the_gold_and_no_other():
    choices = ["Joe Biden", "Donald Trump", "Barack Obama", "Kamala Harris"]
    assert answer_correct("Joe Biden said so.", False, ["Joe Biden"], choices)
    assert not answer_correct("Joe Biden and Donald Trump met.", False, ["Joe Biden"], choices)
    assert not answer_correct("Trump said so.", False, ["Joe Biden"], choices)


def test_whole_word_matching():
    assert mentions("It cost $5 a gallon.", "$5")
    assert not mentions("It cost $50 a gallon.", "$5")
    assert mentions("“Squid Game” returns", "Squid Game")


def test_quote_verbatim_check():
    text = "Alpha beta. Gamma delta."
    assert quote_is_verbatim(text, "Gamma delta.", 12, 24)
    assert not quote_is_verbatim(text, "Gamma delta!", 12, 24)
    assert not quote_is_verbatim(None, "Gamma", 0, 5)


def test_abstention_precision_and_recall():
    scores = abstention_scores(should=[True, True, False, False], did=[True, False, True, False])
    assert scores == {"abstention_precision": 0.5, "abstention_recall": 0.5}
    assert abstention_scores([False], [False])["abstention_precision"] is None


def test_retrieval_ranks():
    ranked = article_ranking(["a", "a", "b", "c"])
    assert ranked == ["a", "b", "c"]
    assert first_gold_rank(ranked, {"c"}) == 3 and first_gold_rank(ranked, {"z"}) is None
    scores = retrieval_scores([1, 3, None, 7])
    assert scores["hit@1"] == 0.25 and scores["hit@5"] == 0.5 and scores["hit@10"] == 0.75
    assert scores["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)


def test_percentile():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([], 50) is None


def test_gold_formats():
    ours = parse_gold({"id": "q", "turns": ["A?", "B?"], "answers": ["x"],
                       "evidence": [{"article_id": "a1", "quote": "..."}]})  # fmt: skip
    assert ours.question == "B?" and ours.evidence == ["a1"] and ours.answerable
    plain = parse_gold({"question": "C?", "answers": []})
    assert plain.turns == ["C?"] and not plain.answerable
    rtqa = parse_gold({"id": "r", "question": "D?", "answer": "$5", "choices": ["$4", "$5"],
                       "question_date": "2022-06-16",
                       "evidence": [{"article_id": "rtqa-1", "fact": "f"}]})  # fmt: skip
    assert rtqa.answers == ["$5"] and rtqa.as_of == "2022-06-16" and rtqa.evidence == ["rtqa-1"]


def test_seed_gold_file_is_well_formed():
    questions = load_gold(ROOT / "eval" / "gold" / "seed.jsonl")
    assert len(questions) >= 30
    assert sum(not q.answerable for q in questions) >= 5
    assert any(len(q.turns) > 1 for q in questions)
    seed = (ROOT / "corpus" / "000_62dedea8b5f1f4e6.txt").read_text()
    for line in (ROOT / "eval" / "gold" / "seed.jsonl").read_text().splitlines():
        for evidence in json.loads(line)["evidence"]:
            assert evidence["quote"] in seed


@pytest.mark.slow
def test_end_to_end_on_the_seed(tmp_path, seed_corpus):
    from eval.runner import run

    gold = tmp_path / "mini.jsonl"
    lines = (ROOT / "eval" / "gold" / "seed.jsonl").read_text().splitlines()
    unanswerable = [line for line in lines if json.loads(line)["answers"] == []]
    gold.write_text("\n".join(lines[:3] + unanswerable[:2]) + "\n")
    results = run(gold, seed_corpus, baseline=True, data_dir=tmp_path / "idx",
                  out_dir=tmp_path / "out", progress=False)  # fmt: skip
    ours = results["systems"]["newsdesk"]["summary"]
    peer = results["systems"]["baseline"]["summary"]
    assert ours["questions"] == 5 and ours["quotes_verbatim"] == 1.0
    assert ours["hit@5"] == 1.0 and peer["abstention_recall"] == 0.0
    assert len(results["settings_fingerprint"]) == 12
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| answer accuracy |" in report and "accuracy_by_type.png" in report
    assert (tmp_path / "out" / "accuracy_by_type.png").stat().st_size > 1000
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["systems"]["newsdesk"][
        "rows"
    ]
    assert {"answer", "correct", "citations", "latency"} <= set(rows[0])


@pytest.mark.slow
def test_llm_backend_figures_join_the_report(tmp_path, seed_corpus):
    """With the LLM server down every answer falls back, and the report says so."""
    from assistant.settings import Settings
    from eval.runner import run
    from tests.conftest import free_port

    gold = tmp_path / "mini.jsonl"
    gold.write_text((ROOT / "eval" / "gold" / "seed.jsonl").read_text().splitlines()[0] + "\n")
    settings = Settings(llm={"base_url": f"http://127.0.0.1:{free_port()}/v1"})
    results = run(gold, seed_corpus, data_dir=tmp_path / "idx", out_dir=tmp_path / "out",
                  progress=False, settings=settings, backend="openai")  # fmt: skip
    ours = results["systems"]["newsdesk"]["summary"]
    assert results["backend"] == "openai"
    assert ours["fallbacks"] == 1 and ours["llm_calls"] == 0
    row = results["systems"]["newsdesk"]["rows"][0]
    assert row["notice"].startswith("Cannot reach the LLM server")
    assert "| fallbacks to extractive | 1 |" in (tmp_path / "out" / "report.md").read_text()


def test_ampersand_reads_as_and():
    assert answer_correct("New Jersey and Oregon [1].", False, ["New Jersey & Oregon"])


def test_fit_puts_the_marking_feature_first_and_gates_abstention():
    """The conditional logit learns a weight for the feature that marks gold candidates."""
    import numpy as np

    from eval.fit import Case, fit, outcome, top_right

    rng = np.random.default_rng(1)
    cases = []
    for i in range(30):
        x = rng.random((4, 2))  # feature 0 is noise, feature 1 marks the gold candidate
        gold = np.zeros(4, dtype=bool)
        gold[i % 4] = True
        x[gold, 1] += 1.0
        cases.append(Case("set", str(i), True, x, gold, np.ones(4), False))
    start = np.array([1.0, 0.0])  # noise first: wrong about half the time
    w = fit(cases, start)
    assert w[1] > w[0]
    assert np.mean(top_right(cases, w)) > np.mean(top_right(cases, start))
    unanswerable = Case("set", "u", False, np.zeros((2, 2)), np.zeros(2, dtype=bool),
                        np.ones(2), False)  # fmt: skip
    assert outcome(unanswerable, w, min_answer=0.5, min_binding=0.0)  # abstains: right
    assert not outcome(unanswerable, w, min_answer=-1.0, min_binding=0.0)  # answers: wrong


def test_citation_markers_are_not_answer_text():
    assert not answer_correct("Artemis [1].", False, ["Artemis 1"])
    assert answer_correct("Artemis 1 [2].", False, ["Artemis 1"])


def test_load_generator_reports_a_missing_app_once_per_session():
    """No app at the address: each session records one clear error and stops (it does not
    spin); an https:// address is refused up front, as the generator speaks plain http."""
    from eval.load import run_load

    gold = ROOT / "eval" / "gold" / "seed.jsonl"
    report = run_load(f"http://127.0.0.1:{free_port()}/", sessions=3, seconds=1, gold_path=gold)
    assert len(report.calls) == 3
    assert all(c.error.startswith("ConnectionRefusedError") for c in report.calls)
    report = run_load("https://127.0.0.1:1/", sessions=1, seconds=1, gold_path=gold)
    assert len(report.calls) == 1 and "plain http://" in report.calls[0].error


def test_memory_probe_times_touching_memory_after_another_process_freed_some():
    from eval.memory import probe

    line = probe(gib=0.01, freed_gib=0.02, wait_s=0)
    seconds = [float(w) for w in line.replace(",", " ").split() if w.replace(".", "").isdigit()]
    assert line.startswith("touching 0.01 GiB:") and len(seconds) == 5  # 0.01, s, s, 0.02, 0
    assert all(s >= 0 for s in seconds)


def test_stop_process_stops_and_kills_what_ignores_the_request():
    import subprocess
    import sys

    from eval.load import stop_process

    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_process(polite)
    assert polite.returncode == -15  # SIGTERM
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, sys, time; "
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                 "print('ready', flush=True); time.sleep(60)"],
                                stdout=subprocess.PIPE)  # fmt: skip
    stubborn.stdout.readline()  # its handler is set
    stop_process(stubborn, timeout_s=0.5)
    stubborn.wait(timeout=5)
    assert stubborn.returncode == -9  # SIGKILL
    stubborn.stdout.close()


@pytest.mark.slow
def test_load_command_starts_its_own_app_and_stops_it():
    """``python -m eval load`` with no ``--url``: an app on the seed corpus, asked, then gone."""
    import re
    import socket
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "eval", "load", "--sessions", "1",
                           "--seconds", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"(\d+) questions, \1 answered, 0 errors", done.stdout), done.stdout[-1000:]
    port = int(re.search(r"app started at http://127\.0\.0\.1:(\d+)/", done.stderr)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the app it started is gone
