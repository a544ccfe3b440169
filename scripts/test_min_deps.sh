#!/usr/bin/env bash
# Run the test suite against the oldest dependency releases that
# pyproject.toml admits (constraints-min.txt), in a separate virtualenv.
# .ci/run calls it; the README's test command is scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-2}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
VENV="${ALIEN_SK_MIN_VENV:-.venv-min}"
# numpy 1.24 has no wheels for Python 3.12+: use a 3.11 (or older) interpreter
PY="${ALIEN_SK_MIN_PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info >= (3, 12))'; then
    if command -v python3.11 >/dev/null; then
        PY=python3.11
    else
        echo "test_min_deps.sh: needs Python <= 3.11 (numpy 1.24 has no wheels" \
            "for 3.12+); set ALIEN_SK_MIN_PYTHON to such an interpreter." >&2
        exit 1
    fi
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -c constraints-min.txt -e ".[dev]"
"$VENV/bin/python" -m pip install -q --no-deps -r requirements-data.txt
# the versions under test (informational)
"$VENV/bin/python" -m pip list 2>/dev/null \
    | grep -iE '^(torch|scikit-learn|numpy|scipy|transformers|tokenizers|joblib|threadpoolctl|matplotlib) ' \
    || true
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
