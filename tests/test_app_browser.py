"""The chat a newsroom would use, in a real headless Chromium against the running app.

One app (seed corpus, own index) and one browser for the module; each test opens the page
afresh. Screenshots land in the git-ignored ``artifacts/`` folder.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import ROOT, SEED, chromium, copy_seed_corpus, running_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),  # gradio on pandas 3
]
ARTIFACTS = ROOT / "artifacts"
NEW_ARTICLE = (
    "---\ntitle: Greyhaven lighthouse reopens\nsource: Coast Herald\ndate: 2024-02-05\n---\n"
    "The Greyhaven lighthouse reopened on Monday after a two-year restoration costing 4 million "
    "euros. Keeper Maren Olsted lit the lamp at dusk, and Maren Olsted said the light would "
    "guide the fishing fleet again.\n"
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(url, corpus folder, data folder) of an app on a copy of the seed corpus."""
    base = tmp_path_factory.mktemp("browser-app")
    corpus = copy_seed_corpus(base)
    with running_app(base, corpus) as url:
        yield url, corpus, base / "data"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    with chromium() as driver:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        driver.downloads = downloads
        yield driver


def _wait(driver, condition, timeout=60):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,))  # fmt: skip
    return wait.until(condition)


def _css(driver, selector):
    from selenium.webdriver.common.by import By

    return [e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]


def _text(driver, selector) -> str:
    """The visible text of every element matching ``selector`` (read in one go in the page,
    so a re-render in between cannot leave a stale element)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".filter(e => e.offsetParent !== null).map(e => e.innerText).join(' ')",
        selector,
    )


def _open(driver, url, articles=1):
    driver.get(url)
    _wait(driver, lambda d: f"{articles} article" in _text(d, "#nd-stats"))
    _wait(driver, lambda d: _css(d, ".nd-example"))


def _ask(driver, question: str) -> None:
    """Type a question and wait until its answer and sources panel are complete."""
    from selenium.webdriver.common.keys import Keys

    before = len(driver.find_elements("css selector", "#nd-sources-panel section.nd-turn"))
    box = _css(driver, "#nd-question textarea")[0]
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    _answered(driver, before + 1)


def _answered(driver, turns: int) -> None:
    _wait(
        driver,
        lambda d: (
            len(d.find_elements("css selector", "#nd-sources-panel section.nd-turn")) == turns
        ),
    )
    _wait(driver, lambda d: "Searching the articles" not in _text(d, "#nd-chat"))


def _tab(driver, name: str) -> None:
    tabs = driver.find_elements("css selector", "button[role='tab']")
    driver.execute_script("arguments[0].click()", next(t for t in tabs if t.text == name))


def _shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def _contrast(driver, selector: str) -> float:
    """WCAG contrast ratio between an element's text colour and its background."""
    return driver.execute_script(
        """
        const el = document.querySelector(arguments[0]);
        const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => {
          const f = (c) => {
            c /= 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
          };
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        let bg = el, color = getComputedStyle(el).backgroundColor;
        while (bg && (/rgba\\(.*, 0\\)$/.test(color) || color === 'transparent')) {
          bg = bg.parentElement;
          color = bg ? getComputedStyle(bg).backgroundColor : 'rgb(255,255,255)';
        }
        const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(color));
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        """,
        selector,
    )


def test_first_screen_light_and_dark(app, browser):
    url = app[0]
    _open(browser, url)
    examples = [e.text for e in _css(browser, ".nd-example")]
    assert len(examples) >= 3 and "What did Kataib Hezbollah announce?" in examples
    assert "1 indexed article" in _text(browser, "#nd-chat")
    assert "The National" in _text(browser, "#nd-stats") or "1 source" in _text(
        browser, "#nd-stats"
    )
    assert len(_css(browser, "#nd-filters input")) >= 3  # From, Until, Sources in one row
    _shot(browser, "first-screen-light.png")
    _open(browser, url + "?__theme=dark")
    assert browser.execute_script("return document.body.classList.contains('dark')")
    _shot(browser, "first-screen-dark.png")
    _ask(browser, "Why did Kataib Hezbollah suspend its attacks?")
    assert _contrast(browser, "#nd-sources-panel mark") >= 4.5  # no white on pale yellow
    assert _contrast(browser, "#nd-sources-panel .nd-passage") >= 4.5
    assert _contrast(browser, "#nd-chat .nd-cite") >= 3
    browser.execute_script("window.scrollTo(0, 0)")
    _shot(browser, "answer-dark.png")


def test_answer_first_with_sources_once_and_markers_that_lead_to_them(app, browser):
    _open(browser, app[0])
    _ask(browser, "Who claimed the Haifa attack?")
    reply = _css(browser, "#nd-chat .message.bot, #nd-chat [data-testid='bot']")[-1].text
    assert "Islamic Resistance in Iraq" in reply and "[1]" in reply
    assert "The National" not in reply and "Sources" not in reply  # sources once: in the panel
    entries = _css(browser, "#nd-sources-panel .nd-source")
    assert entries and "The National · 2024-02-01" in entries[0].text
    assert "Iranian commander urges Iraqi militias" in entries[0].text  # the seed's title
    assert _css(browser, "#nd-sources-panel .nd-source mark")
    _shot(browser, "answer-with-sources.png")

    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    _css(browser, "#nd-chat .nd-cite.nd-n1")[-1].click()
    current = _wait(browser, lambda d: _css(d, ".nd-source.nd-current"))[0]
    assert " 1 " in current.get_attribute("data-cites")
    assert "nd-flash" in current.get_attribute("class")
    assert browser.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.top >= 0 && r.top < window.innerHeight;",
        current,
    )
    _shot(browser, "cite-1-highlighted.png")


def test_a_source_opens_the_whole_article_with_the_cited_sentences(app, browser):
    from selenium.webdriver.common.keys import Keys

    _open(browser, app[0])
    _ask(browser, "Why did Kataib Hezbollah suspend its attacks?")
    _css(browser, "#nd-sources-panel .nd-open")[0].click()
    view = _wait(browser, lambda d: _css(d, "#nd-article-view .nd-article"))[0]
    assert "Iranian commander urges Iraqi militias" in view.text
    assert "Any US response to Sunday’s deadly attack" in view.text  # the whole article
    marks = _css(browser, "#nd-article-view mark")
    assert marks and any("Kataib Hezbollah" in m.text for m in marks)
    time.sleep(0.5)  # the view scrolls to the first highlight
    _shot(browser, "article-view.png")
    browser.find_element("tag name", "body").send_keys(Keys.ESCAPE)
    _wait(browser, lambda d: not _css(d, "#nd-article-view .nd-article"))


def test_a_suggested_follow_up_asks_at_once(app, browser):
    _open(browser, app[0])
    _ask(browser, "Who claimed the Haifa attack?")
    suggestions = _wait(browser, lambda d: _css(d, ".nd-follow"))
    assert 2 <= len(suggestions) <= 3
    asked = suggestions[0].text
    suggestions[0].click()
    _answered(browser, 2)
    assert asked in _text(browser, "#nd-chat")
    assert f"Sources for “{asked}”" in _text(browser, "#nd-sources-panel")
    _shot(browser, "follow-up-clicked.png")


def test_an_example_asks_at_once(app, browser):
    _open(browser, app[0])
    example = _css(browser, ".nd-example")[0]
    asked = example.text
    example.click()
    _answered(browser, 1)
    assert asked in _text(browser, "#nd-chat")


def test_thumbs_are_stored_with_question_answer_and_citations(app, browser):
    feedback = app[2] / "feedback.jsonl"
    before = feedback.read_text().count("\n") if feedback.exists() else 0
    _open(browser, app[0])
    _ask(browser, "Who claimed the Haifa attack?")
    _css(browser, "#nd-chat button[aria-label='Like']")[-1].click()
    _wait(browser, lambda d: feedback.exists() and feedback.read_text().count("\n") > before)
    record = json.loads(feedback.read_text().splitlines()[-1])
    assert record["rating"] == "like" and record["question"] == "Who claimed the Haifa attack?"
    assert "Islamic Resistance in Iraq" in record["answer"]
    assert record["citations"] and record["citations"][0]["article_id"] == "a20778723e316978"
    assert record["citations"][0]["quote"] in SEED.read_text()


def test_export_downloads_the_conversation_as_markdown(app, browser):
    _open(browser, app[0])
    _ask(browser, "Who claimed the Haifa attack?")
    _ask(browser, "Why did Kataib Hezbollah suspend its attacks?")
    target = browser.downloads / "newsdesk-conversation.md"
    target.unlink(missing_ok=True)
    _css(browser, "#nd-export")[0].click()
    _wait(browser, lambda d: target.exists() and target.stat().st_size > 0, timeout=30)
    text = target.read_text()
    assert "## 1. Who claimed the Haifa attack?" in text
    assert "## 2. Why did Kataib Hezbollah suspend its attacks?" in text
    assert "Sources:" in text and "(The National, 2024-02-01)" in text
    assert "  > " in text


def test_new_conversation_clears_what_the_engine_hears(app, browser):
    _open(browser, app[0])
    _ask(browser, "Why did Kataib Hezbollah suspend its attacks?")
    _css(browser, "#nd-actions button")[0].click()  # New conversation
    _wait(browser, lambda d: "1 indexed article" in _text(d, "#nd-chat"))
    assert "appear here" in _text(browser, "#nd-sources-panel")
    _ask(browser, "Why did they do that?")
    assert len(_css(browser, "#nd-sources-panel section.nd-turn")) == 1  # a fresh conversation


def test_upload_refreshes_count_examples_and_sources_for_every_page(app, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url, corpus, _ = app
    _open(browser, url)
    first_page = browser.current_window_handle
    browser.switch_to.new_window("tab")
    _open(browser, url)  # another session, left open
    other_page = browser.current_window_handle
    browser.switch_to.window(first_page)

    article = tmp_path / "greyhaven.md"
    article.write_text(NEW_ARTICLE)
    _tab(browser, "Corpus")
    browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(article))
    _wait(browser, lambda d: "1 article(s) added" in _text(d, "#nd-upload-result"))
    _wait(browser, lambda d: "2 articles" in _text(d, "#nd-stats"))
    assert "Coast Herald" in _text(browser, "#nd-articles")
    _shot(browser, "upload-refreshed-corpus.png")
    _tab(browser, "Chat")
    _wait(browser, lambda d: any("Maren Olsted" in e.text or "Greyhaven" in e.text
                                 for e in _css(d, ".nd-example")))  # fmt: skip
    _css(browser, "#nd-filters input[aria-label='Sources']")[0].click()
    _wait(browser, lambda d: "Coast Herald" in _text(d, "[role='listbox']"))
    _shot(browser, "upload-refreshed-chat.png")

    browser.switch_to.window(other_page)  # the other session sees it too, without reloading
    _wait(browser, lambda d: "2 articles" in _text(d, "#nd-stats"), timeout=30)
    _wait(browser, lambda d: any("Maren Olsted" in e.text or "Greyhaven" in e.text
                                 for e in _css(d, ".nd-example")))  # fmt: skip
    assert "2 indexed articles" in _text(browser, "#nd-chat")
    _shot(browser, "upload-seen-by-another-session.png")
    browser.close()
    browser.switch_to.window(first_page)


def test_remove_an_article_with_confirmation(app, browser):

    url, corpus, _ = app
    stored = corpus / "uploads" / "greyhaven.md"
    if not stored.exists():
        pytest.skip("runs after the upload test")
    _open(browser, url, articles=2)
    _tab(browser, "Corpus")

    def greyhaven_row(d):
        return [c for c in _css(d, "#nd-articles [role=gridcell]") if "Greyhaven" in c.text]

    def ask():
        _wait(browser, lambda d: "Greyhaven" in " ".join(
            e.get_attribute("value") or "" for e in _css(d, "#nd-article-pick input")))  # fmt: skip
        _css(browser, "#nd-remove")[0].click()
        _wait(browser, lambda d: "Remove **" not in _text(d, "#nd-confirm")
              and "Greyhaven" in _text(d, "#nd-confirm"))  # fmt: skip

    _wait(browser, greyhaven_row)[0].click()
    ask()
    # another article picked while asked: the question is withdrawn, nothing is removed
    _wait(browser, lambda d: [c for c in _css(d, "#nd-articles [role=gridcell]")
                              if "Haifa" in c.text or "Iraq" in c.text])[0].click()  # fmt: skip
    _wait(browser, lambda d: not _css(d, "#nd-confirm-yes"))
    assert stored.exists() and "2 articles" in _text(browser, "#nd-stats")
    _wait(browser, greyhaven_row)[0].click()
    ask()
    assert stored.exists()  # nothing removed before the confirmation
    _shot(browser, "remove-confirm.png")
    _css(browser, "#nd-confirm-yes")[0].click()
    _wait(browser, lambda d: "deleted its file greyhaven.md" in _text(d, "#nd-removal-result"))
    _wait(browser, lambda d: "1 article" in _text(d, "#nd-stats"))
    assert not stored.exists() and "Greyhaven" not in _text(browser, "#nd-articles")


def test_phone_width_puts_the_answer_and_its_sources_first(app, browser):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 400, "height": 850, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _open(browser, app[0])
        _ask(browser, "Why did Kataib Hezbollah suspend its attacks?")
        top = browser.execute_script(
            "return Object.fromEntries(['nd-chat', 'nd-sources-col', 'nd-filters', 'nd-extras']"
            ".map(i => [i, document.getElementById(i).getBoundingClientRect().top + scrollY]))"
        )
        assert top["nd-chat"] < top["nd-sources-col"] < top["nd-filters"] < top["nd-extras"]
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 400
        browser.execute_script("window.scrollTo(0, 0)")
        _shot(browser, "phone-400x850.png")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# --- what the coming engine returns, from a scripted engine: the date chip, a question back ---


class ScriptedAssistant:
    """Stands in for the engine the UI is built for: answers carry the date range read from
    "last week", and a question whose "they" refers to nothing gets a question back."""

    TEXT = (
        "The Portmere city council voted 5 to 2 on the harbour plan on Tuesday. "
        "Mayor John Smith said work would start in May."
    )

    def __init__(self, data_dir):
        from types import SimpleNamespace

        from assistant.store import ArticleRecord

        self.settings = SimpleNamespace(store=SimpleNamespace(data_dir=str(data_dir)))
        title = "Portmere council backs harbour plan"
        self.record = ArticleRecord("a1", title, "Herald", "2024-01-30", "", "", "", "", 1)
        self.calls = []

    def articles(self):
        return [self.record]

    def stats(self):
        return {"articles": 1, "chunks": 1}

    def article_text(self, article_id):
        return self.TEXT if article_id == "a1" else None

    def ask(self, question, history=None, as_of=None, date_from=None, sources=None,
            on_token=None):  # fmt: skip
        from assistant.types import Answer, Citation

        self.calls.append({"question": question, "history": history, "date_from": date_from})
        if "slowly" in question:  # an answer that takes a while: the page is used meanwhile
            import time

            time.sleep(3)
        if not history and " they " in f" {question} ":
            return Answer("What does “they” refer to? Nothing earlier in this conversation "
                          "says: ask again with the name of who or what you mean.", True,
                          question=question)  # fmt: skip
        quote = self.TEXT[:70]
        cited = Citation(1, "a1", "a1:0", self.record.title, "Herald", "2024-01-30", "", quote,
                         0, len(quote), self.TEXT, 0)  # fmt: skip
        dates = ("2024-01-28", "2024-02-03") if "last week" in question and not date_from else None
        return Answer("5 to 2 [1].", False, [cited], question=question, short_answer="5 to 2",
                      date_range=dates)  # fmt: skip


@pytest.fixture(scope="module")
def scripted_app(tmp_path_factory):
    """The app built in this process around ``ScriptedAssistant``: (url, the engine)."""
    import os

    import app as newsdesk_app
    from tests.conftest import free_port

    base = tmp_path_factory.mktemp("scripted-app")
    saved = os.environ.get("GRADIO_TEMP_DIR")
    engine = ScriptedAssistant(base / "data")
    demo = newsdesk_app.build_app(engine, base / "corpus", base / "uploads")
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, **newsdesk_app.page_assets())  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/", engine
    finally:
        demo.close()
        if saved is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = saved


def test_dates_read_from_the_question_show_as_a_removable_chip(scripted_app, browser):
    url, engine = scripted_app
    _open(browser, url)
    _ask(browser, "How did the council vote last week?")
    chip = _wait(browser, lambda d: _css(d, "#nd-date-chip"))[0]
    assert chip.text == "Dates from your question: 28 Jan 2024 – 3 Feb 2024 ✕"
    _shot(browser, "date-chip.png")
    chip.click()
    _wait(browser, lambda d: not _css(d, "#nd-date-chip"))
    _wait(browser, lambda d: len(engine.calls) == 2 and "5 to 2" in _text(d, "#nd-chat"))
    assert engine.calls[-1]["date_from"] == "2024-01-30"  # over all dates, said explicitly
    assert engine.calls[-1]["question"] == "How did the council vote last week?"
    assert [i.get_attribute("value") for i in _css(browser, "#nd-filters input")][0] == (
        "2024-01-30"
    )
    assert len(_css(browser, "#nd-sources-panel section.nd-turn")) == 1  # asked again, replaced


def test_one_question_at_a_time_the_box_and_examples_wait_for_the_answer(scripted_app, browser):
    from selenium.webdriver.common.keys import Keys

    url, engine = scripted_app
    _open(browser, url)
    asked = len(engine.calls)
    box = _css(browser, "#nd-question textarea")[0]
    box.send_keys("How did the council vote, slowly?")
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda d: "Searching the articles" in _text(d, "#nd-chat"))
    assert not box.is_enabled()
    examples = _css(browser, ".nd-example")
    assert examples and not any(e.is_enabled() for e in examples)
    examples[0].click()  # refused while the answer is on its way
    _answered(browser, 1)
    _wait(browser, lambda d: _css(d, "#nd-question textarea")[0].is_enabled())
    assert all(e.is_enabled() for e in _css(browser, ".nd-example"))
    assert len(engine.calls) == asked + 1  # the example click asked nothing
    assert len(_css(browser, "#nd-sources-panel section.nd-turn")) == 1


def test_a_new_conversation_during_an_answer_stays_new(scripted_app, browser):
    from selenium.webdriver.common.keys import Keys

    url, engine = scripted_app
    _open(browser, url)
    _ask(browser, "How did the council vote?")
    box = _css(browser, "#nd-question textarea")[0]
    box.send_keys("How did the council vote, slowly?")
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda d: "Searching the articles" in _text(d, "#nd-chat"))
    _css(browser, "#nd-actions button")[0].click()  # New conversation, while it answers
    _wait(browser, lambda d: "appear here" in _text(d, "#nd-sources-panel"))
    time.sleep(4)  # past the answer's end: it must not bring the old turns back
    assert "appear here" in _text(browser, "#nd-sources-panel")
    assert "How did the council vote" not in _text(browser, "#nd-chat")
    _ask(browser, "How did the council vote?")
    assert engine.calls[-1]["history"] == []


def test_a_question_that_refers_to_nothing_gets_a_plain_question_back(scripted_app, browser):
    url, engine = scripted_app
    _open(browser, url)
    _ask(browser, "How did the council vote?")
    _css(browser, "#nd-actions button")[0].click()  # New conversation
    _wait(browser, lambda d: "appear here" in _text(d, "#nd-sources-panel"))
    _ask(browser, "Why did they do that?")
    assert engine.calls[-1]["history"] == []  # the new conversation really starts afresh
    reply = _text(browser, "#nd-chat")
    assert "What does “they” refer to?" in reply
    assert not _css(browser, "#nd-chat .nd-cite") and not _css(browser, ".nd-follow")
    assert "No sources" in _text(browser, "#nd-sources-panel")
    _shot(browser, "question-back.png")
