#!/usr/bin/env bash
# Create .venv with everything Newsdesk needs, offline-safe. Idempotent: a second run is quick.
# Usage: scripts/setup.sh [--test]   (--test also installs test tools and headless Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

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
extras=""
[ $want_test = 1 ] && extras="[test]"
installed=""
for candidate in "$stamp$extras" "$stamp[test]"; do  # a test install covers a plain one
    if [ -f "$candidate" ] && [ ! pyproject.toml -nt "$candidate" ]; then installed=1; fi
done
if [ -z "$installed" ]; then
    echo "==> installing newsdesk$extras and its dependencies (a minute or two the first time)"
    pip_quiet -e ".$extras"
    touch "$stamp$extras"
fi

if [ $want_test = 1 ] && ! command -v chromedriver >/dev/null; then
    echo "==> installing headless Chromium for the browser tests (Debian packages)"
    sudo_cmd=""
    [ "$(id -u)" != 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "==> environment ready"
