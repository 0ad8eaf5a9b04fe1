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


def test_answer_backend_is_validated_with_a_readable_error():
    assert Settings(answer={"backend": "Local"}).answer.backend == "local"
    with pytest.raises(ValidationError, match="extractive, local, openai"):
        Settings(answer={"backend": "gpt4"})


def test_llm_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("ASSISTANT_ANSWER__BACKEND", "openai")
    monkeypatch.setenv("ASSISTANT_LLM__BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("ASSISTANT_LLM__API_KEY", "sk-secret")
    settings = get_settings()
    assert settings.answer.backend == "openai"
    assert settings.llm.base_url == "http://127.0.0.1:11434/v1"
    assert settings.llm.api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(settings) and "sk-secret" not in str(settings.model_dump())


def test_every_llm_setting_is_described():
    from assistant.settings import LLMSettings

    assert all(f.description for f in LLMSettings.model_fields.values())


def test_llm_settings_change_the_fingerprint_only_with_an_llm_backend():
    base = Settings()
    assert base.fingerprint() == Settings(llm={"max_tokens": 50}).fingerprint()
    local = Settings(answer={"backend": "local"})
    assert local.fingerprint() != Settings(answer={"backend": "local"},
                                           llm={"max_tokens": 50}).fingerprint()  # fmt: skip
    assert local.fingerprint() == Settings(answer={"backend": "local"},
                                           llm={"api_key": "k"}).fingerprint()  # fmt: skip
