import json
import os
import subprocess
import sys

import pytest

from assistant.loading import load_file, load_path, parse_text
from tests.conftest import SEED


def test_seed_format_date_line_and_text():
    [article], rejected = load_file(SEED)
    assert rejected == []
    assert article.published_at == "2024-02-01"
    assert article.text.startswith("A senior Iranian commander")
    assert "date 2024" not in article.text


def test_article_id_is_stable_and_depends_on_content():
    first = parse_text("date 2024-01-01\nSome text here.", "/x/a.txt", "a.txt")
    again = parse_text("date 2024-01-01\nSome text here.", "/x/a.txt", "a.txt")
    changed = parse_text("date 2024-01-01\nOther text here.", "/x/a.txt", "a.txt")
    assert first.id == again.id
    assert first.id != changed.id


def test_front_matter(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(
        "---\ntitle: Floods hit town\nsource: Daily Planet\nurl: https://example.org/a\n"
        "date: 2023-05-06\n---\nWater rose overnight. Residents fled.\n"
    )
    [article], rejected = load_file(path)
    assert (article.title, article.source, article.url, article.published_at) == (
        "Floods hit town",
        "Daily Planet",
        "https://example.org/a",
        "2023-05-06",
    )
    assert article.text == "Water rose overnight. Residents fled."


def test_markdown_heading_becomes_title(tmp_path):
    path = tmp_path / "b.md"
    path.write_text("# Storm warning\n\nWinds reached 100 km/h on Monday.\n")
    [article], _ = load_file(path)
    assert article.title == "Storm warning"
    assert article.text == "Winds reached 100 km/h on Monday."


def test_heading_closing_hashes_go_but_a_hash_in_the_title_stays(tmp_path):
    titles = {}
    for name, heading in (("a", "## Storm ##  "), ("b", "# C# for beginners"), ("c", "#   ")):
        path = tmp_path / f"{name}.md"
        path.write_text(f"{heading}\n\nWinds reached 100 km/h on Monday.\n")
        [article], _ = load_file(path)
        titles[name] = article.title
        assert article.text == "Winds reached 100 km/h on Monday."
    assert titles == {"a": "Storm", "b": "C# for beginners",
                      "c": "Winds reached 100 km/h on Monday."}  # fmt: skip


def test_the_file_of_an_origin_keeps_any_hash_and_letter_of_its_path():
    from assistant.loading import origin_file

    assert origin_file("/data/C#/Issue #42.md") == "/data/C#/Issue #42.md"
    assert origin_file("/data/İstanbul/İz.jsonl#a#1") == "/data/İstanbul/İz.jsonl"
    assert origin_file("/data/C#/FEED.JSONL#x") == "/data/C#/FEED.JSONL"


def test_hostile_spacing_and_nesting_are_read_promptly(tmp_path):
    """Inputs that made the heading pattern backtrack for minutes (a long run of spaces), the
    sentence splitter take quadratic time (a long run of dots) and the JSON reader recurse
    past Python's limit. Read in a child process, so that a regression fails on its timeout
    instead of hanging the suite."""
    (tmp_path / "spaces.md").write_text("# a" + " " * 20_000 + "x\n\nBody text here.\n")
    (tmp_path / "dots.txt").write_text("." * 100_000 + " then no new sentence.\n")
    nested = '{"text": "Body text here.", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    (tmp_path / "nested.jsonl").write_text(nested + "\n" + '{"id": "ok", "text": "Fine."}\n')
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from assistant.loading import load_file\n"
        "from assistant.text import split_sentences\n"
        "folder = Path(sys.argv[1])\n"
        "[a], _ = load_file(folder / 'spaces.md')\n"
        "print(repr(a.title[:1] + a.title[-1:]))\n"
        "[d], _ = load_file(folder / 'dots.txt')\n"
        "print(len(split_sentences(d.text)))\n"
        "found, rejected = load_file(folder / 'nested.jsonl')\n"
        "print([x.id for x in found], [why for _, why in rejected])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    title, sentences, jsonl = done.stdout.splitlines()
    assert title == "'ax'" and int(sentences) == 1
    assert jsonl == "['ok'] ['invalid JSON: nested too deeply']"


def test_html_main_text_without_boilerplate(tmp_path):
    path = tmp_path / "c.html"
    path.write_text(
        "<html><head><title>Ignored title</title>"
        '<meta property="og:title" content="Mayor resigns">'
        '<meta property="og:site_name" content="City News">'
        '<meta property="article:published_time" content="2022-03-04T10:00:00Z">'
        '<link rel="canonical" href="https://city.example/mayor"></head>'
        "<body><nav><a href='/'>Home</a> Subscribe now</nav>"
        "<article><h1>Mayor resigns</h1><p>The mayor resigned on Friday.</p>"
        "<p>She cited health reasons.</p><script>var x=1;</script></article>"
        "<footer>Copyright City News</footer></body></html>"
    )
    [article], rejected = load_file(path)
    assert rejected == []
    assert article.title == "Mayor resigns"
    assert article.source == "City News"
    assert article.published_at == "2022-03-04"
    assert article.url == "https://city.example/mayor"
    assert article.text == "The mayor resigned on Friday.\n\nShe cited health reasons."


def test_jsonl_good_and_broken_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    good = {"id": "x1", "title": "T", "source": "S", "published_at": "2022-01-02",
            "url": "u", "text": "Body one."}  # fmt: skip
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "x2", "title": "No text"}),
        json.dumps({"id": "x3", "text": "Body three.", "published_at": "yesterday"}),
        json.dumps([1, 2]),
    ]
    path.write_text("\n".join(lines) + "\n")
    articles, rejected = load_file(path)
    assert [a.id for a in articles] == ["x1"]
    assert articles[0].origin.endswith("d.jsonl#x1")
    reasons = dict(rejected)
    assert "invalid JSON" in reasons[f"{path} line 2"]
    assert "missing 'text'" in reasons[f"{path} line 3"]
    assert "published_at: 'yesterday' is not a date" in reasons[f"{path} line 4"]
    assert "not a JSON object" in reasons[f"{path} line 5"]


def test_unsupported_binary_empty_and_bad_front_matter(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "c.txt").write_text("   \n")
    (tmp_path / "d.md").write_text("---\ndate: 32 Foo\n---\nText.\n")
    (tmp_path / "e.md").write_text("---\njust words\n---\nText.\n")
    articles, rejected = load_path(tmp_path)
    assert articles == []
    reasons = {name.rsplit("/", 1)[-1]: why for name, why in rejected}
    assert "unsupported file type '.pdf'" in reasons["a.pdf"]
    assert "binary" in reasons["b.txt"]
    assert "no article text" in reasons["c.txt"]
    assert "date: '32 Foo' is not a date" in reasons["d.md"]
    assert "key: value" in reasons["e.md"]


def test_windows_1252_text_is_read(tmp_path):
    path = tmp_path / "w.txt"
    path.write_bytes("date 2020-01-01\nCaf\u00e9 owners said \u201cno\u201d.".encode("cp1252"))
    [article], rejected = load_file(path)
    assert rejected == []
    assert article.text == "Caf\u00e9 owners said \u201cno\u201d."


def test_readme_and_hidden_files_are_not_articles(tmp_path):
    (tmp_path / "README.md").write_text("# How to add articles\n")
    (tmp_path / ".hidden.txt").write_text("secret")
    (tmp_path / "ok.txt").write_text("A real article.")
    articles, rejected = load_path(tmp_path)
    assert [a.text for a in articles] == ["A real article."]
    assert rejected == []


# --- hostile files: decoded, or skipped with a reason; never a crash or a hang ---


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig"])
def test_byte_order_marked_text_is_decoded(tmp_path, codec):
    path = tmp_path / "bom.txt"
    body = "date 2024-01-02\nThe mayor of Zürich spoke on Monday."
    raw = body.encode(codec)
    if codec.endswith("-be"):  # the -be codecs write no mark: add it
        raw = ("\ufeff" + body).encode(codec)
    path.write_bytes(raw)
    [article], rejected = load_file(path)
    assert rejected == [] and article.text == "The mayor of Zürich spoke on Monday."


def test_broken_utf16_after_its_mark_is_refused(tmp_path):
    (tmp_path / "odd.txt").write_bytes(b"\xff\xfeA\x00B")
    _, [(name, reason)] = load_file(tmp_path / "odd.txt")
    assert "not valid UTF-16 text" in reason


def _reasons(folder):
    articles, rejected = load_path(folder)
    return articles, {name.rsplit("/", 1)[-1]: why for name, why in rejected}


def test_links_folders_and_special_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "ok.txt").write_text("A real article.")
    (tmp_path / "self.md").symlink_to(tmp_path / "self.md")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "folder.md" / "inside.txt").write_text("Not read.")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    articles, reasons = _reasons(tmp_path)
    assert [a.text for a in articles] == ["A real article."]
    assert "symbolic link loop" in reasons["self.md"]
    assert "broken symbolic link" in reasons["dangling.txt"]
    assert "folder named like an article" in reasons["folder.md"]
    assert "not a regular file" in reasons["pipe.txt"]
    assert "not followed" in reasons["linked"]


def test_unreadable_file_is_skipped_with_a_reason(tmp_path, monkeypatch):
    (tmp_path / "locked.txt").write_text("Secret.")
    real_open = os.open

    def deny(path, *args, **kwargs):
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    _, reasons = _reasons(tmp_path)
    assert reasons["locked.txt"] == "cannot read file: Permission denied"


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    import assistant.loading as loading

    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.txt").write_text("x" * 11)
    _, reasons = _reasons(tmp_path)
    assert "file too large (11 bytes; limit 10)" in reasons["big.txt"]


def test_undecodable_file_name_is_shown_escaped_and_stored_safely(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.txt"
    with open(name, "wb") as handle:
        handle.write(b"date 2024-01-02\nA story.")
    [article], rejected = load_path(tmp_path)
    assert rejected == []
    assert article.origin.endswith("caf\\xe9.txt") and article.source == "caf\\xe9.txt"
    article.origin.encode("utf-8")


def test_lone_surrogates_in_json_are_repaired(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"title": "T \\ud800", "source": "\\udcff", "text": "Body \\ud800 one."}\n')
    [article], _ = load_file(path)
    assert article.text == "Body \ufffd one." and article.title == "T \ufffd"
    assert article.source == "\ufffd"


@pytest.mark.parametrize(
    "value", ["2022-05-20T10:00:00", "2022-05-20T10:00:00Z", "2022-05-20T10:00:00+02:00"]
)
def test_timestamps_are_read_in_articles(tmp_path, value):
    path = tmp_path / "t.md"
    path.write_text(f"---\ndate: {value}\n---\nText.\n")
    [article], _ = load_file(path)
    assert article.published_at == "2022-05-20"


def test_impossible_date_names_the_field_and_the_file(tmp_path):
    (tmp_path / "bad.md").write_text("---\ndate: 2022-13-45\n---\nText.\n")
    (tmp_path / "bad.jsonl").write_text('{"text": "T.", "published_at": "2022-02-30"}\n')
    _, rejected = load_path(tmp_path)
    reasons = dict(rejected)
    assert reasons[str(tmp_path / "bad.md")] == "date: 2022-13-45 is not a valid date (YYYY-MM-DD)."
    assert reasons[f"{tmp_path / 'bad.jsonl'} line 1"] == (
        "published_at: 2022-02-30 is not a valid date (YYYY-MM-DD)."
    )
