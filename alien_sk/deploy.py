# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Deployment: one forward pass of the classifier gives the label and its uncertainty.

The ALIEN head sits on the classifier's final linear layer: it reads the
logits and the penultimate embedding that the classifier computes anyway, so
serving it costs one small matrix product per batch. This module turns a
fitted :class:`~alien_sk.AlienUncertaintyEstimator` into

* :class:`AlienHead`, a plain :class:`torch.nn.Module` ``(logits, embedding)
  -> uncertainty`` (float32 or float64, no scikit-learn at inference), which
  :func:`export_head` exports with :func:`torch.export.export`;
* :class:`AlienClassifier`, a :class:`torch.nn.Module` around the
  ``transformers`` classifier whose single forward pass returns the logits,
  the predicted label and the uncertainty, the embedding being captured
  exactly as :class:`~alien_sk.FeatureExtractor` does (input of the same final
  ``nn.Linear``, decoders read at the token their own sequence classifier
  pools);
* :class:`AlienPredictor`, texts in, decisions out (labels, uncertainties and
  an abstain flag from a :mod:`alien_sk.selective` threshold), saved to and
  loaded from a directory without pickle.

This module imports torch.
"""

import inspect
import json
import math
import os
import sys
import warnings
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from alien_sk._utils import user_stacklevel
from alien_sk.exceptions import TruncationWarning
from alien_sk.features import (
    _FAMILIES,
    FeatureExtractor,
    _check_task,
    _config_pad_token_id,
    _model_lock,
    _pooled_positions,
    _resolve_submodule,
    _same_tokenizer,
)
from alien_sk.head import (
    ResidualLinearHead,
    ResidualMLPHead,
    _check_smoothmax_lambda,
    score_from_logits,
)

__all__ = [
    "AlienClassifier",
    "AlienHead",
    "AlienOutput",
    "AlienPrediction",
    "AlienPredictor",
    "export_head",
]

#: files written by :meth:`AlienPredictor.save` beside the classifier
HEAD_FILE = "alien_head.safetensors"
SETTINGS_FILE = "alien_config.json"
EXPORTED_HEAD_FILE = "alien_head.pt2"
FORMAT_VERSION = 1

_HEAD_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _head_dtype(dtype):
    if isinstance(dtype, torch.dtype):
        dtype = str(dtype).removeprefix("torch.")
    if dtype not in _HEAD_DTYPES:
        raise ValueError(
            f"dtype={dtype!r} is not supported for the head; use 'float32' or "
            "'float64'."
        )
    return _HEAD_DTYPES[dtype]


def _check_int(name, value, minimum):
    """``int(value)``, or a ValueError naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(
            f"{name}={value!r} is not supported; use an integer >= {minimum}."
        )
    return int(value)


# -- the head ------------------------------------------------------------------
class AlienHead(nn.Module):
    """The fitted ALIEN head as a plain ``torch.nn.Module``.

    ``forward(logits, embedding)`` computes the residual logits
    ``z = logits + f(embedding)`` of the fitted head (``f`` linear or a tanh
    MLP) and returns their normalised entropy (or AdUE smooth-max score),
    clipped to ``[0, 1]``: the numbers of
    :meth:`AlienUncertaintyEstimator.predict_uncertainty
    <alien_sk.AlienUncertaintyEstimator.predict_uncertainty>` on
    ``X = [logits | embedding]``. The inputs may have any floating dtype; they
    are cast to the head's ``dtype``. Nothing but torch runs at inference.

    Build it with :meth:`from_estimator`; the constructor makes a head whose
    residual part is zero (it scores the normalised entropy of the logits)
    and :meth:`load_state_dict` fills it.

    Read more in the :ref:`User Guide <deploy_guide>`.

    Parameters
    ----------
    n_logits : int
        Number of logits ``C`` (>= 2).
    embedding_dim : int
        Width ``d`` of the penultimate embedding (>= 0).
    kind : {"linear", "mlp"}, default="linear"
        Residual linear map or one-hidden-layer tanh MLP.
    hidden_size : int, default=None
        Width of the MLP's hidden layer (>= 1; required when ``kind="mlp"``).
    score_function : {"entropy", "smoothmax"}, default="entropy"
        Score of the residual logits.
    smoothmax_lambda : float, default=100.0
        Sharpness of the smooth maximum (finite, > 0).
    dtype : {"float32", "float64"} or torch.dtype, default="float32"
        Precision of the parameters and of the computation.

    Attributes
    ----------
    residual : torch.nn.Module
        The :class:`~alien_sk.head.ResidualLinearHead` or
        :class:`~alien_sk.head.ResidualMLPHead` holding the parameters.
    dtype : torch.dtype
        Precision of the computation.

    See Also
    --------
    export_head : Export the head with :func:`torch.export.export`.

    Examples
    --------
    >>> import torch
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> from alien_sk.deploy import AlienHead
    >>> X, y = make_classifier_outputs(n_samples=300, n_embedding=4,
    ...                                random_state=0)
    >>> est = AlienUncertaintyEstimator(max_epochs=2, random_state=0).fit(X, y)
    >>> head = AlienHead.from_estimator(est, dtype="float64")
    >>> X_t = torch.as_tensor(X[:5], dtype=torch.float64)
    >>> u = head(X_t[:, :2], X_t[:, 2:])
    >>> bool(torch.allclose(u, torch.as_tensor(est.predict_uncertainty(X[:5]))))
    True
    """

    def __init__(
        self,
        n_logits,
        embedding_dim,
        *,
        kind="linear",
        hidden_size=None,
        score_function="entropy",
        smoothmax_lambda=100.0,
        dtype="float32",
    ):
        super().__init__()
        n_logits = _check_int("n_logits", n_logits, 2)
        embedding_dim = _check_int("embedding_dim", embedding_dim, 0)
        if hidden_size is not None:
            hidden_size = _check_int("hidden_size", hidden_size, 1)
        if score_function not in ("entropy", "smoothmax"):
            raise ValueError(
                f"score_function={score_function!r} is not supported; use 'entropy' "
                "or 'smoothmax'."
            )
        if (
            isinstance(smoothmax_lambda, bool)
            or not isinstance(smoothmax_lambda, Real)
            or not 0 < smoothmax_lambda < float("inf")
        ):
            raise ValueError(
                f"smoothmax_lambda={smoothmax_lambda!r} is not supported; use a "
                "finite float > 0."
            )
        if score_function == "smoothmax":
            _check_smoothmax_lambda(smoothmax_lambda, n_logits)
        if kind == "linear":
            residual = ResidualLinearHead(
                int(n_logits), int(embedding_dim), score_function, smoothmax_lambda
            )
        elif kind == "mlp":
            if hidden_size is None:
                raise ValueError("kind='mlp' needs hidden_size.")
            residual = ResidualMLPHead(
                int(n_logits),
                int(embedding_dim),
                int(hidden_size),
                score_function,
                smoothmax_lambda,
            )
        else:
            raise ValueError(f"kind={kind!r} is not supported; use 'linear' or 'mlp'.")
        self.dtype = _head_dtype(dtype)
        self.residual = residual.to(self.dtype)
        self.residual.requires_grad_(False)
        self.n_logits = int(n_logits)
        self.embedding_dim = int(embedding_dim)
        self.kind = kind
        self.hidden_size = None if hidden_size is None else int(hidden_size)
        self.score_function = score_function
        self.smoothmax_lambda = float(smoothmax_lambda)
        self.eval()

    @classmethod
    def from_estimator(cls, estimator, dtype="float32"):
        """Copy the head of a fitted estimator (on the CPU).

        Parameters
        ----------
        estimator : AlienUncertaintyEstimator
            Fitted estimator, on any device.
        dtype : {"float32", "float64"}, default="float32"
            Precision of the copy (the estimator trains in float64).

        Returns
        -------
        head : AlienHead
            In eval mode, on the CPU; the estimator is not modified.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator, "module_")
        module = estimator.module_
        if isinstance(module, ResidualMLPHead):
            kind, hidden = "mlp", module.hidden.out_features
        elif isinstance(module, ResidualLinearHead):
            kind, hidden = "linear", None
        else:
            raise TypeError(
                f"cannot export a head of type {type(module).__name__}; expected "
                "ResidualLinearHead or ResidualMLPHead."
            )
        head = cls(
            estimator.n_logits_,
            estimator.n_features_in_ - estimator.n_logits_,
            kind=kind,
            hidden_size=hidden,
            score_function=module.score_function,
            smoothmax_lambda=module.smoothmax_lambda,
            dtype=dtype,
        )
        state = {
            f"residual.{k}": v.detach().to("cpu")
            for k, v in module.state_dict().items()
        }
        head.load_state_dict(state)
        return head

    def config(self):
        """JSON-serialisable constructor arguments.

        Returns
        -------
        config : dict
            ``AlienHead(**config)`` rebuilds an (untrained) head of this shape.
        """
        return {
            "n_logits": self.n_logits,
            "embedding_dim": self.embedding_dim,
            "kind": self.kind,
            "hidden_size": self.hidden_size,
            "score_function": self.score_function,
            "smoothmax_lambda": self.smoothmax_lambda,
            "dtype": str(self.dtype).removeprefix("torch."),
        }

    def forward(self, logits, embedding):
        """Uncertainty in ``[0, 1]`` of each row.

        Parameters
        ----------
        logits : torch.Tensor of shape (batch, n_logits)
            The classifier's logits.
        embedding : torch.Tensor of shape (batch, embedding_dim)
            Its penultimate embedding.

        Returns
        -------
        uncertainty : torch.Tensor of shape (batch,)
            In the head's dtype.
        """
        if logits.dim() != 2 or logits.shape[1] != self.n_logits:
            raise ValueError(
                f"logits has shape {tuple(logits.shape)}; the head expects "
                f"(batch, {self.n_logits})."
            )
        if embedding.dim() != 2 or embedding.shape[1] != self.embedding_dim:
            raise ValueError(
                f"embedding has shape {tuple(embedding.shape)}; the head expects "
                f"(batch, {self.embedding_dim})."
            )
        if logits.shape[0] != embedding.shape[0]:
            raise ValueError(
                f"logits has {logits.shape[0]} rows but embedding has "
                f"{embedding.shape[0]}."
            )
        z = logits.to(self.dtype) + self.residual.delta(embedding.to(self.dtype))
        u = score_from_logits(z, self.score_function, self.smoothmax_lambda)
        return u.clamp(0.0, 1.0)


def export_head(head, *, input_dtype="float32", batch_size=2):
    """Export an :class:`AlienHead` with :func:`torch.export.export`.

    The batch dimension is dynamic: the exported program accepts any number
    of rows and gives the numbers of ``head`` itself. Save it with
    :func:`torch.export.save` and load it with :func:`torch.export.load`,
    which needs torch only (no alien_sk). TorchScript is not offered:
    ``torch.jit.script`` is deprecated in recent torch releases in favour of
    ``torch.export`` (and cannot compile the head's string options).

    Parameters
    ----------
    head : AlienHead
        The head to export.
    input_dtype : {"float32", "float64", "float16", "bfloat16"}, default="float32"
        Dtype of the logits and embedding the program will receive (the
        classifier's output dtype); the program checks it. The computation
        runs in the head's own dtype.
    batch_size : int, default=2
        Batch size of the example inputs used for tracing (>= 2, which
        :func:`torch.export.export` needs for a dynamic dimension; the
        program accepts batches of any size).

    Returns
    -------
    program : torch.export.ExportedProgram
        Call ``program.module()(logits, embedding)``.

    Examples
    --------
    >>> import torch
    >>> from alien_sk.deploy import AlienHead, export_head
    >>> head = AlienHead(2, 3)
    >>> program = export_head(head)
    >>> logits, emb = torch.zeros(5, 2), torch.ones(5, 3)
    >>> program.module()(logits, emb)
    tensor([1., 1., 1., 1., 1.])
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral):
        raise ValueError(f"batch_size={batch_size!r} is not an integer >= 2.")
    if batch_size < 2:
        raise ValueError(
            f"batch_size={batch_size!r} is too small: torch.export needs an example "
            "batch of at least 2 rows to keep the batch dimension dynamic (the "
            "exported program accepts any number of rows, 1 included)."
        )
    device = next(head.parameters()).device
    if input_dtype not in ("float32", "float64", "float16", "bfloat16"):
        raise ValueError(
            f"input_dtype={input_dtype!r} is not a floating dtype name; use "
            "'float32', 'float64', 'float16' or 'bfloat16'."
        )
    dtype = getattr(torch, input_dtype)
    logits = torch.zeros(batch_size, head.n_logits, dtype=dtype, device=device)
    emb = torch.zeros(batch_size, head.embedding_dim, dtype=dtype, device=device)
    batch = torch.export.Dim("batch")
    return torch.export.export(
        head.eval(), (logits, emb), dynamic_shapes=({0: batch}, {0: batch})
    )


# -- the wrapped classifier ------------------------------------------------------
class AlienOutput(NamedTuple):
    """Output of :class:`AlienClassifier`: three tensors of one forward pass.

    Attributes
    ----------
    logits : torch.Tensor of shape (batch, n_logits)
        The classifier's logits (decoders: at the token the model pools, the
        last one whose id is not ``config.pad_token_id``).
    labels : torch.Tensor of shape (batch,), int64
        ``argmax(logits)``: index of the predicted label.
    uncertainty : torch.Tensor of shape (batch,)
        ALIEN uncertainty in ``[0, 1]`` (higher = more likely wrong).

    Examples
    --------
    >>> import torch
    >>> from alien_sk.deploy import AlienOutput
    >>> out = AlienOutput(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long),
    ...                   torch.ones(1))
    >>> out.uncertainty
    tensor([1.])
    """

    logits: torch.Tensor
    labels: torch.Tensor
    uncertainty: torch.Tensor


def _refuse_token_classifier(model, local_files_only=True):
    """The deploy path serves sequence classifiers: refuse a token classifier.

    ``model`` is a model object (judged by its class) or a folder (judged by
    the ``architectures`` of its config).
    """
    if isinstance(model, nn.Module):
        names = [type(model).__name__]
    else:
        import transformers

        try:
            config = transformers.AutoConfig.from_pretrained(
                model, local_files_only=local_files_only
            )
        except (OSError, ValueError):
            return  # FeatureExtractor reports an unloadable folder
        names = list(getattr(config, "architectures", None) or [])
    for name in names:
        if name.endswith("ForTokenClassification"):
            raise ValueError(
                f"{name} is a token classification model; AlienClassifier and "
                "AlienPredictor serve sequence classifiers only "
                "(AutoModelForSequenceClassification). For word-level "
                "uncertainty use FeatureExtractor(level='token') with an "
                "AlienUncertaintyEstimator."
            )


def _final_linear(model, level="sequence"):
    """Name of the final ``nn.Linear`` of a classifier, and whether it is a decoder.

    Uses :class:`~alien_sk.FeatureExtractor`'s per-family table.
    """
    model_type = model.config.model_type
    if model_type not in _FAMILIES:
        raise ValueError(
            f"no known final classification layer for model_type={model_type!r}; "
            f"supported model types: {', '.join(sorted(_FAMILIES))}."
        )
    if level == "sequence":
        _refuse_token_classifier(model)
    _check_task(model, level, saved_as=False)
    decoder, seq_layer, tok_layer = _FAMILIES[model_type]
    layer = tok_layer if level == "token" else seq_layer
    linear = _resolve_submodule(model, layer)
    num_labels = model.config.num_labels
    if not isinstance(linear, nn.Linear) or linear.out_features != num_labels:
        raise ValueError(
            f"expected {type(model).__name__}.{layer} to be the final nn.Linear with "
            f"{num_labels} outputs; found {type(linear).__name__}. Is this a sequence "
            "classification model?"
        )
    return layer, decoder


def _compiling():
    is_compiling = getattr(torch.compiler, "is_compiling", None)
    return bool(is_compiling()) if is_compiling is not None else False


class AlienClassifier(nn.Module):
    """A ``transformers`` classifier and its ALIEN head, as one ``nn.Module``.

    ``forward`` runs the classifier once and returns an :class:`AlienOutput`
    ``(logits, labels, uncertainty)``. The embedding is the input of the
    classifier's final ``nn.Linear`` (the same layer as
    :class:`~alien_sk.FeatureExtractor`'s, captured with a forward pre-hook
    for the duration of the call) and the logits its output. For decoders
    both are read where transformers' own ``*ForSequenceClassification``
    pools: at the last token whose id is not ``config.pad_token_id`` (the
    last token when the config has no pad token), among the tokens whose
    ``attention_mask`` is 1, with positions that count those tokens, so a
    padded batch gives each text's unpadded logits. Encoders read their
    first token: each text's tokens are moved to the start of its row
    (right padding) before the model, so a left-padded batch gives the
    unpadded logits too. Hence the numbers equal ``FeatureExtractor`` +
    ``predict_uncertainty`` on the same batches.

    Read more in the :ref:`User Guide <deploy_guide>`.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A sequence classifier of a family :class:`~alien_sk.FeatureExtractor`
        supports. It becomes a submodule (it is not copied).
    head : AlienHead
        The head, with ``n_logits`` and ``embedding_dim`` matching the
        model's final layer.
    pad_token_id : int, default=None
        For decoders whose config has no pad token: the id set in the config
        during the call (``transformers`` refuses batches without one). It
        does not change the outputs, which follow ``attention_mask`` (the
        pooled token is then the last attended one); None uses the config's
        EOS (else BOS, else 0) id.

    Attributes
    ----------
    layer : str
        Dotted name of the final linear layer in ``model``.
    decoder : bool
        Whether the model is a decoder (reads the token the model pools).

    Notes
    -----
    ``forward`` reads the embedding through hooks on the model's final layer
    and, for a decoder whose config has no pad token, sets
    ``config.pad_token_id`` for the duration of the call. Calls on one model
    object are therefore serialised (one lock per model, shared with
    :class:`~alien_sk.FeatureExtractor`), so that threads may share it; under
    ``torch.export`` or ``torch.compile`` the lock is left out.

    Examples
    --------
    >>> import torch
    >>> import transformers as tf
    >>> from alien_sk.deploy import AlienClassifier, AlienHead
    >>> cfg = tf.BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1,
    ...     num_attention_heads=2, intermediate_size=16, num_labels=2)
    >>> model = tf.BertForSequenceClassification(cfg).eval()
    >>> clf = AlienClassifier(model, AlienHead(2, 8)).eval()
    >>> out = clf(input_ids=torch.tensor([[2, 5, 7, 3]]))
    >>> out.logits.shape, out.labels.shape, out.uncertainty.shape
    (torch.Size([1, 2]), torch.Size([1]), torch.Size([1]))
    >>> # an untrained head scores the normalised entropy of the logits
    >>> p = out.logits.softmax(1)
    >>> bool(torch.allclose(out.uncertainty, -(p * p.log()).sum(1) / 0.6931472))
    True
    """

    def __init__(self, model, head, *, pad_token_id=None):
        super().__init__()
        layer, decoder = _final_linear(model)
        linear = model.get_submodule(layer)
        if (head.n_logits, head.embedding_dim) != (
            linear.out_features,
            linear.in_features,
        ):
            raise ValueError(
                f"the head reads {head.n_logits} logits and a {head.embedding_dim}-"
                f"dimensional embedding, but {type(model).__name__}.{layer} maps "
                f"{linear.in_features} to {linear.out_features}: was the estimator "
                "fitted on this model's features?"
            )
        self.model = model
        self.head = head
        self.layer = layer
        self.decoder = decoder
        # as FeatureExtractor: token_type_ids go only to a model whose forward
        # names them (a BERT-style tokenizer returns them for DistilBERT,
        # MPNet or ModernBERT, whose forward refuses or ignores them)
        self._token_types = (
            "token_type_ids" in inspect.signature(model.forward).parameters
        )
        if pad_token_id is None:
            cfg = self._text_config()
            for candidate in (
                getattr(cfg, "eos_token_id", None),
                getattr(cfg, "bos_token_id", None),
                0,
            ):
                if isinstance(candidate, (list, tuple)):
                    candidate = candidate[0] if candidate else None
                if pad_token_id is None and candidate is not None:
                    pad_token_id = int(candidate)
        self.pad_token_id = int(pad_token_id)

    def _text_config(self):
        cfg = self.model.config
        return cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg

    def forward(
        self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None
    ):
        """Run the classifier once: logits, predicted label and uncertainty.

        Parameters
        ----------
        input_ids : torch.Tensor of shape (batch, seq_len)
            Token ids.
        attention_mask : torch.Tensor of shape (batch, seq_len), default=None
            1 on tokens, 0 on padding (None: no padding).
        token_type_ids, position_ids : torch.Tensor of shape (batch, seq_len), \
default=None
            Passed to the model when given; ``token_type_ids`` only to a model
            whose ``forward`` takes them (they are dropped for DistilBERT,
            MPNet, ModernBERT, ..., as :class:`~alien_sk.FeatureExtractor`
            does). For decoders, None with an ``attention_mask`` uses the
            positions of :class:`~alien_sk.FeatureExtractor`,
            ``cumsum(attention_mask) - 1`` (clipped at 0). For encoders, each
            text's tokens are moved to the start of its row first (right
            padding, with the given ``token_type_ids`` and
            ``position_ids``), since encoders read their first token. Hence a
            batch padded on either side gives each text's unpadded numbers.

        Returns
        -------
        output : AlienOutput
            ``(logits, labels, uncertainty)``.
        """
        if _compiling():  # a trace of one call: no lock to take
            return self._forward(
                input_ids, attention_mask, token_type_ids, position_ids
            )
        with _model_lock(self.model):
            return self._forward(
                input_ids, attention_mask, token_type_ids, position_ids
            )

    def _forward(self, input_ids, attention_mask, token_type_ids, position_ids):
        captured = {}

        def pre_hook(module, args):
            captured["emb"] = args[0]

        def hook(module, args, output):
            captured["logits"] = output

        linear = self.model.get_submodule(self.layer)
        handles = [
            linear.register_forward_pre_hook(pre_hook),
            linear.register_forward_hook(hook),
        ]
        cfg = self._text_config()
        # the config's own pad id decides the pooled token (read before a
        # temporary one is set for the call)
        pool_pad_id = _config_pad_token_id(self.model)
        restore_pad = self.decoder and getattr(cfg, "pad_token_id", None) is None
        if restore_pad:
            cfg.pad_token_id = self.pad_token_id
        if not self._token_types:
            token_type_ids = None
        if not self.decoder and attention_mask is not None:
            # encoders read the first token (CLS pooling) and most number
            # positions from the first column: move each text's tokens to
            # the left, as FeatureExtractor feeds them (right padding), so
            # that a left-padded batch is read as if it were not padded. A
            # stable sort of the padding flags keeps the tokens' order; on
            # a right-padded batch it is the identity.
            padding = (attention_mask == 0).to(torch.int32)
            order = torch.sort(padding, dim=1, stable=True).indices
            input_ids = input_ids.gather(1, order)
            attention_mask = attention_mask.gather(1, order)
            if token_type_ids is not None:
                token_type_ids = token_type_ids.gather(1, order)
            if position_ids is not None:
                position_ids = position_ids.gather(1, order)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        if position_ids is None and self.decoder and attention_mask is not None:
            # as FeatureExtractor: positions count the real tokens, so that a
            # left-padded text is read as if it were not padded
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        if position_ids is not None:
            inputs["position_ids"] = position_ids
        try:
            self.model(**inputs)
        finally:
            for h in handles:
                h.remove()
            if restore_pad:
                cfg.pad_token_id = None
        emb, logits = captured["emb"], captured["logits"]
        if emb.dim() == 3:  # decoder: the token the model pools
            last = _pooled_positions(input_ids, attention_mask, pool_pad_id)
            last = last.to(emb.device)
            rows = torch.arange(emb.shape[0], device=emb.device)
            emb, logits = emb[rows, last], logits[rows, last]
        return AlienOutput(logits, logits.argmax(dim=1), self.head(logits, emb))


# -- texts in, decisions out -------------------------------------------------------
class AlienPrediction(NamedTuple):
    """Output of :meth:`AlienPredictor.predict`, in input order.

    Attributes
    ----------
    labels : ndarray of shape (n_texts,)
        Predicted label of each text (from ``AlienPredictor.classes``).
    uncertainty : ndarray of shape (n_texts,), float64
        ALIEN uncertainty in ``[0, 1]``.
    abstain : ndarray of shape (n_texts,), bool, or None
        True where ``uncertainty > threshold``; None without a threshold.
    logits : ndarray of shape (n_texts, n_logits), float32
        The classifier's logits.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.deploy import AlienPrediction
    >>> pred = AlienPrediction(np.array(["pos"]), np.array([0.2]), None,
    ...                        np.zeros((1, 2), dtype=np.float32))
    >>> pred.labels.tolist(), pred.abstain is None
    (['pos'], True)
    """

    labels: np.ndarray
    uncertainty: np.ndarray
    abstain: np.ndarray | None
    logits: np.ndarray


def _check_threshold(threshold):
    if threshold is None:
        return None
    if hasattr(threshold, "threshold"):  # SelectiveThreshold
        value = threshold.threshold
    elif hasattr(threshold, "threshold_"):  # fitted SelectiveClassifier
        value = threshold.threshold_
    else:
        value = threshold
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            "threshold must be a float, an alien_sk.selective.SelectiveThreshold, "
            f"a fitted SelectiveClassifier or None; got {type(threshold).__name__}."
        )
    value = float(value)
    if value != value:
        raise ValueError("threshold is NaN.")
    return value


def _classes_to_json(classes):
    classes = np.asarray(classes)
    values = classes.tolist()
    try:
        json.dumps(values)
    except TypeError as e:
        raise TypeError(
            f"the labels {values!r} cannot be written to JSON; use str or int labels."
        ) from e
    return {"values": values, "dtype": classes.dtype.str}


class AlienPredictor:
    """Texts in, decisions out: label, ALIEN uncertainty and abstain flag.

    Loads (or takes) the classifier and tokenizer the way
    :class:`~alien_sk.FeatureExtractor` does, wraps it with the head in an
    :class:`AlienClassifier`, and runs it on batches of texts sorted by
    length (padded to the longest of the batch, ``torch.inference_mode``),
    returning the results in input order. With a ``threshold`` (e.g. from
    :func:`alien_sk.selective.select_threshold`) it also says where to
    abstain. :meth:`save` writes a directory that :meth:`load` reads back
    offline, on any device.

    Read more in the :ref:`User Guide <deploy_guide>`.

    Parameters
    ----------
    model : str, path-like or transformers.PreTrainedModel
        The classifier, as for :class:`~alien_sk.FeatureExtractor` (a loaded
        model is used as is when already in eval mode on ``device`` with
        ``dtype``; otherwise a copy is moved).
    head : AlienHead
        The uncertainty head (see :meth:`AlienHead.from_estimator`); moved to
        ``device``.
    tokenizer : str, path-like, transformers tokenizer or None, default=None
        As for :class:`~alien_sk.FeatureExtractor`.
    classes : array-like of shape (n_logits,), default=None
        Label of each logit; None uses the model's ``id2label``.
    threshold : float, SelectiveThreshold, SelectiveClassifier or None, \
default=None
        Abstain where ``uncertainty > threshold``: a number, the result of
        :func:`alien_sk.selective.select_threshold`, or a fitted
        :class:`alien_sk.selective.SelectiveClassifier` (its ``threshold_``).
    max_length : int, default=None
        Longer texts are truncated (with a
        :class:`~alien_sk.exceptions.TruncationWarning`); None uses the
        model's maximum.
    batch_size : int, default=32
        Texts per forward pass.
    device : {"auto", "cpu", "cuda", "mps"} or str, default="auto"
        Where the classifier and head run.
    dtype : {"float32", "float16", "bfloat16", "auto"} or None, default=None
        Precision of the classifier, as for
        :class:`~alien_sk.FeatureExtractor`.
    progress_bar : bool or "auto", default="auto"
        tqdm bar over the texts; ``"auto"``: only when stderr is a terminal.
    local_files_only : bool, default=True
        Passed to ``from_pretrained``.

    Attributes
    ----------
    module : AlienClassifier
        The wrapped classifier and head.
    tokenizer : transformers tokenizer
        The tokenizer used.
    classes : ndarray of shape (n_logits,)
        Label of each logit.
    threshold : float or None
        The abstention threshold.
    device : torch.device
        The device the module runs on.
    max_length : int
        The maximum number of tokens per text used.

    See Also
    --------
    alien_sk.selective.select_threshold : Choose ``threshold`` for a target risk.

    Examples
    --------
    >>> import os, tempfile
    >>> import transformers as tf
    >>> from alien_sk import AlienUncertaintyEstimator, FeatureExtractor
    >>> from alien_sk.deploy import AlienPredictor
    >>> folder = tempfile.mkdtemp()
    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie"]
    >>> with open(os.path.join(folder, "vocab.txt"), "w") as f:
    ...     _ = f.write("\\n".join(vocab))
    >>> tok = tf.BertTokenizerFast(os.path.join(folder, "vocab.txt"))
    >>> cfg = tf.BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1,
    ...     num_attention_heads=2, intermediate_size=16, num_labels=2)
    >>> _ = tf.BertForSequenceClassification(cfg).save_pretrained(folder)
    >>> _ = tok.save_pretrained(folder)
    >>> texts = ["good movie", "bad movie", "good", "bad", "movie", "good bad"]
    >>> fe = FeatureExtractor(folder, device="cpu", progress_bar=False)
    >>> est = AlienUncertaintyEstimator(max_epochs=2, random_state=0)
    >>> est = est.fit(fe.fit_transform(texts), [0, 1, 0, 1, 1, 0])
    >>> predictor = AlienPredictor.from_estimator(folder, est, threshold=0.5,
    ...                                           device="cpu", progress_bar=False)
    >>> pred = predictor.predict(["good movie", "bad"])
    >>> pred.labels.shape, pred.uncertainty.dtype, pred.abstain.dtype
    ((2,), dtype('float64'), dtype('bool'))
    >>> predictor.save(tempfile.mkdtemp() + "/deployed")
    """

    def __init__(
        self,
        model,
        head,
        *,
        tokenizer=None,
        classes=None,
        threshold=None,
        max_length=None,
        batch_size=32,
        device="auto",
        dtype=None,
        progress_bar="auto",
        local_files_only=True,
    ):
        if not isinstance(head, AlienHead):
            raise TypeError(
                f"head must be an AlienHead (see AlienHead.from_estimator); got "
                f"{type(head).__name__}."
            )
        _refuse_token_classifier(model, local_files_only)
        fe = FeatureExtractor(
            model,
            tokenizer=tokenizer,
            max_length=max_length,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            progress_bar=progress_bar,
            local_files_only=local_files_only,
        ).fit()
        if fe.n_features_out_ != head.n_logits + head.embedding_dim:
            raise ValueError(
                f"the head reads {head.n_logits} logits + {head.embedding_dim} "
                f"embedding columns, but the model gives {fe.n_logits_} logits + "
                f"{fe.embedding_dim_} embedding columns (X of width "
                f"{fe.n_features_out_}): was the estimator fitted on this model's "
                "features?"
            )
        fe._ensure_model()  # fit may have reused an earlier fit's layout
        self._extractor = fe
        self.module = AlienClassifier(
            fe._model, head.to(fe.device_), pad_token_id=fe._pad_id
        ).eval()
        self.tokenizer = fe._tokenizer
        if classes is None:
            classes = fe.classes_
        classes = np.asarray(classes)
        if classes.shape != (head.n_logits,):
            raise ValueError(
                f"classes has shape {classes.shape}; expected ({head.n_logits},): "
                "one label per logit."
            )
        self.classes = classes
        self.threshold = _check_threshold(threshold)
        self.batch_size = int(fe.batch_size)
        self.progress_bar = progress_bar
        self.device = fe.device_
        self.max_length = int(fe.max_length_)

    @classmethod
    def from_estimator(cls, model, estimator, *, head_dtype="float32", **kwargs):
        """Build a predictor from a classifier and a fitted estimator.

        Parameters
        ----------
        model : str, path-like or transformers.PreTrainedModel
            The classifier whose features the estimator was fitted on.
        estimator : AlienUncertaintyEstimator
            Fitted estimator; its ``classes_`` label the logits.
        head_dtype : {"float32", "float64"}, default="float32"
            Precision of the head.
        **kwargs
            Other parameters of :class:`AlienPredictor`.

        Returns
        -------
        predictor : AlienPredictor
        """
        kwargs.setdefault("classes", estimator.classes_)
        head = AlienHead.from_estimator(estimator, dtype=head_dtype)
        return cls(model, head, **kwargs)

    @property
    def model(self):
        """The ``transformers`` classifier."""
        return self.module.model

    @property
    def head(self):
        """The :class:`AlienHead`."""
        return self.module.head

    # -- inference -------------------------------------------------------------
    def _batches(self, texts, batch_size=None):
        """Yield ``(row indices, model inputs)``, longest texts first."""
        if batch_size is None:
            batch_size = self.batch_size
        fe = self._extractor
        enc = fe._tokenize(texts)
        n_trunc = int(enc.truncated.sum())
        if n_trunc:
            warnings.warn(
                f"{n_trunc} of {len(texts)} texts were longer than "
                f"max_length={self.max_length} tokens and were truncated.",
                TruncationWarning,
                stacklevel=user_stacklevel(),
            )
        order = np.argsort(-enc.lengths, kind="stable")
        # the extractor's batching: a long-context Phi-3 batch never mixes
        # texts on both sides of its rotary switch length
        for idx in fe._batches(order, enc.lengths, batch_size):
            idx = np.asarray(idx).tolist()
            yield idx, fe._batch(enc, idx)[0]

    def predict(self, texts, threshold=None):
        """Label, uncertainty and abstain flag of each text.

        Parameters
        ----------
        texts : list of str
            The texts.
        threshold : float, SelectiveThreshold, SelectiveClassifier or None, \
default=None
            Overrides ``self.threshold`` for this call.

        Returns
        -------
        prediction : AlienPrediction
            ``(labels, uncertainty, abstain, logits)`` in input order.
        """
        from tqdm.auto import tqdm

        texts = self._extractor._check_texts(texts)
        threshold = self.threshold if threshold is None else _check_threshold(threshold)
        n = len(texts)
        logits = np.empty((n, self.head.n_logits), dtype=np.float32)
        label_ids = np.empty(n, dtype=np.int64)
        uncertainty = np.empty(n, dtype=np.float64)
        show = self.progress_bar
        if show == "auto":
            show = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.module.eval()
        with (
            torch.inference_mode(),
            tqdm(total=n, disable=not show, unit="text", desc="AlienPredictor") as bar,
        ):
            for idx, batch in self._batches(texts):
                out = self.module(**batch)
                logits[idx] = out.logits.float().cpu().numpy()
                label_ids[idx] = out.labels.cpu().numpy()
                uncertainty[idx] = out.uncertainty.double().cpu().numpy()
                bar.update(len(idx))
        abstain = None if threshold is None else uncertainty > threshold
        return AlienPrediction(self.classes[label_ids], uncertainty, abstain, logits)

    def export(self, texts):
        """Export the whole :class:`AlienClassifier` with :func:`torch.export.export`.

        Batch size and sequence length are dynamic. Whether a model exports
        depends on its ``transformers`` implementation: every family
        :class:`~alien_sk.FeatureExtractor` supports is tested, and all
        export with transformers 5; with transformers 4 (4.56), Mistral does
        not (its sliding-window attention mask holds a data-dependent branch
        that ``torch.export`` cannot trace). A model that cannot be traced
        raises a ``RuntimeError`` naming its model type, class, attention
        implementation and the transformers and torch versions, the
        ``torch.export`` error chained.

        Parameters
        ----------
        texts : list of str
            At least two example texts, for tracing; the example batch holds
            at least two of them whatever ``batch_size``, and the longest of
            them must be at least 2 tokens long (special tokens included).

        Returns
        -------
        program : torch.export.ExportedProgram
            Call ``program.module()(**inputs)`` with the model inputs
            (``input_ids``, ``attention_mask``, ...) of a padded batch; it
            returns ``(logits, labels, uncertainty)``.

        Raises
        ------
        RuntimeError
            If ``torch.export`` cannot trace the classifier.
        """
        texts = self._extractor._check_texts(texts)
        if len(texts) < 2:
            raise ValueError(
                f"export needs at least 2 example texts; got {len(texts)}: "
                "torch.export keeps the batch dimension dynamic only when the "
                "example batch has at least 2 rows."
            )
        # an example batch of >= 2 rows whatever self.batch_size (the program
        # accepts any batch size, 1 included), built directly: predict's
        # batching may split the longest texts off (long-context Phi-3)
        fe = self._extractor
        enc = fe._tokenize(texts)
        order = np.argsort(-enc.lengths, kind="stable")[: max(2, self.batch_size)]
        batch = fe._batch(enc, order.tolist())[0]
        if batch["input_ids"].shape[1] < 2:
            raise ValueError(
                "export needs an example text of at least 2 tokens: the longest "
                "of the example batch has "
                f"{batch['input_ids'].shape[1]}, and torch.export keeps the "
                "sequence dimension dynamic only from 2."
            )
        dims = {
            "batch": torch.export.Dim("batch"),
            "seq": torch.export.Dim("seq", max=self.max_length),
        }
        axes = {0: dims["batch"], 1: dims["seq"]}
        dynamic = {k: axes for k in batch}
        try:
            return torch.export.export(
                self.module.eval(),
                (),
                kwargs=batch,
                dynamic_shapes=dynamic,
                strict=False,
            )
        except RuntimeError as e:  # torch.export's tracing errors subclass it
            import transformers

            model = self.model
            attn = getattr(model.config, "_attn_implementation", None)
            reason = (str(e).strip().splitlines() or [""])[0].rstrip(".")
            raise RuntimeError(
                f"torch.export cannot trace this {self._extractor.model_type_} "
                f"classifier ({type(model).__name__}, attn_implementation="
                f"{attn!r}) with transformers {transformers.__version__} and "
                f"torch {torch.__version__}: {type(e).__name__}: {reason}. Serve "
                "it with AlienPredictor.predict, or export the head alone "
                "(export_head, or save(path, export=True)); a newer "
                "transformers release may trace it."
            ) from e

    # -- persistence --------------------------------------------------------------
    def save(self, path, *, export=False):
        """Write the classifier, tokenizer, head and settings into a directory.

        The classifier and tokenizer are written with ``save_pretrained``
        (the directory stays loadable by ``transformers``), the head's
        parameters as CPU tensors in ``alien_head.safetensors`` and the
        settings (head shape, labels, threshold, maximum length, ...) in
        ``alien_config.json``. Nothing is pickled.

        Parameters
        ----------
        path : str or path-like
            The directory (created if missing).
        export : bool, default=False
            Also write the head exported with :func:`export_head` to
            ``alien_head.pt2`` (load it with :func:`torch.export.load`); it
            takes logits and embedding in the classifier's dtype. An
            ``alien_head.pt2`` already in the directory is removed first, so
            ``export=False`` leaves none that could disagree with the head.
        """
        from safetensors.torch import save_file

        path = os.fspath(path)
        os.makedirs(path, exist_ok=True)
        # an exported head of an earlier save would disagree with this one
        exported_path = os.path.join(path, EXPORTED_HEAD_FILE)
        if os.path.lexists(exported_path):
            os.remove(exported_path)
        fe = self._extractor
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        state = {
            k: v.detach().to("cpu").contiguous()
            for k, v in self.head.state_dict().items()
        }
        save_file(state, os.path.join(path, HEAD_FILE))
        settings = {
            "format_version": FORMAT_VERSION,
            "head": self.head.config(),
            "classes": _classes_to_json(self.classes),
            # strict JSON has no infinity (an unreachable target's threshold)
            "threshold": (
                self.threshold
                if self.threshold is None or math.isfinite(self.threshold)
                else str(self.threshold)
            ),
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "model_type": fe.model_type_,
            "layer": self.module.layer,
            "model_dtype": fe.dtype_.removeprefix("torch."),
            "model_fingerprint": fe.model_fingerprint_,
            "tokenizer_fingerprint": fe.tokenizer_fingerprint_,
        }
        with open(os.path.join(path, SETTINGS_FILE), "w", encoding="utf-8") as f:
            json.dump(settings, f, indent=2, allow_nan=False)
        if export:
            cpu_head = AlienHead(**self.head.config())
            cpu_head.load_state_dict(state)
            program = export_head(
                cpu_head, input_dtype=fe.dtype_.removeprefix("torch.")
            )
            torch.export.save(program, exported_path)

    @classmethod
    def load(cls, path, *, device="auto", dtype="saved", **kwargs):
        """Load a directory written by :meth:`save`, offline.

        The head's tensors are read onto the CPU, then moved to ``device``,
        so a predictor saved on a GPU machine loads on a CPU-only one. The
        classifier's weights and tokenizer are checked against the
        fingerprints saved with the head (with a ``dtype`` other than the
        saved one, the weights are read once more in the saved dtype, on the
        CPU, for the check).

        Parameters
        ----------
        path : str or path-like
            The directory.
        device : {"auto", "cpu", "cuda", "mps"} or str, default="auto"
            Where to run.
        dtype : {"saved", "float32", "float16", "bfloat16"}, default="saved"
            Precision of the classifier; ``"saved"`` keeps the saved one.
        **kwargs
            Other parameters of :class:`AlienPredictor` (``batch_size``,
            ``threshold``, ``progress_bar``, ...), overriding the saved ones.

        Returns
        -------
        predictor : AlienPredictor
        """
        from safetensors.torch import load_file

        path = os.fspath(path)
        settings_path = os.path.join(path, SETTINGS_FILE)
        if not os.path.isfile(settings_path):
            raise ValueError(
                f"{path!r} holds no {SETTINGS_FILE}: not a directory written by "
                "AlienPredictor.save."
            )
        with open(settings_path, encoding="utf-8") as f:
            settings = json.load(f)
        version = settings.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{settings_path} has format_version={version!r}; this alien_sk "
                f"reads version {FORMAT_VERSION}."
            )
        head = AlienHead(**settings["head"])
        head.load_state_dict(load_file(os.path.join(path, HEAD_FILE), device="cpu"))
        classes = settings["classes"]
        kwargs.setdefault(
            "classes", np.asarray(classes["values"], dtype=np.dtype(classes["dtype"]))
        )
        threshold = settings["threshold"]
        kwargs.setdefault(
            "threshold", float(threshold) if isinstance(threshold, str) else threshold
        )
        kwargs.setdefault("max_length", settings["max_length"])
        kwargs.setdefault("batch_size", settings["batch_size"])
        kwargs.setdefault("local_files_only", True)
        if dtype == "saved":
            dtype = settings["model_dtype"]
        weights_ok = True
        if dtype != settings["model_dtype"]:
            # the fingerprint hashes the weights in the dtype they were saved
            # in: check them in that dtype (on the CPU, before the predictor's
            # own copy is loaded, so that only one copy is held at a time)
            check = FeatureExtractor(
                path,
                tokenizer=kwargs.get("tokenizer"),
                device="cpu",
                dtype=settings["model_dtype"],
                progress_bar=False,
                local_files_only=kwargs["local_files_only"],
            ).fit()
            weights_ok = check.model_fingerprint_ == settings["model_fingerprint"]
            del check
        predictor = cls(path, head, device=device, dtype=dtype, **kwargs)
        fe = predictor._extractor
        if fe.dtype_.removeprefix("torch.") == settings["model_dtype"]:
            weights_ok = fe.model_fingerprint_ == settings["model_fingerprint"]
        if not weights_ok or (
            not _same_tokenizer(fe._tokenizer, settings["tokenizer_fingerprint"])
        ):
            raise ValueError(
                f"the classifier or tokenizer in {path!r} differs from the one saved "
                "with the head (weights or tokenizer fingerprint mismatch): the "
                "head would read features it was not fitted on."
            )
        return predictor
