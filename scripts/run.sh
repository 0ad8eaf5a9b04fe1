#!/usr/bin/env bash
# Set everything up, bring the index in line with corpus/, and start the web app on 127.0.0.1.
# Extra arguments go to app.py (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python app.py "$@"
