# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Smoke test of the head benchmark script, on a tiny problem (no timing asserted)."""

import importlib.util
import re
from pathlib import Path

import pytest

from alien_sk import head

BENCH_HEAD = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_head.py"


def test_bench_head_runs_and_reports_every_estimator(capsys):
    spec = importlib.util.spec_from_file_location("bench_head", BENCH_HEAD)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # not __main__: parses no arguments
    args = bench._parse_args(
        [
            "--n-samples",
            "300",
            "--dims",
            "6",
            "--max-epochs",
            "1",
            "--repeat",
            "1",
            "--predict-rows",
            "50",
            "--estimators",
            "alien",
            "alien-autograd",
            "logreg",
            "--breakdown",
        ]
    )
    rows = bench.run(args)
    names = ["logreg", "alien", "alien-autograd", "floor-blas", "floor-memory"]
    assert [r[0] for r in rows] == names
    assert all(r[1] == "300x(2+6)" for r in rows)
    assert rows[0][3] == 1.0  # LR against itself
    assert all(r[2] > 0 and r[4] > 0 for r in rows)
    out = capsys.readouterr().out
    assert re.search(r"iterations to converge: \d+ at 300x\(2\+6\)", out)
    # the breakdown's stripped-down trainers are swapped in only during a fit
    assert head.LinearAnalyticTrainer.__name__ == "LinearAnalyticTrainer"


def test_bench_head_real_data_takes_the_logits_from_the_data():
    spec = importlib.util.spec_from_file_location("bench_head", BENCH_HEAD)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench._parse_args(["--data", "rotten-tomatoes"]).n_logits == 2
    with pytest.raises(SystemExit):
        bench._parse_args(["--data", "rotten-tomatoes", "--n-logits", "3"])
