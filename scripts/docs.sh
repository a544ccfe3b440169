#!/usr/bin/env bash
# Build the documentation offline into docs/_build/html (warnings are errors).
# Sets up .venv from the project's own files like scripts/test.sh, then runs
# sphinx-build; extra arguments go to sphinx-build (e.g. -E for a full rebuild).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-2}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
VENV="${ALIEN_SK_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if [ -z "${ALIEN_SK_DOCS_NO_INSTALL:-}" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[docs]"
fi
# autosummary pages are regenerated on every build: drop stale ones
rm -rf docs/generated
"$VENV/bin/python" -m sphinx -W --keep-going -b html "$@" docs docs/_build/html
echo "docs built: docs/_build/html/index.html"
