"""Uploads: only files from the upload folder, parsed before stored, safe names, progress."""

import json
from pathlib import Path

from assistant.uploads import ingest_uploads, safe_name
from tests.test_ui import LINK


def test_safe_name_drops_paths_and_odd_characters():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\me\\My Story!.HTML") == "My-Story.html"
    assert safe_name("...md") == "article.md"


def test_upload_stores_good_files_and_removes_rejected_ones(make_assistant, tmp_path):
    up = tmp_path / "incoming"
    up.mkdir()
    good = up / "story one.md"
    good.write_text("---\ntitle: Vote\ndate: 2024-01-02\n---\nThe council voted 5 to 2.\n")
    empty = up / "empty.txt"
    empty.write_text("  ")
    pdf = up / "x.pdf"
    pdf.write_bytes(b"%PDF")
    corpus = tmp_path / "corpus"
    assistant = make_assistant()
    report = ingest_uploads(assistant, [good, empty, pdf], corpus)
    assert [p.name for p in report.stored] == ["story-one.md"]
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["story-one.md"]
    text = report.markdown()
    assert "empty.txt** rejected: no article text" in text and "x.pdf** rejected" in text
    assert assistant.stats()["articles"] == 1
    again = ingest_uploads(assistant, [good], corpus)
    assert "already indexed" in again.markdown()
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["story-one.md"]
    assert Path(good).exists()


# --- uploads: only from the upload folder, nothing stored when refused ---


def _good(folder, name="story.md", text="The council voted 5 to 2 on the harbour plan."):
    path = folder / name
    path.write_text(f"---\ntitle: Vote\ndate: 2024-01-02\n---\n{text}\n")
    return path


def test_upload_outside_the_upload_folder_is_refused_and_nothing_copied(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    root.mkdir()
    secret = _good(tmp_path, "secret.md", "The vault code is 7741.")
    corpus = tmp_path / "corpus"
    assistant = make_assistant()
    report = ingest_uploads(assistant, [str(secret)], corpus, upload_root=root)
    assert "refused: it did not arrive with this upload" in report.markdown()
    assert not (corpus / "uploads").exists() or not list((corpus / "uploads").iterdir())


def test_symlink_in_the_upload_folder_pointing_outside_is_refused(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    root.mkdir()
    secret = _good(tmp_path, "secret.md", "The vault code is 7741.")
    (root / "evil.md").symlink_to(secret)
    report = ingest_uploads(make_assistant(), [str(root / "evil.md")], tmp_path / "c", root)
    assert "refused: it did not arrive with this upload" in report.markdown()
    assert not (tmp_path / "c" / "uploads").exists()


def test_dotdot_path_out_of_the_upload_folder_is_refused(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    root.mkdir()
    _good(tmp_path, "secret.md", "The vault code is 7741.")
    report = ingest_uploads(make_assistant(), [f"{root}/../secret.md"], tmp_path / "c", root)
    assert "refused" in report.markdown()


def test_upload_inside_the_upload_folder_is_taken(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    (root / "abc123").mkdir(parents=True)
    good = _good(root / "abc123")
    assistant = make_assistant()
    report = ingest_uploads(assistant, [str(good)], tmp_path / "c", root)
    assert "1 article(s) added" in report.markdown() and assistant.stats()["articles"] == 1


def test_upload_never_replaces_another_files_article(make_assistant, tmp_path, seed_corpus):
    assistant = make_assistant()
    assistant.ingest(seed_corpus, progress=False)
    [record] = assistant.articles()
    before = assistant.article_text(record.id)
    hostile = tmp_path / "takeover.jsonl"
    hostile.write_text(json.dumps({"id": record.id, "text": "Nothing happened."}) + "\n")
    report = ingest_uploads(assistant, [hostile], tmp_path / "c")
    assert "belongs to an article of another file" in report.markdown()
    assert assistant.article_text(record.id) == before
    assert not (tmp_path / "c" / "uploads").exists()


def test_rejected_upload_is_never_stored(make_assistant, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ndate: 2022-13-45\n---\nText.\n")
    report = ingest_uploads(make_assistant(), [bad], tmp_path / "c")
    assert "is not a valid date" in report.markdown()
    assert not (tmp_path / "c" / "uploads").exists()


def test_uploaded_names_are_escaped_in_the_report(make_assistant, tmp_path):
    odd = tmp_path / "[x](javascript:alert(1)) <b>.pdf"
    odd.write_bytes(b"%PDF")
    text = ingest_uploads(make_assistant(), [odd], tmp_path / "c").markdown()
    assert "<b>" not in text and not LINK.search(text)


def test_too_many_files_at_once_are_refused(make_assistant, tmp_path):
    report = ingest_uploads(make_assistant(), ["x.md"] * 51, tmp_path / "c")
    assert "upload at most 50" in report.markdown()


def test_upload_reports_its_progress_file_by_file(make_assistant, tmp_path):
    files = [_good(tmp_path, f"s{i}.md", f"Story number {i} tells of the harbour {i}.")
             for i in range(2)]  # fmt: skip
    heard = []
    report = ingest_uploads(
        make_assistant(),
        files,
        tmp_path / "c",
        on_progress=lambda share, text: heard.append((share, text)),
    )
    assert "1 article(s) added" in report.markdown()
    shares = [share for share, _ in heard]
    assert shares == sorted(shares) and shares[0] == 0 and shares[-1] == 1.0
    assert heard[0][1] == "File 1 of 2 (s0.md): reading"
    assert any("File 2 of 2 (s1.md): 1 of 1 article(s) indexed" in text for _, text in heard)


def test_a_path_no_file_system_can_hold_is_refused_not_a_crash(make_assistant, tmp_path):
    root = tmp_path / "upload-root"
    root.mkdir()
    report = ingest_uploads(make_assistant(), ["\ud800", "x\ud800.md"], tmp_path / "c", root)
    assert "\ufffd** rejected: not an article file" in report.markdown()
    assert "x\ufffd.md** refused: no such uploaded file" in report.markdown()
