#!/usr/bin/env bash
# Creates bench/.venv-hft, a virtualenv of its own holding hftbacktest 2.4.4 (a bench-only dependency:
# its numba / numpy pins must not touch the project venv). Idempotent; prints the interpreter path.
# Usage: bench/hftbacktest_env.sh [python]   (default: python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-hft"
py="${1:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import hftbacktest, sys; sys.exit(hftbacktest.__version__ != '2.4.4')" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "hftbacktest==2.4.4"
fi
echo "$venv/bin/python"
