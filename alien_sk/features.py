# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Turn texts into ``[logits | penultimate embedding]`` with a transformers classifier.

The embedding is the input of the final ``nn.Linear`` that produces the
logits, captured with a forward pre-hook (the logits with a forward hook on
the same layer), so ``embedding @ W.T + b == logits`` for every supported
architecture. Features are cached per text on disk (:mod:`alien_sk._cache`),
so that the language model runs once per distinct text, ever.
"""

import copy
import hashlib
import inspect
import itertools
import json
import os
import reprlib
import sys
import threading
import warnings
import weakref
from collections.abc import Iterator
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from alien_sk._cache import SCHEMA_VERSION, FeatureStore, NullStore, text_key
from alien_sk._docstring import (
    Substitution,
    _batch_size_docstring,
    _cache_dir_docstring,
)
from alien_sk._utils import (
    PREFIX_SPACE_TYPES,
    resolve_device,
    user_stacklevel,
    words_as_in_text,
)
from alien_sk.exceptions import AlienSkWarning, TruncationWarning

__all__ = ["FeatureExtractor"]

# model_type -> (is decoder, final linear layer for sequence classification,
# final linear layer for token classification). Read from the transformers
# sources (4.56 and 5.x agree): *ForSequenceClassification /
# *ForTokenClassification. RoBERTa-like heads (dense, tanh, out_proj) end in
# ``classifier.out_proj``; DeBERTa's ContextPooler and ModernBERT's
# prediction head (CLS or mean pooling, then dense and norm) come before a
# ``classifier``; the decoders' Generic*Classification heads are ``score``.
_FAMILIES = {
    "albert": (False, "classifier", "classifier"),
    "bert": (False, "classifier", "classifier"),
    "camembert": (False, "classifier.out_proj", "classifier"),
    "deberta-v2": (False, "classifier", "classifier"),
    "distilbert": (False, "classifier", "classifier"),
    "electra": (False, "classifier.out_proj", "classifier"),
    "modernbert": (False, "classifier", "classifier"),
    "mpnet": (False, "classifier.out_proj", "classifier"),
    "roberta": (False, "classifier.out_proj", "classifier"),
    "xlm-roberta": (False, "classifier.out_proj", "classifier"),
    "gemma": (True, "score", "score"),
    "gpt2": (True, "score", "classifier"),
    "llama": (True, "score", "score"),
    "mistral": (True, "score", "score"),
    "phi3": (True, "score", "score"),
    "qwen2": (True, "score", "score"),
    "qwen3": (True, "score", "score"),
}
# model types that number positions from padding_idx + 1 (RoBERTa style):
# the largest position index of a text of T tokens is T + padding_idx, where
# padding_idx is config.pad_token_id (None here), or fixed by the model
# (MPNet's embeddings use 1 whatever the config says)
_PADDING_IDX_POSITIONS = {
    "roberta": None,
    "xlm-roberta": None,
    "camembert": None,
    "mpnet": 1,
}


def _position_limit(config):
    """Most tokens a text may have for the model's position embeddings.

    ``max_position_embeddings``, less ``padding_idx + 1`` for the model
    types of :data:`_PADDING_IDX_POSITIONS` (``pad_token_id``, or MPNet's
    fixed 1); None when the config has no such limit. Shared by
    :class:`FeatureExtractor` and :func:`~alien_sk.finetune.fine_tune`.
    """
    max_pos = getattr(config, "max_position_embeddings", None)
    if not max_pos:
        return None
    limit = int(max_pos)
    if config.model_type in _PADDING_IDX_POSITIONS:
        pad = _PADDING_IDX_POSITIONS[config.model_type]
        if pad is None:
            pad = getattr(config, "pad_token_id", None)
        limit -= (1 if pad is None else int(pad)) + 1
    return limit


_DTYPES = {"float32", "float16", "bfloat16"}
# rows accumulated before a cache shard is written
_FLUSH_ROWS = 1024
# texts tokenized per tokenizer call: only compact ids are kept between
# calls, so memory does not grow with the tokenizer's per-text objects
_TOKENIZE_CHUNK = 2048
# how decoders' sequence rows are pooled; part of their cache namespace
# (alien_sk 0.1 read the last attended token, even a trailing pad_token_id)
_DECODER_POOLING = "last_non_pad_token"
_STRING_EXPECTED = "Iterable over raw text documents expected, string object received."

_device_docstring = """device : {"auto", "cpu", "cuda", "mps"} or str, default="auto"
        Torch device of the model. ``"auto"`` picks CUDA when present (then
        MPS, else the CPU). Resolved when the model is loaded, into
        ``device_``."""


def _sha256_tensors(model):
    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        t = t.reshape(-1).contiguous().cpu()
        if t.numel():
            h.update(t.view(torch.uint8).numpy().data)
    return h


def _config_json(model):
    """The model config's output-relevant settings, as canonical JSON."""
    cfg = model.config.to_dict()
    for key in list(cfg):
        if key.startswith("_") or key in (
            "transformers_version",
            "architectures",
            "dtype",
            "torch_dtype",
        ):
            cfg.pop(key)
    return json.dumps(cfg, sort_keys=True, default=str)


def _model_fingerprint(model):
    """sha256 of the model's weights and of the output-relevant config."""
    h = _sha256_tensors(model)
    h.update(_config_json(model).encode())
    return h.hexdigest()


def _odd_buffer_dtypes(model):
    """Buffers outside the ``state_dict`` kept in another floating dtype.

    ``from_pretrained(dtype=torch.bfloat16)`` keeps rotary ``inv_freq`` in
    float32 where ``model.to(torch.bfloat16)`` casts it, and the two compute
    different rows from the same weights. ``"name|dtype,..."``, or ``""``
    when every such buffer has the parameters' dtype (float32 models); part
    of the cache namespace only when not empty, so that other namespaces,
    and the weights fingerprint a saved predictor is checked against, stay
    as they were.
    """
    param_dtype = next(model.parameters()).dtype
    persistent = set(model.state_dict())
    return ",".join(
        sorted(
            f"{name}|{b.dtype}"
            for name, b in model.named_buffers()
            if name not in persistent
            and b.is_floating_point()
            and b.dtype != param_dtype
        )
    )


def _tokenizer_fingerprint(tokenizer, legacy=False):
    """sha256 of the tokenizer's full definition (vocabulary, rules, specials).

    ``legacy=True`` leaves out the settings of :data:`_TOKENIZER_SETTINGS`,
    as alien_sk 0.1.0 before they were added did: objects fitted or saved
    then keep their fingerprint (and their cache).
    """
    h = hashlib.sha256(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = json.loads(backend.to_str())
        # truncation/padding are runtime state left by earlier calls
        definition.pop("truncation", None)
        definition.pop("padding", None)
        h.update(json.dumps(definition, sort_keys=True).encode())
    else:  # python ("slow") tokenizers: the vocabulary and the arguments
        h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
        if not legacy:
            # their normalisation lives in the arguments (strip_accents,
            # never_split, sp_model_kwargs, ...); file paths are not rules
            kwargs = {
                k: v
                for k, v in tokenizer.init_kwargs.items()
                if not (k.endswith("_file") or k in ("name_or_path", "backend"))
            }
            h.update(json.dumps(kwargs, sort_keys=True, default=repr).encode())
    specials = {
        k: str(v)
        for k, v in sorted(getattr(tokenizer, "special_tokens_map", {}).items())
    }
    h.update(json.dumps(specials, sort_keys=True).encode())
    if legacy:
        return h.hexdigest()
    # settings held by the Python object, outside the backend's definition,
    # that change the ids fed to the model
    settings = {
        name: repr(getattr(tokenizer, name, None)) for name in _TOKENIZER_SETTINGS
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


_TOKENIZER_SETTINGS = (
    "truncation_side",
    "padding_side",
    "split_special_tokens",
    "add_prefix_space",
    "add_bos_token",
    "add_eos_token",
    "do_lower_case",
)


def _same_tokenizer(tokenizer, fingerprint):
    """Whether ``tokenizer`` has ``fingerprint`` (current or legacy form)."""
    return fingerprint in (
        _tokenizer_fingerprint(tokenizer),
        _tokenizer_fingerprint(tokenizer, legacy=True),
    )


_LOAD_LOCK = threading.Lock()
# fit's layout and fingerprints of model folders, keyed by
# FeatureExtractor._memo_key (loading parameters, file sizes and times):
# clones fitted again in a grid search skip loading and hashing the model
_FIT_MEMO = {}
_FIT_MEMO_SIZE = 32
_FIT_MEMO_LOCK = threading.Lock()
_MODEL_LOCKS = weakref.WeakKeyDictionary()
_MODEL_LOCKS_GUARD = threading.Lock()


def _model_lock(model):
    """The lock held while a model runs (one per model object).

    A run registers hooks on the model's final layer, whose every call feeds
    every registered hook, and may set a decoder config's ``pad_token_id``
    for the time of the run: two runs of one model at once, from two threads
    (or two extractors sharing a model object), would read each other's rows.
    """
    with _MODEL_LOCKS_GUARD:
        lock = _MODEL_LOCKS.get(model)
        if lock is None:
            lock = _MODEL_LOCKS[model] = threading.RLock()
        return lock


def _module_state(model):
    """Cheap witness of in-place changes: train mode, parameters and config.

    torch bumps a tensor's ``_version`` on every in-place change (an optimizer
    step, ``mul_``, ``copy_``, ``load_state_dict``); replacing a parameter
    changes its identity; ``half()`` or ``to()`` change the dtype, device or
    storage. Buffers are left out: some models update caches
    held in buffers (e.g. rotary embeddings) during an eval forward. The
    config is part of the cache key too (``config.pad_token_id`` decides a
    decoder's pooled token, for one).
    """
    return (
        any(m.training for m in model.modules()),
        tuple(
            (id(p), p._version, p.dtype, p.device, p.data_ptr())
            for p in model.parameters()
        ),
        _config_json(model),
    )


def _check_encodable(text, where):
    """Tokenizers need valid Unicode: a lone surrogate has no UTF-8 form."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{where} is not valid Unicode: {e.reason} at character {e.start} "
            f"({text[e.start]!r}); decode the source text with errors='replace'."
        ) from None


def _check_task(model, level, saved_as=True):
    """Refuse a token classifier at sequence level, and the reverse.

    Both share the final layer's name in several families, and a decoder's
    token classifier even yields a plausible last-token row, so the class
    name (``...ForTokenClassification``), or the one in
    ``config.architectures``, is the reliable signal.
    """
    kinds = {"sequence": "SequenceClassification", "token": "TokenClassification"}
    other = "token" if level == "sequence" else "sequence"
    # the class, and for a folder loaded here the class it was saved as
    # (loading a token classifier's folder with AutoModelForSequence-
    # Classification converts it silently); a model object's own class is
    # what it is, whatever checkpoint it started from
    saved = (getattr(model.config, "architectures", None) or []) if saved_as else []
    for name in [type(model).__name__, *saved]:
        if name.endswith("For" + kinds[other]):
            raise ValueError(
                f"{name} is a {other} classification model, but level={level!r} "
                f"needs an AutoModelFor{kinds[level]} model; use level={other!r}."
            )


def _resolve_submodule(model, dotted):
    module = model
    for part in dotted.split("."):
        module = getattr(module, part, None)
        if module is None:
            return None
    return module


def _config_pad_token_id(model):
    """The ``pad_token_id`` of the model's (text) config, or None."""
    cfg = model.config
    if hasattr(cfg, "get_text_config"):
        cfg = cfg.get_text_config()
    pad = getattr(cfg, "pad_token_id", None)
    if isinstance(pad, (list, tuple)):
        pad = pad[0] if pad else None
    return None if pad is None else int(pad)


def _pooled_positions(input_ids, attention_mask, pad_token_id):
    """Position of the token a decoder's sequence classifier reads, per row.

    transformers' ``*ForSequenceClassification`` decoders pool at the
    rightmost token whose id is not ``config.pad_token_id`` (position 0 when
    every token is that id), and at the last token when the config has no
    pad token. This applies that rule to each text as if it were alone and
    unpadded: only tokens whose ``attention_mask`` is 1 count, so a batch
    padded on either side with any id gives each text's own position.

    Parameters
    ----------
    input_ids : torch.Tensor of shape (batch, seq_len)
    attention_mask : torch.Tensor of shape (batch, seq_len) or None
        None: no padding.
    pad_token_id : int or None
        The model config's ``pad_token_id`` (not a pad id set only to batch).

    Returns
    -------
    positions : torch.Tensor of shape (batch,), int64
    """
    import torch

    if attention_mask is None:
        attended = torch.ones_like(input_ids, dtype=torch.bool)
    else:
        attended = attention_mask.to(input_ids.device).bool()
    real = attended if pad_token_id is None else attended & (input_ids != pad_token_id)
    ar = torch.arange(input_ids.shape[1], device=input_ids.device)
    last = (ar * real).argmax(dim=1)
    # no such token: the text's first token, as transformers' argmax gives
    first = attended.int().argmax(dim=1)
    return torch.where(real.any(dim=1), last, first)


def _rope_switch_length(model):
    """Length above which the model's rotary frequencies change, or None.

    Long-context Phi-3 models ("longrope" rotary embeddings) use their long
    factors for a whole batch once its longest text (its largest position
    id) exceeds ``original_max_position_embeddings``, and their short factors
    otherwise: a short text batched with a longer one would get other rows
    than alone. Batches therefore never mix texts from both sides of this
    length.
    """
    cfg = model.config
    if hasattr(cfg, "get_text_config"):
        cfg = cfg.get_text_config()
    # transformers 5: rope_parameters; transformers 4: rope_scaling
    params = getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None)
    if not isinstance(params, dict):
        return None
    if params.get("rope_type", params.get("type")) != "longrope":
        return None
    limit = params.get("original_max_position_embeddings") or getattr(
        cfg, "original_max_position_embeddings", None
    )
    if limit is None:
        limit = getattr(cfg, "max_position_embeddings", None)
    return None if limit is None else int(limit)


def _compact(values, n):
    """``n`` integers as an array of the smallest of uint8, uint16, int32."""
    flat = np.fromiter(values, np.int32, count=n)
    if n and flat.min() >= 0:
        top = flat.max()
        if top < 2**8:
            return flat.astype(np.uint8)
        if top < 2**16:
            return flat.astype(np.uint16)
    return flat


class _Encoded:
    """Token ids of many texts, compactly: one flat array and offsets.

    Attributes
    ----------
    ids : ndarray of shape (n_tokens,), uint8, uint16 or int32
        The ``input_ids`` of every text, one after the other.
    types : ndarray of shape (n_tokens,) or None
        The ``token_type_ids``, where the tokenizer returns them.
    offsets : ndarray of shape (n_texts + 1,), int64
        Text ``i``'s tokens are ``ids[offsets[i]:offsets[i + 1]]``.
    truncated : ndarray of shape (n_texts,), bool
        Whether the text was cut at ``max_length``.
    word_pos : list of ndarray or None
        At token level, the first token of each word (-1: none).
    """

    __slots__ = ("ids", "types", "offsets", "truncated", "word_pos")

    def __init__(self, ids, types, offsets, truncated, word_pos):
        self.ids = ids
        self.types = types
        self.offsets = offsets
        self.truncated = truncated
        self.word_pos = word_pos

    @property
    def lengths(self):
        """Number of tokens of each text."""
        return np.diff(self.offsets)


@Substitution(
    batch_size=_batch_size_docstring,
    cache_dir=_cache_dir_docstring,
    device=_device_docstring,
)
class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Run a transformers classifier once per text: ``[logits | embedding]``.

    The features of a text are the classifier's logits (in ``id2label``
    order) followed by its *penultimate embedding*, the input of the final
    ``nn.Linear`` that produces the logits: ``classifier`` for BERT,
    DistilBERT, ALBERT, DeBERTa-v2/v3 (after its ContextPooler) and
    ModernBERT (after its pooling and prediction head);
    ``classifier.out_proj`` for RoBERTa, XLM-RoBERTa, CamemBERT, MPNet and
    ELECTRA; ``score`` for GPT-2, Llama, Mistral, Gemma, Phi-3, Qwen2 and
    Qwen3 (at token level ``classifier`` for every encoder and GPT-2). Other
    model types raise a ``ValueError``. For decoders both are read where the
    model's own sequence classifier reads them: at the last token whose id is
    not ``config.pad_token_id`` (at the last token when the config has no pad
    token). Hence ``embedding @ W.T + b`` equals the logits, and the logits
    equal ``model(**tokenizer(text, return_tensors="pt")).logits``.

    Texts are tokenized once, sorted by length and run in batches padded to
    the longest text of the batch (``torch.inference_mode``, eval mode); the
    output is in input order. A text's row does not depend on the other texts
    of its batch (up to float rounding: ~1e-6 in float32, 1e-3 to 1e-2 in
    bfloat16), so rows are cached per text on disk when ``cache_dir`` is
    set: a later ``transform`` (in this process or another one) runs the model
    only on texts it has not seen with this model and these settings.

    Read more in the :ref:`User Guide <feature_extraction>`.

    Parameters
    ----------
    model : str, path-like or transformers.PreTrainedModel
        A local folder (or a model name already in the Hugging Face cache),
        loaded with ``AutoModelForSequenceClassification`` (or
        ``AutoModelForTokenClassification`` when ``level="token"``), or an
        already-loaded model, which then needs ``tokenizer``. A loaded model
        is used as is when it is already in eval mode on ``device`` with
        ``dtype``; otherwise a copy is moved, so the object passed is never
        modified. A model used as is must not change after ``fit``: the cache
        is keyed by the weights seen at ``fit``, so ``transform`` raises a
        ``ValueError`` once the model's weights were changed in place or it
        was switched to train mode (fit again to extract with the new
        weights).
    tokenizer : str, path-like, transformers tokenizer or None, default=None
        The tokenizer, or where to load it from; None loads it from
        ``model``'s folder. Fast (Rust-backed) tokenizers are required for
        ``level="token"``.
    max_length : int, default=None
        Texts longer than this many tokens (special tokens included) are
        truncated, with one :class:`~alien_sk.exceptions.TruncationWarning`
        per ``transform`` that counts them. The warning counts the texts run
        through the model only: a truncated text whose row is served from
        ``cache_dir`` is not counted again. It must exceed the number of
        special tokens the tokenizer adds to every text
        (``tokenizer.num_special_tokens_to_add()``), else ``fit`` raises a
        ``ValueError``. None uses
        ``min(max_position_embeddings, tokenizer.model_max_length)``, where
        RoBERTa, XLM-RoBERTa and CamemBERT, whose positions start after
        ``pad_token_id``, have ``max_position_embeddings - pad_token_id - 1``
        positions (MPNet, whose positions start at 2,
        ``max_position_embeddings - 2``). A larger value raises a
        ``ValueError`` at ``fit``.
    {batch_size}
    level : {{"sequence", "token"}}, default="sequence"
        ``"sequence"``: ``X`` is a list of texts, one row per text.
        ``"token"``: ``X`` is a list of pre-split word lists and the model a
        token classifier; one row per word, read at its first sub-token, in
        sentence order (see :meth:`sentence_index`). A word cut off by
        ``max_length`` gets a row of NaN (and the truncation warning), and
        so does a word the tokenizer maps to no token at all, such as a lone
        soft hyphen (with an :class:`~alien_sk.exceptions.AlienSkWarning`
        naming it; like the truncation warning, it counts the sentences run
        through the model, not those served from the cache).
    {device}
    dtype : {{"float32", "float16", "bfloat16", "auto"}} or None, default=None
        Precision of the model. None: float32 when loading from a folder and
        the model's own dtype for a loaded model; ``"auto"``: the dtype stored
        in the checkpoint. The features are always returned as float32.
    {cache_dir}
    progress_bar : bool or "auto", default="auto"
        Show a tqdm progress bar over the texts the model runs on. ``"auto"``
        shows it only when standard error is a terminal.
    local_files_only : bool, default=True
        Passed to ``from_pretrained``: True never touches the network.

    Attributes
    ----------
    n_logits_ : int
        Number of logits (the model's ``num_labels``).
    embedding_dim_ : int
        Width of the penultimate embedding.
    n_features_out_ : int
        ``n_logits_ + embedding_dim_``.
    classes_ : ndarray of shape (n_logits_,)
        The model's labels (``config.id2label``) in logit order.
    model_fingerprint_ : str
        sha256 of the model's weights and configuration.
    tokenizer_fingerprint_ : str
        sha256 of the tokenizer's definition.
    model_type_ : str
        ``config.model_type`` (the architecture family).
    layer_ : str
        Name of the final linear layer whose input is the embedding.
    max_length_ : int
        The maximum number of tokens per text actually used.
    padding_side_ : {{"left", "right"}}
        Padding side of the batches (right for encoders; the tokenizer's
        for decoders, whose ``position_ids`` follow the attention mask).
    dtype_ : str
        The model's parameter dtype, e.g. ``"torch.float32"``.
    device_ : torch.device
        The device the model runs on.

    See Also
    --------
    alien_sk.AlienUncertaintyEstimator : Uncertainty head fitted on these features.

    Notes
    -----
    The model and tokenizer are loaded in :meth:`fit` (or, after unpickling,
    on the first :meth:`transform` that needs the model) and are not pickled:
    ``clone``, ``joblib.dump`` and ``GridSearchCV(n_jobs=...)`` workers reload
    them lazily. A reloaded model whose fingerprint differs from
    ``model_fingerprint_`` raises a ``ValueError``.

    Decoder tokenizers without a pad token are padded with the EOS (else
    BOS) token id; the padding itself never changes a row (positions and the
    pooled token follow the attention mask). A text that tokenizes to no
    token at all (an empty string for GPT-2) is fed as one token: the BOS
    token, else the EOS token, else the pad token.

    ``fit`` decides what ``transform`` uses: changing ``level`` or
    ``cache_dir`` with ``set_params`` after ``fit`` makes ``transform`` raise
    a ``ValueError`` until ``fit`` is called again. Changes of the other
    loading parameters (``model``, ``tokenizer``, ``max_length``, ``dtype``)
    take effect at the next ``fit``, as in scikit-learn: until then
    ``transform`` uses the fitted model and ``max_length_``.

    Examples
    --------
    >>> import os, tempfile
    >>> import transformers as tf
    >>> from alien_sk import FeatureExtractor
    >>> folder = tempfile.mkdtemp()
    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie"]
    >>> with open(os.path.join(folder, "vocab.txt"), "w") as f:
    ...     _ = f.write("\\n".join(vocab))
    >>> tok = tf.BertTokenizerFast(os.path.join(folder, "vocab.txt"))
    >>> cfg = tf.BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1,
    ...     num_attention_heads=2, intermediate_size=16, num_labels=2)
    >>> _ = tf.BertForSequenceClassification(cfg).save_pretrained(folder)
    >>> _ = tok.save_pretrained(folder)
    >>> fe = FeatureExtractor(folder, progress_bar=False, device="cpu")
    >>> X = fe.fit_transform(["good movie", "bad movie", ""])
    >>> X.shape, X.dtype
    ((3, 10), dtype('float32'))
    >>> fe.get_feature_names_out()[:3].tolist()
    ['logit_LABEL_0', 'logit_LABEL_1', 'emb_0']
    """

    _parameter_constraints: dict = {
        "model": [str, os.PathLike, HasMethods(["forward", "state_dict"])],
        "tokenizer": [None, str, os.PathLike, callable],
        "max_length": [None, Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "level": [StrOptions({"sequence", "token"})],
        "device": [str],
        "dtype": [None, StrOptions(_DTYPES | {"auto"})],
        "cache_dir": [None, str, os.PathLike],
        "progress_bar": ["boolean", StrOptions({"auto"})],
        "local_files_only": ["boolean"],
    }

    def __init__(
        self,
        model,
        *,
        tokenizer=None,
        max_length=None,
        batch_size=32,
        level="sequence",
        device="auto",
        dtype=None,
        cache_dir=None,
        progress_bar="auto",
        local_files_only=True,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.level = level
        self.device = device
        self.dtype = dtype
        self.cache_dir = cache_dir
        self.progress_bar = progress_bar
        self.local_files_only = local_files_only

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        for key in ("_model", "_tokenizer", "_store", "_head"):
            state.pop(key, None)
        return state

    # -- input validation --------------------------------------------------------
    def _check_texts(self, X):
        """Return ``X`` as a list of str (or of word lists at token level)."""
        if isinstance(X, (str, bytes)):
            raise ValueError(_STRING_EXPECTED)
        if X is None:
            raise TypeError(
                "X is None; FeatureExtractor expects a list of texts"
                + (" (pre-split word lists)." if self.level == "token" else ".")
            )
        if hasattr(X, "columns"):
            raise ValueError(
                "X is a 2-D table; pass one column of texts (a list or a pandas "
                "Series), e.g. df['text']."
            )
        if isinstance(X, np.ndarray) and X.ndim != 1 and self.level == "sequence":
            raise ValueError(
                f"X must be a 1-D sequence of texts; got an array of shape {X.shape}."
            )
        try:
            texts = list(X.tolist() if hasattr(X, "tolist") else X)
        except TypeError as e:
            raise TypeError(
                f"X must be an iterable of texts; got {type(X).__name__}."
            ) from e
        if not texts:
            raise ValueError("X is empty: FeatureExtractor needs at least one text.")
        if self.level == "sequence":
            for i, t in enumerate(texts):
                if not isinstance(t, str):
                    raise TypeError(self._bad_entry(f"X[{i}]", t, "a string"))
                _check_encodable(t, f"X[{i}]")
            return texts
        out = []
        for i, words in enumerate(texts):
            if isinstance(words, str):
                raise TypeError(
                    f"X[{i}] is a string; level='token' expects a list of pre-split "
                    "word lists, e.g. [['New', 'York'], ['Hi']]."
                )
            if words is None or not hasattr(words, "__iter__"):
                raise TypeError(self._bad_entry(f"X[{i}]", words, "a list of words"))
            words = list(words)
            for j, w in enumerate(words):
                if not isinstance(w, str):
                    raise TypeError(self._bad_entry(f"X[{i}][{j}]", w, "a string"))
                if not w.strip():
                    raise ValueError(
                        f"X[{i}][{j}] is an empty or blank word ({w!r}); words must "
                        "hold at least one visible character."
                    )
                _check_encodable(w, f"X[{i}][{j}]")
            out.append(words)
        return out

    @staticmethod
    def _bad_entry(where, value, expected):
        if value is None:
            return f"{where} is None; every entry must be {expected} (missing text?)."
        if isinstance(value, float) and value != value:
            return f"{where} is NaN; every entry must be {expected} (missing text?)."
        kind = type(value).__name__
        return f"{where} is of type {kind}; every entry must be {expected}."

    # -- loading -----------------------------------------------------------------
    def _load_model(self):
        """Load model and tokenizer; the only place touching ``transformers.Auto*``.

        Returns
        -------
        model, tokenizer
        complete : bool
            False when weights were missing from the checkpoint (randomly
            initialised, so that the model differs at every load).
        """
        import torch
        import transformers

        token = self.level == "token"
        auto = (
            transformers.AutoModelForTokenClassification
            if token
            else transformers.AutoModelForSequenceClassification
        )
        device = resolve_device(self.device)
        target_dtype = (
            None if self.dtype in (None, "auto") else getattr(torch, self.dtype)
        )

        if isinstance(self.model, (str, os.PathLike)):
            path = os.fspath(self.model)
            if (os.path.isabs(path) or path.startswith(".")) and not os.path.isdir(
                path
            ):
                raise ValueError(
                    f"model={path!r} does not exist or is not a folder; pass the "
                    "folder of a saved transformers classifier."
                )
            try:
                config = transformers.AutoConfig.from_pretrained(
                    path, local_files_only=self.local_files_only
                )
            except (OSError, ValueError) as e:
                raise ValueError(
                    f"could not load a transformers config from model={path!r} "
                    f"(local_files_only={self.local_files_only}): {e}"
                ) from e
            self._check_family(config.model_type)
            load_dtype = (
                "auto" if self.dtype == "auto" else (target_dtype or torch.float32)
            )
            hf_logging = transformers.utils.logging
            quiet = not self._show_progress() and hf_logging.is_progress_bar_enabled()
            if quiet:  # transformers' own "Loading weights" bar
                hf_logging.disable_progress_bar()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    model, loading = auto.from_pretrained(
                        path,
                        local_files_only=self.local_files_only,
                        dtype=load_dtype,
                        output_loading_info=True,
                    )
            finally:
                if quiet:
                    hf_logging.enable_progress_bar()
            complete = not loading.get("missing_keys")
            if not complete:
                warnings.warn(
                    f"{len(loading['missing_keys'])} weights of {path!r} were not in "
                    f"the checkpoint and are randomly initialised (e.g. "
                    f"{sorted(loading['missing_keys'])[0]}): the classifier is not "
                    "fine-tuned, its logits are noise, and the weights fingerprint "
                    "changes at every load. Fine-tune and save it first.",
                    AlienSkWarning,
                    stacklevel=user_stacklevel(),
                )
            model = model.to(device).eval()
            tok_source = path if self.tokenizer is None else self.tokenizer
        else:
            model = self.model
            complete = True
            if self.tokenizer is None:
                raise ValueError(
                    "tokenizer is required when model is an already-loaded "
                    f"{type(model).__name__}; pass the tokenizer (or its folder)."
                )
            self._check_family(model.config.model_type)
            param = next(model.parameters())
            same_device = param.device.type == device.type and (
                device.index is None or device.index == param.device.index
            )
            if (
                model.training
                or not same_device
                or (target_dtype is not None and param.dtype != target_dtype)
            ):
                model = copy.deepcopy(model)
                if target_dtype is not None:
                    model = model.to(target_dtype)
                model = model.to(device).eval()
            tok_source = self.tokenizer

        if isinstance(tok_source, (str, os.PathLike)):
            kwargs = {}
            if token and model.config.model_type in PREFIX_SPACE_TYPES:
                kwargs["add_prefix_space"] = True
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    os.fspath(tok_source),
                    local_files_only=self.local_files_only,
                    **kwargs,
                )
            except (OSError, ValueError) as e:
                raise ValueError(
                    f"could not load a tokenizer from {os.fspath(tok_source)!r} "
                    f"(local_files_only={self.local_files_only}): {e}"
                ) from e
        else:
            # calling a fast tokenizer changes its backend's truncation state:
            # work on a copy so that the object passed is never modified
            tokenizer = copy.deepcopy(tok_source)
        if token and not getattr(tokenizer, "is_fast", False):
            raise ValueError(
                "level='token' needs a fast (Rust-backed) tokenizer to map sub-tokens "
                f"to words; got {type(tokenizer).__name__}."
            )
        if token and model.config.model_type in PREFIX_SPACE_TYPES:
            # byte-level BPE: a word inside a sentence is " word"; word lists
            # are tokenized so only with add_prefix_space=True (otherwise
            # transformers 5 drops the space; 4 raises for GPT-2/RoBERTa)
            if not words_as_in_text(tokenizer):
                raise ValueError(
                    f"level='token' with a {model.config.model_type} tokenizer needs "
                    "add_prefix_space=True: load it with AutoTokenizer."
                    "from_pretrained(path, add_prefix_space=True), or pass its "
                    "folder as tokenizer (the extractor then sets it)."
                )
        return model, tokenizer, complete

    def _show_progress(self):
        if self.progress_bar == "auto":
            return bool(getattr(sys.stderr, "isatty", lambda: False)())
        return bool(self.progress_bar)

    def _check_family(self, model_type):
        if model_type not in _FAMILIES:
            raise ValueError(
                f"FeatureExtractor does not know the final classification layer of "
                f"model_type={model_type!r}; supported model types: "
                f"{', '.join(sorted(_FAMILIES))}."
            )

    def _attach(self, model, tokenizer):
        """Set the private runtime state and return the fitted attributes."""
        import torch

        model_type = model.config.model_type
        _check_task(
            model, self.level, saved_as=isinstance(self.model, (str, os.PathLike))
        )
        decoder, seq_layer, tok_layer = _FAMILIES[model_type]
        layer = tok_layer if self.level == "token" else seq_layer
        head = _resolve_submodule(model, layer)
        num_labels = model.config.num_labels
        if not isinstance(head, torch.nn.Linear) or head.out_features != num_labels:
            raise ValueError(
                f"expected {type(model).__name__}.{layer} to be the final nn.Linear "
                f"with {num_labels} outputs; found {type(head).__name__}. Is this a "
                f"{'token' if self.level == 'token' else 'sequence'} classification "
                "model?"
            )
        embeddings = model.get_input_embeddings()
        n_ids = getattr(embeddings, "num_embeddings", None)
        if n_ids is not None and len(tokenizer) > n_ids:
            # its last ids would index past the embedding table, at transform
            raise ValueError(
                f"the tokenizer ({type(tokenizer).__name__}) has {len(tokenizer)} "
                f"tokens but the model's input embeddings only {n_ids}: is it the "
                "model's own tokenizer?"
            )
        id2label = getattr(model.config, "id2label", None) or {}
        classes = np.asarray([str(id2label.get(i, i)) for i in range(num_labels)])

        limit = _position_limit(model.config)
        tok_max = getattr(tokenizer, "model_max_length", None)
        if tok_max is not None and tok_max < 10**9:
            limit = int(tok_max) if limit is None else min(limit, int(tok_max))
        if self.max_length is None:
            if limit is None:
                raise ValueError(
                    "cannot tell the model's maximum length; set max_length."
                )
            max_length = limit
        else:
            if limit is not None and self.max_length > limit:
                raise ValueError(
                    f"max_length={self.max_length} exceeds the {limit} tokens this "
                    "model and tokenizer accept."
                )
            max_length = int(self.max_length)
        # a limit the special tokens alone fill cannot be honoured: the
        # tokenizer then leaves every text untruncated, and long ones crash
        n_special = int(tokenizer.num_special_tokens_to_add())
        if max_length <= n_special:
            raise ValueError(
                f"max_length={max_length} leaves no room for text: the tokenizer "
                f"adds {n_special} special tokens to every text; use "
                f"max_length >= {n_special + 1}."
            )

        pad_id = tokenizer.pad_token_id
        for candidate in (tokenizer.eos_token_id, tokenizer.bos_token_id, 0):
            if pad_id is None:
                pad_id = candidate
        empty_id = tokenizer.bos_token_id
        if empty_id is None:
            empty_id = (
                tokenizer.eos_token_id if tokenizer.eos_token_id is not None else pad_id
            )

        self._model = model
        # the caller's own model object (not a copy): watched for changes
        self._shared_state = _module_state(model) if model is self.model else None
        self._tokenizer = tokenizer
        self._head = head
        self._decoder = decoder
        # only to a model whose forward names them: on transformers 4,
        # DistilBERT and ModernBERT fail on those a BERT tokenizer returns
        self._token_types = (
            "token_type_ids" in inspect.signature(model.forward).parameters
        )
        self._pad_id = int(pad_id)
        self._empty_id = int(empty_id)
        return {
            "n_logits_": int(num_labels),
            "embedding_dim_": int(head.in_features),
            "n_features_out_": int(num_labels + head.in_features),
            "classes_": classes,
            "model_type_": model_type,
            "layer_": layer,
            "max_length_": max_length,
            "padding_side_": (tokenizer.padding_side if decoder else "right"),
            "dtype_": str(next(model.parameters()).dtype),
            "device_": next(model.parameters()).device,
        }

    def _ensure_model(self):
        """Reload the model after unpickling, checking it is the fitted one."""
        if getattr(self, "_model", None) is not None:
            return
        with _LOAD_LOCK:  # threads calling transform load it once
            if getattr(self, "_model", None) is None:
                self._reload_model()

    def _reload_model(self):
        model, tokenizer, _ = self._load_model()
        fingerprint = _model_fingerprint(model)
        if fingerprint != self.model_fingerprint_:
            with _FIT_MEMO_LOCK:  # a refit must load, not reuse this layout
                _FIT_MEMO.clear()
            raise ValueError(
                f"the model loaded from {self.model!r} differs from the one this "
                "FeatureExtractor was fitted with (weights fingerprint "
                f"{fingerprint[:12]} != {self.model_fingerprint_[:12]}); fit it again."
            )
        if not _same_tokenizer(tokenizer, self.tokenizer_fingerprint_):
            with _FIT_MEMO_LOCK:
                _FIT_MEMO.clear()
            raise ValueError(
                f"the tokenizer loaded for {self.model!r} differs from the one this "
                "FeatureExtractor was fitted with (tokenizer fingerprint "
                f"{_tokenizer_fingerprint(tokenizer)[:12]} != "
                f"{self.tokenizer_fingerprint_[:12]}); fit it again."
            )
        fitted = self._attach(model, tokenizer)
        self.device_ = fitted["device_"]

    # -- fit / transform -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Load the model and tokenizer and read the feature layout.

        A model given as a folder is loaded once per process for a given set
        of files and loading parameters: fitting an identical extractor again
        (a clone, as ``GridSearchCV`` fits one per candidate and fold), while
        the folder's files keep their sizes and modification times, reuses
        the layout and fingerprints read the first time, and the model is
        loaded only by a ``transform`` that has texts to compute (none when
        the cache holds them all), then checked against those fingerprints.

        Parameters
        ----------
        X : list of str, or list of list of str, default=None
            Texts (word lists at token level); only validated, the model is
            not run.
        y : None
            Ignored.

        Returns
        -------
        self : FeatureExtractor
            Fitted extractor.
        """
        if X is not None:
            self._check_texts(X)
        key = self._memo_key()
        with _FIT_MEMO_LOCK:
            fitted = _FIT_MEMO.pop(key, None) if key is not None else None
            if fitted is not None:
                _FIT_MEMO[key] = fitted  # most recently used last
        if fitted is None:
            model, tokenizer, complete = self._load_model()
            fitted = self._attach(model, tokenizer)
            fitted["model_fingerprint_"] = _model_fingerprint(model)
            fitted["tokenizer_fingerprint_"] = _tokenizer_fingerprint(tokenizer)
            fitted["_buffer_dtypes"] = _odd_buffer_dtypes(model)
            if key is not None and complete:
                with _FIT_MEMO_LOCK:
                    _FIT_MEMO[key] = fitted
                    while len(_FIT_MEMO) > _FIT_MEMO_SIZE:
                        del _FIT_MEMO[next(iter(_FIT_MEMO))]
        else:
            # the model loads lazily (_ensure_model), checked against these
            self._model = self._tokenizer = self._head = self._shared_state = None
        for name, value in fitted.items():
            setattr(self, name, copy.copy(value))
        self._fit_settings = self._settings()
        self._store = None
        return self

    def _memo_key(self):
        """Key of :data:`_FIT_MEMO`: the loading parameters and the files.

        None when the model (or the tokenizer) is an object, or not a local
        folder: only folders can be watched for changes.
        """
        sources = [self.model]
        if self.tokenizer is not None:
            sources.append(self.tokenizer)
        files = []
        for source in sources:
            if not isinstance(source, (str, os.PathLike)):
                return None
            folder = os.path.realpath(os.fspath(source))
            if not os.path.isdir(folder):
                return None
            for root, _, names in os.walk(folder):
                for name in names:
                    try:
                        st = os.stat(os.path.join(root, name))
                    except OSError:
                        return None
                    rel = os.path.relpath(os.path.join(root, name), folder)
                    files.append((folder, rel, st.st_size, st.st_mtime_ns))
        try:
            device = str(resolve_device(self.device))
        except (ValueError, RuntimeError):
            return None  # _load_model raises it
        return (
            tuple(sorted(files)),
            None if self.tokenizer is None else os.fspath(self.tokenizer),
            self.level,
            self.max_length,
            self.dtype,
            device,
            self.local_files_only,
        )

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the features of ``X``: ``[logits | embedding]``.

        An iterator (e.g. a generator) is read once, then used for both
        steps.

        Parameters
        ----------
        X : iterable of str, or of list of str
            Texts; at ``level="token"``, pre-split word lists.
        y : None
            Ignored.
        **fit_params : dict
            Passed to :meth:`fit` (none is used).

        Returns
        -------
        X_new : ndarray of shape (n_rows, n_logits_ + embedding_dim_)
            As :meth:`transform`.
        """
        if isinstance(X, Iterator):  # fit would exhaust it
            X = list(X)
        return self.fit(X, y, **fit_params).transform(X)

    def _settings(self):
        """The parameters read after ``fit`` whose change needs a new ``fit``."""
        cache_dir = self.cache_dir
        return {
            "level": self.level,
            "cache_dir": None if cache_dir is None else os.fspath(cache_dir),
        }

    def _check_settings(self):
        """Refuse to mix the fitted state with ``level``/``cache_dir`` set since.

        The model class, its final layer and the cache store are chosen by
        ``fit``: reading the new value of either parameter next to them would
        serve rows of the wrong layer or write to the old folder.
        """
        fitted = getattr(self, "_fit_settings", None)
        if fitted is None:  # fitted before these settings were recorded
            return
        for name, value in self._settings().items():
            if value != fitted[name]:
                raise ValueError(
                    f"this FeatureExtractor was fitted with {name}="
                    f"{fitted[name]!r}, but {name} is now {value!r} (changed with "
                    "set_params after fit); call fit() again to use it."
                )

    def _check_shared_model(self):
        """Refuse to serve or store rows once the caller's model has changed.

        The cache is keyed by the weights fingerprinted at ``fit``; a model
        passed as an object is used as is (not copied), so training it, or
        switching it to train mode, after ``fit`` would mix rows of two
        models under one key.
        """
        state = getattr(self, "_shared_state", None)
        if state is None or getattr(self, "_model", None) is not self.model:
            return
        with _model_lock(self.model):  # not while a run sets a pad id
            changed = _module_state(self.model) != state
        if changed:
            raise ValueError(
                f"the {type(self.model).__name__} passed as model changed after "
                "fit (its weights or config were modified in place, or it was "
                "switched to train mode), so the cached features no longer "
                "describe it; call fit() again (a fine-tuned model gets a new "
                "cache key)."
            )

    def _is_fitted(self):
        return hasattr(self, "model_fingerprint_")

    def _get_store(self):
        store = getattr(self, "_store", None)
        if store is not None:
            return store
        if self.cache_dir is None:
            store = NullStore()
        else:
            store = FeatureStore(self.cache_dir, self._namespace_descriptor())
        self._store = store
        return store

    def _namespace_descriptor(self):
        descriptor = {
            "schema_version": SCHEMA_VERSION,
            "model_fingerprint": self.model_fingerprint_,
            "tokenizer_fingerprint": self.tokenizer_fingerprint_,
            "model_type": self.model_type_,
            "layer": self.layer_,
            "level": self.level,
            "max_length": int(self.max_length_),
            "dtype": self.dtype_,
            "padding_side": self.padding_side_,
            "n_features": int(self.n_features_out_),
        }
        if self.level == "sequence" and _FAMILIES[self.model_type_][0]:
            # decoder rows of alien_sk 0.1 could be read at a trailing
            # pad_token_id: a namespace of their own keeps them from being
            # served (encoder namespaces, whose rows are unchanged, stay)
            descriptor["pooling"] = _DECODER_POOLING
        # (absent from objects fitted before it was added: their namespace)
        buffers = getattr(self, "_buffer_dtypes", "")
        if buffers:
            descriptor["buffer_dtypes"] = buffers
        return descriptor

    def transform(self, X):
        """Features of each text: ``[logits | embedding]``, float32.

        Cached rows are read from ``cache_dir``; the model runs only on texts
        not cached yet (each distinct text once). Calling ``transform``
        before ``fit`` fits first.

        Parameters
        ----------
        X : list of str, or list of list of str
            Texts; at ``level="token"``, pre-split word lists.

        Returns
        -------
        X_new : ndarray of shape (n_rows, n_logits_ + embedding_dim_)
            One row per text (per word at token level, see
            :meth:`sentence_index`), in input order.
        """
        if self._is_fitted():
            self._check_settings()
        texts = self._check_texts(X)
        if not self._is_fitted():
            self.fit(texts)
        self._check_shared_model()
        store = self._get_store()
        token = self.level == "token"

        keys = [text_key(t) for t in texts]
        first = {}  # key -> index of its first text
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        uniq_keys = list(first)
        uniq_texts = [texts[first[k]] for k in uniq_keys]
        n_rows = [len(t) for t in uniq_texts] if token else None
        found = store.get(uniq_keys, n_rows)
        missing = [j for j, r in enumerate(found) if r is None]
        if not token:
            # one row per distinct text, then one per text (in input order)
            uniq_rows = np.empty((len(uniq_keys), self.n_features_out_), np.float32)
            for j, rows in enumerate(found):
                if rows is not None:
                    uniq_rows[j] = rows[0]
            del found
        if missing:
            self._ensure_model()
            computed = self._compute(
                [uniq_texts[j] for j in missing], [uniq_keys[j] for j in missing], store
            )
            if not token:
                uniq_rows[missing] = computed
            else:
                for j, rows in zip(missing, computed, strict=True):
                    found[j] = rows
        if not token:
            if len(uniq_keys) == len(keys):  # no duplicates
                return uniq_rows
            for j, k in enumerate(uniq_keys):  # key -> its row in uniq_rows
                first[k] = j
            return uniq_rows[np.fromiter((first[k] for k in keys), np.int64, len(keys))]
        by_key = dict(zip(uniq_keys, found, strict=True))
        parts = [by_key[k] for k in keys]
        if not any(p.shape[0] for p in parts):
            out = np.empty((0, self.n_features_out_), dtype=np.float32)
        else:
            out = np.concatenate(parts, axis=0).astype(np.float32, copy=False)
        return self._token_frame(out, X, [p.shape[0] for p in parts])

    def _token_frame(self, out, X, n_words):
        """With ``set_output(transform="pandas")`` and a pandas input, a frame
        whose index repeats each sentence's label once per word (scikit-learn
        would reuse the input's index, one label per sentence)."""
        from sklearn.utils._set_output import _get_output_config

        index = getattr(X, "index", None)
        if (
            _get_output_config("transform", self)["dense"] != "pandas"
            or index is None
            or callable(index)  # list.index
        ):
            return out
        import pandas as pd

        return pd.DataFrame(
            out,
            index=np.repeat(np.asarray(index), n_words),
            columns=self.get_feature_names_out(),
        )

    def sentence_index(self, X):
        """Index of the text each output row of :meth:`transform` comes from.

        At ``level="token"`` the rows of sentence ``i`` are its words, so this
        is ``i`` repeated ``len(X[i])`` times; pass it as ``groups`` to
        ``GroupKFold`` to keep a sentence's words in one fold. At
        ``level="sequence"`` it is ``arange(len(X))``. The model is not run.

        Parameters
        ----------
        X : list of str, or list of list of str
            The input of :meth:`transform`.

        Returns
        -------
        index : ndarray of shape (n_rows,), int64
            Sentence index of each row.

        Examples
        --------
        >>> from alien_sk import FeatureExtractor
        >>> fe = FeatureExtractor("unused-folder", level="token")
        >>> fe.sentence_index([["New", "York"], ["Hi"], ["a", "b", "c"]]).tolist()
        [0, 0, 1, 2, 2, 2]
        """
        texts = self._check_texts(X)
        if self.level == "sequence":
            return np.arange(len(texts), dtype=np.int64)
        return np.repeat(np.arange(len(texts), dtype=np.int64), [len(t) for t in texts])

    # -- the forward passes ----------------------------------------------------------
    def _tokenize(self, texts):
        """Token ids of ``texts`` and, at token level, word maps: an ``_Encoded``.

        The tokenizer runs on :data:`_TOKENIZE_CHUNK` texts at a time and only
        flat integer arrays are kept, so memory grows with the number of
        tokens, not with the tokenizer's per-text objects. A text that
        tokenizes to no token is fed as ``_empty_id``.
        """
        tok = self._tokenizer
        token = self.level == "token"
        L = int(self.max_length_)
        kwargs = {
            "truncation": True,
            "max_length": L,
            "padding": False,
            "return_attention_mask": False,
        }
        if token:
            kwargs["is_split_into_words"] = True
        ids_parts, type_parts, length_parts, cut_parts = [], [], [], []
        word_pos = [] if token else None
        for start in range(0, len(texts), _TOKENIZE_CHUNK):
            chunk = texts[start : start + _TOKENIZE_CHUNK]
            enc = tok(chunk, **kwargs)
            ids = enc["input_ids"]
            types = enc["token_type_ids"] if "token_type_ids" in enc else None
            encodings = getattr(enc, "encodings", None)
            if encodings is not None:
                cut = [bool(e.overflowing) for e in encodings]
            else:  # python tokenizer: compare with untruncated lengths
                kw = {"is_split_into_words": True} if token else {}
                full = tok(chunk, truncation=False, padding=False, **kw)["input_ids"]
                cut = [len(f) > L for f in full]
            pos_chunk = None
            if token:
                pos_chunk = []
                for i, words in enumerate(chunk):
                    pos = np.full(len(words), -1, dtype=np.int64)
                    for t, w in enumerate(enc.word_ids(i)):
                        if w is not None and pos[w] < 0:
                            pos[w] = t
                    pos_chunk.append(pos)
            lengths = [len(row) for row in ids]
            if max(lengths) > L:
                self._cut_untruncated(ids, types, cut, pos_chunk, L)
                lengths = [len(row) for row in ids]
            if min(lengths) == 0:
                ids = [row if row else [self._empty_id] for row in ids]
                if types is not None:
                    types = [row if row else [0] for row in types]
                lengths = [len(row) for row in ids]
            n = sum(lengths)
            ids_parts.append(_compact(itertools.chain.from_iterable(ids), n))
            if types is not None:
                type_parts.append(_compact(itertools.chain.from_iterable(types), n))
            length_parts.append(np.asarray(lengths, dtype=np.int64))
            cut_parts.append(np.asarray(cut, dtype=bool))
            if token:
                word_pos.extend(pos_chunk)
            del enc, ids, types, encodings
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.concatenate(length_parts), out=offsets[1:])
        return _Encoded(
            np.concatenate(ids_parts),
            np.concatenate(type_parts) if type_parts else None,
            offsets,
            np.concatenate(cut_parts),
            word_pos,
        )

    def _cut_untruncated(self, ids, types, cut, word_pos, L):
        """Cut encodings longer than ``L`` that the tokenizer left whole.

        ``fit`` refuses a ``max_length`` the special tokens fill, the usual
        reason for a tokenizer not to truncate; whatever the reason, a text
        longer than ``max_length`` is cut on the tokenizer's truncation side
        and counted as truncated, rather than overflowing the model.
        """
        left = getattr(self._tokenizer, "truncation_side", "right") == "left"
        for i, row in enumerate(ids):
            n = len(row)
            if n <= L:
                continue
            keep = slice(n - L, n) if left else slice(0, L)
            ids[i] = row[keep]
            if types is not None:
                types[i] = types[i][keep]
            cut[i] = True
            if word_pos is not None:
                pos = word_pos[i] - (n - L if left else 0)
                pos[(word_pos[i] < 0) | (pos < 0) | (pos >= L)] = -1
                word_pos[i] = pos

    @staticmethod
    def _warn_tokenless_words(texts, word_pos, truncated, cut_left=False):
        """Warn about words the tokenizer maps to no token (rows of NaN).

        Such a word (e.g. a lone soft hyphen or zero-width space, which BERT's
        normaliser deletes) never reaches the model. In a truncated sentence,
        words without a token after its last tokenised word (before its
        first, with ``cut_left``, the tokenizer's ``truncation_side="left"``)
        were cut off by ``max_length`` instead (the truncation warning covers
        them).
        """
        found = []
        for words, pos, cut in zip(texts, word_pos, truncated, strict=True):
            offset = 0
            if cut:  # only the words on the kept side of the cut
                kept = np.flatnonzero(pos >= 0)
                if not kept.shape[0]:
                    continue
                if cut_left:
                    offset = int(kept[0])
                    pos = pos[offset:]
                else:
                    pos = pos[: kept[-1]]
            found.extend((words, offset + int(j)) for j in np.flatnonzero(pos < 0))
        if found:
            words, j = found[0]
            warnings.warn(
                f"{len(found)} words map to no token and get rows of NaN, e.g. "
                f"word {j} ({words[j]!r}) of the sentence "
                f"{reprlib.repr(list(words))}; remove or replace them.",
                AlienSkWarning,
                stacklevel=user_stacklevel(),
            )

    def _batch(self, enc, idx):
        """Padded model inputs of texts ``idx`` of ``enc`` (an ``_Encoded``)."""
        import torch

        idx = np.asarray(idx, dtype=np.int64)
        starts, stops = enc.offsets[idx], enc.offsets[idx + 1]
        lengths = stops - starts
        T = int(lengths.max())
        B = len(idx)
        left = self.padding_side_ == "left"
        cols = np.arange(T)
        # row-major order of the True cells is each text's tokens in order
        if left:
            filled = cols >= (T - lengths)[:, None]
        else:
            filled = cols < lengths[:, None]
        arrays = {"input_ids": np.full((B, T), self._pad_id, dtype=np.int64)}
        sources = {"input_ids": enc.ids}
        if enc.types is not None and self._token_types:
            arrays["token_type_ids"] = np.zeros((B, T), dtype=np.int64)
            sources["token_type_ids"] = enc.types
        for k, arr in arrays.items():
            src = sources[k]
            arr[filled] = np.concatenate(
                [src[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True)]
            )
        mask = filled.astype(np.int64)
        arrays["attention_mask"] = mask
        if self._decoder:
            arrays["position_ids"] = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
        device = self.device_
        return {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}, T, left

    def _compute(self, texts, keys, store):
        """Run the model on ``texts`` (cache misses); store and return rows.

        Returns an array of shape ``(len(texts), n_features_out_)`` at
        sequence level, filled in place batch after batch (no per-text object
        outlives its batch, which would fragment the heap between the
        model's large temporary buffers), and a list of one array of rows per
        sentence at token level. Runs of one model object are serialised
        (:func:`_model_lock`), so ``transform`` may be called from several
        threads.
        """
        with _model_lock(self._model):
            return self._compute_unlocked(texts, keys, store)

    def _compute_unlocked(self, texts, keys, store):
        import torch
        from tqdm.auto import tqdm

        token = self.level == "token"
        enc = self._tokenize(texts)
        truncated, word_pos = enc.truncated, enc.word_pos
        n_trunc = int(truncated.sum())
        if n_trunc:
            unit = "sentences" if token else "texts"
            extra = "; words cut off have rows of NaN" if token else ""
            warnings.warn(
                f"{n_trunc} of {len(texts)} {unit} run through the model were "
                f"longer than max_length={self.max_length_} tokens and were "
                f"truncated{extra}.",
                TruncationWarning,
                stacklevel=user_stacklevel(),
            )
        if token:
            self._warn_tokenless_words(
                texts,
                word_pos,
                truncated,
                getattr(self._tokenizer, "truncation_side", "right") == "left",
            )
        todo = [i for i in range(len(texts)) if not token or len(texts[i])]
        lengths = enc.lengths[todo]
        order = [todo[j] for j in np.argsort(-lengths, kind="stable")]
        F = self.n_features_out_
        if token:
            results = [None] * len(texts)
            for i in range(len(texts)):
                if not len(texts[i]):
                    results[i] = np.empty((0, F), dtype=np.float32)
        else:
            results = np.empty((len(texts), F), dtype=np.float32)

        captured = {}

        def pre_hook(module, args):
            captured["emb"] = args[0]

        def hook(module, args, output):
            captured["logits"] = output

        def flush(pending):
            store.put(
                [keys[i] for i in pending],
                [results[i] if token else results[i : i + 1] for i in pending],
            )

        show = self._show_progress()
        # texts computed but not stored yet, and their number of rows
        pending = [i for i in range(len(texts)) if token and not len(texts[i])]
        n_pending = 0
        model = self._model
        handles = [
            self._head.register_forward_pre_hook(pre_hook),
            self._head.register_forward_hook(hook),
        ]
        cfg = (
            model.config.get_text_config()
            if hasattr(model.config, "get_text_config")
            else model.config
        )
        # the config's own pad id decides the pooled token (read before a
        # temporary one is set for batching)
        pool_pad_id = _config_pad_token_id(model)
        restore_pad = self._decoder and getattr(cfg, "pad_token_id", None) is None
        if restore_pad:
            cfg.pad_token_id = self._pad_id
        try:
            with (
                torch.inference_mode(),
                tqdm(
                    total=len(order),
                    disable=not show,
                    unit="text",
                    desc="FeatureExtractor",
                ) as bar,
            ):
                for idx in self._batches(order, enc.lengths):
                    batch, T, left = self._batch(enc, idx)
                    captured.clear()
                    model(**batch)
                    emb, logits = captured["emb"], captured["logits"]
                    if token:
                        rows = self._token_rows(idx, emb, logits, enc, T, left)
                        for i, row in zip(idx, rows, strict=True):
                            results[i] = row
                            n_pending += row.shape[0] or 1
                    else:
                        if emb.dim() == 3:  # decoder: the token it pools
                            last = _pooled_positions(
                                batch["input_ids"],
                                batch["attention_mask"],
                                pool_pad_id,
                            )
                            sel = torch.arange(len(idx), device=last.device)
                            emb, logits = emb[sel, last], logits[sel, last]
                        out = torch.cat([logits, emb], dim=1).float().cpu()
                        results[idx] = out.numpy()
                        n_pending += len(idx)
                    pending.extend(idx)
                    if n_pending >= _FLUSH_ROWS:
                        flush(pending)
                        pending, n_pending = [], 0
                    bar.update(len(idx))
        finally:
            for h in handles:
                h.remove()
            if restore_pad:
                cfg.pad_token_id = None
        flush(pending)
        return results

    def _batches(self, order, lengths, batch_size=None):
        """Split ``order`` (texts sorted by decreasing length) into batches.

        Batches hold ``batch_size`` texts (default: ``self.batch_size``), and
        never texts on both sides of :func:`_rope_switch_length` (texts are
        sorted, so one cut suffices).
        """
        batch_size = self.batch_size if batch_size is None else batch_size
        switch = _rope_switch_length(self._model)
        groups = [order]
        if switch is not None:
            n_long = sum(1 for i in order if lengths[i] > switch)
            groups = [order[:n_long], order[n_long:]]
        for group in groups:
            for start in range(0, len(group), batch_size):
                yield group[start : start + batch_size]

    def _token_rows(self, idx, emb, logits, enc, T, left):
        import torch

        out = torch.cat([logits, emb], dim=2).float().cpu().numpy()
        rows = []
        for r, i in enumerate(idx):
            pos = enc.word_pos[i]
            n = int(enc.offsets[i + 1] - enc.offsets[i])
            offset = T - n if left else 0
            row = np.full((pos.shape[0], out.shape[2]), np.nan, dtype=np.float32)
            ok = pos >= 0
            row[ok] = out[r, pos[ok] + offset]
            rows.append(row)
        return rows

    # -- output names and cache ------------------------------------------------------
    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``logit_<label>`` then ``emb_<i>``.

        Parameters
        ----------
        input_features : None
            Ignored (the input is raw text).

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_logits_ + embedding_dim_`` names.
        """
        check_is_fitted(self, "model_fingerprint_")
        names = [f"logit_{c}" for c in self.classes_]
        names += [f"emb_{i}" for i in range(self.embedding_dim_)]
        return np.asarray(names, dtype=object)

    def cache_info(self):
        """Describe the cached rows of this model and these settings.

        Returns
        -------
        info : dict
            ``path`` (the namespace folder, None without ``cache_dir``),
            ``namespace``, ``n_entries`` (distinct texts cached), ``n_shards``
            and ``size_bytes``.
        """
        check_is_fitted(self, "model_fingerprint_")
        self._check_settings()
        return self._get_store().info()

    def clear_cache(self, all_namespaces=False):
        """Delete the cached rows of this model and these settings.

        Parameters
        ----------
        all_namespaces : bool, default=False
            Also delete the rows of every other model or setting cached in
            ``cache_dir``.

        Returns
        -------
        n_removed : int
            Number of cached texts of this namespace that were removed.
        """
        check_is_fitted(self, "model_fingerprint_")
        self._check_settings()
        return self._get_store().clear(all_namespaces=all_namespaces)
