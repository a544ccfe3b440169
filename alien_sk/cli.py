# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Command line: ``alien-sk demo`` (also ``python -m alien_sk demo``)."""

import argparse
import sys
import time

__all__ = ["build_parser", "main"]


def build_parser():
    """The argument parser of the ``alien-sk`` command.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> from alien_sk.cli import build_parser
    >>> args = build_parser().parse_args(["demo", "--quick"])
    >>> args.command, args.quick, args.task
    ('demo', True, 'sentiment')
    """
    from alien_sk.demo import METHOD_SLUGS

    parser = argparse.ArgumentParser(
        prog="alien-sk",
        description="ALIEN uncertainty estimation for transformers classifiers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="fine-tune MiniLM on real data and compare ALIEN with the baselines",
        description=(
            "Run the real-data benchmark offline: fine-tune the packaged MiniLM "
            "(cached), extract features (cached), tune ALIEN, compare it with "
            "entropy and the other baselines, print the table and save CSV and "
            "PNG files. The first run fine-tunes and extracts features (about "
            "3.5 minutes on 2 quiet CPU cores, up to 6 on busy ones; --task ner "
            "about 10); later runs take under a minute."
        ),
    )
    demo.add_argument(
        "--task",
        choices=["sentiment", "sentiment-film", "ner"],
        default="sentiment",
        help="sentiment: Rotten Tomatoes sentences (default); sentiment-film: "
        "the same split by film (no test film seen in training); ner: "
        "WNUT-2016 tweets, token level",
    )
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run")
    demo.add_argument(
        "--model",
        type=_model_folder,
        default=None,
        help="base model folder to fine-tune",
    )
    demo.add_argument(
        "--methods",
        nargs="+",
        choices=list(METHOD_SLUGS),
        default=None,
        metavar="METHOD",
        help="methods to run (default: all): " + ", ".join(METHOD_SLUGS),
    )
    for name in ("n-train", "n-validation", "n-test", "n-seeds"):
        demo.add_argument(f"--{name}", type=_int_at_least(1), default=None)
    demo.add_argument(
        "--n-bootstrap", type=_int_at_least(0), default=None, help="0 skips it"
    )
    demo.add_argument("--max-length", type=_int_at_least(2), default=None)
    demo.add_argument("--n-epochs", type=_int_at_least(1), default=None)
    demo.add_argument(
        "--finetune-seeds",
        type=_int_at_least(1),
        default=1,
        help="repeat the run with this many fine-tuning seeds and summarise the "
        "spread over classifiers (default 1)",
    )
    demo.add_argument(
        "--data-home",
        default=None,
        help=(
            "cache folder (default: $ALIEN_SK_HOME, else $XDG_CACHE_HOME/alien_sk, "
            "else ~/.cache/alien_sk)"
        ),
    )
    demo.add_argument("--results-dir", default="results", help="default: ./results")
    demo.add_argument(
        "--device", type=_device, default="cpu", help="cpu (default), cuda, mps or auto"
    )
    demo.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        help="workers of the grid search (joblib: -1 uses every core)",
    )
    demo.add_argument(
        "--refit",
        action="store_true",
        help="refit every method instead of reusing the fit cache",
    )
    demo.add_argument("--no-plots", action="store_true")
    demo.add_argument("--no-progress", action="store_true")
    return parser


def _int_at_least(minimum):
    """argparse type: an integer >= ``minimum``, else a usage error (exit 2)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}; got {value}")
        return value

    return parse


def _n_jobs(text):
    """argparse type: joblib's ``n_jobs``, a non-zero integer."""
    value = _int_at_least(-(2**31))(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (-1 uses every core)")
    return value


def _device(text):
    """argparse type: a torch device that this machine has."""
    from alien_sk._utils import resolve_device

    try:
        resolve_device(text)
    except (ValueError, RuntimeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _model_folder(text):
    """argparse type: a local folder holding a transformers model."""
    import os

    if not os.path.isfile(os.path.join(text, "config.json")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a folder holding a transformers model (no config.json)"
        )
    return text


def main(argv=None):
    """Entry point of the ``alien-sk`` console script.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    import importlib.util

    from alien_sk.demo import run_benchmark, run_finetune_seeds

    if not args.no_plots and importlib.util.find_spec("matplotlib") is None:
        parser.error(
            "the plots need matplotlib: pip install 'alien-sk[plot]', or pass "
            "--no-plots"
        )

    start = time.perf_counter()

    def log(line):
        print(f"[{time.perf_counter() - start:6.1f} s] {line}", flush=True)

    kwargs = dict(
        quick=args.quick,
        model=args.model,
        methods=args.methods,
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
        plots=not args.no_plots,
        progress_bar=not args.no_progress and sys.stderr.isatty(),
        log=log,
    )
    if args.finetune_seeds > 1:
        many = run_finetune_seeds(args.task, args.finetune_seeds, **kwargs)
        result = many.runs[0]
    else:
        many = None
        result = run_benchmark(args.task, **kwargs)
    s = result.settings
    unit = {
        "ner": " (whole sentences, a repeated tweet's copies together)",
        "sentiment-film": " (whole films)",
    }
    print()
    print(
        f"Misclassification detection on the test split ({result.raw[0]['task']}; "
        f"mean ± std (ddof=1) over {s['n_seeds']} seeds of each seeded method; "
        "all values "
        "x100; ECE '-' for unbounded scores). 'fit on' is the data the method "
        "learns from: train = the classifier's training split (paper protocol), "
        "validation = held-out errors. Bootstrap: "
        f"{s['n_bootstrap']} resamples of the test set{unit.get(args.task, '')}, "
        "of each method's mean "
        "over its seeds; the difference is the observed one."
    )
    print(result.table)
    print()
    print(result.verdict)
    print()
    if many is not None:
        print(
            f"Over {args.finetune_seeds} fine-tuning seeds (mean ± std over "
            "classifiers of each method's seed-averaged metrics, x100):"
        )
        print(many.table)
        diffs = [d for d in many.differences if d["method"] == "ALIEN"]
        if diffs:
            print(
                "ALIEN - Entropy ROC-AUC per classifier (points): "
                + ", ".join(f"{100 * d['roc_auc_minus_entropy']:+.2f}" for d in diffs)
            )
        print(f"written to {many.out_dir}/")
        print()
    runs = many.runs if many is not None else [result]
    timings = {k: sum(run.timings.get(k, 0.0) for run in runs) for k in result.timings}
    print(
        "timings (s"
        + (f", summed over the {len(runs)} runs" if len(runs) > 1 else "")
        + "): "
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
    )
    for run in runs:
        print(
            f"results written to {run.out_dir}/: "
            + ", ".join(sorted(p.rsplit("/", 1)[-1] for p in run.files.values()))
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
