#!/usr/bin/env bash
# Install what the tests need (a virtualenv with requirements-dev.txt; Debian's chromium for the
# browser tests when it is missing) and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
fi
exec .venv/bin/python -m pytest -q "$@"
