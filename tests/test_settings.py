import pytest
from pydantic import ValidationError

from assistant.settings import Settings, get_settings


def test_environment_overrides_nested_fields(monkeypatch):
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__TOP_K", "3")
    monkeypatch.setenv("ASSISTANT_STORE__DATA_DIR", "/tmp/elsewhere")
    settings = get_settings()
    assert settings.retrieval.top_k == 3
    assert str(settings.store.data_dir) == "/tmp/elsewhere"


def test_unknown_keys_are_rejected():
    with pytest.raises(ValidationError):
        Settings(retrieval={"top_kk": 3})


def test_fingerprint_tracks_answer_settings_not_paths():
    base = Settings()
    assert base.fingerprint() == Settings(store={"data_dir": "/x"}).fingerprint()
    assert base.fingerprint() != Settings(retrieval={"top_k": 3}).fingerprint()


def test_get_settings_accepts_object_or_dict():
    s = Settings()
    assert get_settings(s) is s
    assert get_settings({"reader": {"parse_top": 3}}).reader.parse_top == 3
