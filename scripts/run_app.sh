#!/usr/bin/env bash
# Install what the app needs (a virtualenv with requirements.txt) and start it on the chapter's data.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
exec .venv/bin/streamlit run app.py "$@"
