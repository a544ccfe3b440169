# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark ALIEN against the baselines on real data and a real classifier.

Protocol (arXiv 2505.15443, adapted to one CPU):

* data: Rotten Tomatoes review sentences (``--task sentiment``) or WNUT-2016
  tweets at the word level (``--task ner``), fixed seeded stratified splits
  (:mod:`alien_sk.datasets`), subsampled (see ``--n-train`` etc.);
* classifier: the packaged all-MiniLM-L6-v2 fine-tuned on the training
  subsample (cached under ``$ALIEN_SK_HOME`` or ``~/.cache/alien_sk``);
* features: ``[logits | penultimate embedding]`` from
  :class:`alien_sk.FeatureExtractor` (cached per text);
* ALIEN: head trained on the classifier's training split, grid
  ``learning_rate x alpha x beta`` (27 points) chosen by validation
  misclassification ROC-AUC (``GridSearchCV`` + ``PredefinedSplit``);
  ablations change one component of the chosen configuration; second
  protocol: head trained on the validation split (held-out errors), grid
  chosen by 5-fold cross-validation inside it (grouped by sentence for NER);
* baselines: MaxProb, entropy, margin, temperature-scaled MaxProb (temperature
  fitted on validation), Mahalanobis, relative Mahalanobis, RDE, DDU and
  linear error probes (on train and on validation);
* metrics on the test split: misclassification ROC-AUC, AURC, E-AURC, ECE
  and PRR, mean ± std over seeds, bootstrap 95% intervals over the test set
  and paired differences to entropy.

Outputs (printed, and under ``--results-dir``): ``table.txt``,
``summary.csv``, ``raw_results.csv``, ``bootstrap.csv``, ``run.json``,
``risk_coverage.png`` and ``reliability.png``.

Examples::

    python benchmarks/bench_uncertainty.py                 # full sentiment run
    python benchmarks/bench_uncertainty.py --quick
    python benchmarks/bench_uncertainty.py --task ner
    python benchmarks/bench_uncertainty.py --estimators alien entropy mahalanobis
"""

import argparse
import sys
import time

from alien_sk.cli import _int_at_least, _n_jobs
from alien_sk.demo import DEFAULT_SETTINGS, METHOD_SLUGS, run_benchmark


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=sorted(DEFAULT_SETTINGS), default="sentiment")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--estimators",
        nargs="+",
        choices=list(METHOD_SLUGS),
        default=None,
        metavar="NAME",
        help="methods to run (default: all): " + ", ".join(METHOD_SLUGS),
    )
    parser.add_argument("--model", default=None, help="base model folder")
    for name in ("n-train", "n-validation", "n-test", "n-seeds"):
        parser.add_argument(f"--{name}", type=_int_at_least(1), default=None)
    parser.add_argument("--n-bootstrap", type=_int_at_least(0), default=None)
    parser.add_argument("--max-length", type=_int_at_least(2), default=None)
    parser.add_argument("--n-epochs", type=_int_at_least(1), default=None)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-jobs", type=_n_jobs, default=1)
    parser.add_argument("--refit", action="store_true", help="ignore the fit cache")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    result = run_benchmark(
        args.task,
        quick=args.quick,
        model=args.model,
        methods=args.estimators,
        n_train=args.n_train,
        n_validation=args.n_validation,
        n_test=args.n_test,
        n_seeds=args.n_seeds,
        n_bootstrap=args.n_bootstrap,
        max_length=args.max_length,
        n_epochs=args.n_epochs,
        data_home=args.data_home,
        results_dir=args.results_dir,
        device=args.device,
        n_jobs=args.n_jobs,
        cache_fits=not args.refit,
        progress_bar=sys.stderr.isatty(),
        log=lambda line: print(f"[{time.perf_counter() - start:6.1f} s] {line}"),
    )
    print()
    print(result.table)
    print()
    print(result.verdict)
    for split, report in result.classifier.items():
        print(
            f"classifier {split}: "
            + ", ".join(f"{k}={v:.4g}" for k, v in report.items())
        )
    print(
        "timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
    )
    print(f"results in {result.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
