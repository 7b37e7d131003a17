#!/usr/bin/env bash
# Set up a virtual environment with every extra the tests exercise, then run
# the default test suite. Used by .ci/run and quoted in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# CPU torch first (the wheel this machine kind keeps on disk), so that
# sentence-transformers does not pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[sentence-transformers,test,ray,serve]"

# The browser test needs Debian's chromium; install it when we can.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core >/dev/null) \
    || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi

.venv/bin/python -m ruff check .
.venv/bin/python -m pytest "$@"
