#!/usr/bin/env bash
# Set everything up, bring the index in line with corpus/, and start the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
.venv/bin/assistant ingest corpus/ --sync
exec .venv/bin/assistant chat "$@"
