#!/usr/bin/env bash
# Set everything up (venv, packages, headless Chromium, the local LLM) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test --llm
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
export NEWSDESK_REQUIRE_LLM=1  # the LLM tests fail instead of skipping when the model is missing
exec .venv/bin/python -m pytest "$@"
