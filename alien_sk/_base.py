# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The protocol shared by every uncertainty estimator in alien_sk.

Every estimator takes ``X = [logits | embedding]`` and the true labels ``y``,
and offers ``fit(X, y)``, ``predict_uncertainty(X)`` (higher means more likely
wrong) and ``score(X, y)`` = misclassification ROC-AUC, so that
``GridSearchCV`` works with no ``scoring`` argument.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data


def _item(value):
    """A numpy scalar as the Python value it holds (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _first_row(mask):
    return int(np.flatnonzero(mask)[0])


class BaseUncertaintyEstimator(BaseEstimator):
    """Base class of uncertainty estimators over ``[logits | embedding]``.

    Subclasses implement ``fit`` (calling :meth:`_validate_fit_data` first) and
    ``predict_uncertainty`` (calling :meth:`_validate_predict_data`). This base
    resolves the logit/label layout (``n_logits_``, ``classes_``), computes the
    classifier's errors ``argmax(logits) != y`` and scores by
    misclassification ROC-AUC.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk._base import BaseUncertaintyEstimator
    >>> class MaxLogit(BaseUncertaintyEstimator):
    ...     def fit(self, X, y):
    ...         self._validate_fit_data(X, y)
    ...         return self
    ...     def predict_uncertainty(self, X):
    ...         X = self._validate_predict_data(X)
    ...         return -X[:, : self.n_logits_].max(axis=1)
    >>> X = np.array([[2.0, 0.0], [0.1, 0.0], [0.0, 3.0], [0.0, 0.2]])
    >>> y = np.array([0, 1, 1, 0])   # rows 1 and 3 are misclassified
    >>> MaxLogit().fit(X, y).score(X, y)
    1.0
    """

    _parameter_constraints: dict = {
        "n_logits": [StrOptions({"auto"}), Interval(Integral, 2, None, closed="left")],
        "classes": ["array-like", None],
    }

    #: minimum number of embedding columns after the logits (0: logits only)
    _min_embedding_dim = 0

    def __init__(self, n_logits="auto", classes=None):
        self.n_logits = n_logits
        self.classes = classes

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags

    # -- layout ---------------------------------------------------------------
    def _resolve_labels(self, y):
        """Set ``classes_`` and ``n_logits_`` from the parameters and ``y``."""
        if self.classes is not None:
            classes = np.asarray(self.classes)
            if classes.ndim != 1 or classes.shape[0] < 2:
                raise ValueError(
                    "classes must be a 1-D array-like of at least 2 label values "
                    f"in logit order; got shape {classes.shape}."
                )
            uniq, counts = np.unique(classes, return_counts=True)
            if np.any(counts > 1):
                raise ValueError(
                    f"classes must not repeat a label; {uniq[counts > 1].tolist()} "
                    "appear more than once."
                )
            if self.n_logits != "auto" and self.n_logits != classes.shape[0]:
                raise ValueError(
                    f"n_logits={self.n_logits} is inconsistent with classes, which "
                    f"holds {classes.shape[0]} labels."
                )
            self.classes_ = classes
            self.n_logits_ = int(classes.shape[0])
            self._labels_map_through_classes = True
            return
        self._labels_map_through_classes = False

        y_int = self._integer_labels(y)
        if self.n_logits == "auto":
            if y_int.shape[0] and y_int.min() < 0:
                row = _first_row(y_int < 0)
                raise ValueError(
                    f"label {int(y_int[row])} at row {row} is negative: integer "
                    "labels index the logits (0 to n_logits - 1); labels of other "
                    "values need the `classes` parameter."
                )
            n_distinct = np.unique(y_int).shape[0]
            if n_distinct < 2:
                raise ValueError(
                    f"y holds a single class ({y_int[0]!r}), so n_logits='auto' "
                    "cannot tell how many logits X has; set n_logits (or classes) "
                    "explicitly."
                )
            # integer labels index the logits: label k implies at least k + 1
            # logits, even when a class between 0 and k is missing from y
            self.n_logits_ = int(max(n_distinct, y_int.max() + 1))
        else:
            self.n_logits_ = int(self.n_logits)
        self.classes_ = np.arange(self.n_logits_)

    @staticmethod
    def _integer_labels(y):
        y = np.asarray(y)
        if y.dtype.kind in "iub":
            return y.astype(np.int64)
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            return y.astype(np.int64)
        bad = 0
        if y.dtype.kind == "f":
            bad = _first_row(~np.isfinite(y) | (y != np.round(y)))
        if y.dtype.kind == "O":
            # integers held in an object array (e.g. from a pandas column)
            is_int = np.array([isinstance(v, Integral) for v in y.ravel()], bool)
            if is_int.all():
                return y.astype(np.int64)
            bad = _first_row(~is_int)
        raise ValueError(
            f"y holds non-integer labels (e.g. {_item(y[bad])!r} at row {bad}). "
            "Integer labels index the logits directly; other label types need "
            "the `classes` parameter (label values in logit order). Unknown label "
            f"type for integer indexing: dtype {y.dtype}."
        )

    def _encode_labels(self, y):
        """Map true labels to logit indices, naming any unknown label."""
        y = np.asarray(y)
        # the fitted mapping, not the current `classes` parameter (set_params
        # after fit must not change how a fitted estimator reads labels)
        if getattr(self, "_labels_map_through_classes", self.classes is not None):
            classes = self.classes_
            sorter = np.argsort(classes, kind="stable")
            try:
                pos = np.searchsorted(classes, y, sorter=sorter)
            except TypeError as e:
                raise ValueError(
                    f"y's labels (dtype {y.dtype}) cannot be compared with classes "
                    f"(dtype {classes.dtype})."
                ) from e
            pos = np.clip(pos, 0, classes.shape[0] - 1)
            idx = sorter[pos]
            found = classes[idx]
            kinds = {found.dtype.kind, y.dtype.kind}
            if len(kinds) > 1 and kinds & set("USO"):
                # text against numbers: numpy < 2 compares such arrays as a
                # whole (one scalar and a FutureWarning); compare as objects
                found, y = found.astype(object), y.astype(object)
            unknown = np.not_equal(found, y)
            if np.any(unknown):
                row = _first_row(unknown)
                raise ValueError(
                    f"y contains labels not in classes: "
                    f"{np.unique(y[unknown]).tolist()} (first at row {row}); "
                    f"classes={classes.tolist()}."
                )
            return idx.astype(np.int64)
        y_int = self._integer_labels(y)
        bad = (y_int < 0) | (y_int >= self.n_logits_)
        if np.any(bad):
            row = _first_row(bad)
            raise ValueError(
                f"label {y_int[row]} at row {row} is outside [0, {self.n_logits_}): "
                f"integer labels index the {self.n_logits_} logits. With "
                "n_logits='auto' a cross-validation fold may miss a class; set "
                "n_logits (or classes) explicitly."
            )
        return y_int

    def _check_width(self, X):
        min_cols = self.n_logits_ + self._min_embedding_dim
        if X.shape[1] < min_cols:
            need = (
                f"{self.n_logits_} logits"
                if self._min_embedding_dim == 0
                else f"{self.n_logits_} logits followed by an embedding"
            )
            raise ValueError(
                f"X has {X.shape[1]} columns but must hold at least {min_cols}: "
                f"{need} (X = [logits | embedding], n_logits_={self.n_logits_}, "
                f"n_features = {X.shape[1]})."
            )

    def _check_logit_range(self, X):
        # softmax subtracts the row maximum; a spread beyond float64's range
        # (logits over ~1e308 in size) would turn 0 * log(0) into NaN scores
        logits = X[:, : self.n_logits_]
        with np.errstate(over="ignore"):
            spread = logits.max(axis=1).astype(np.float64) - logits.min(axis=1)
        bad = ~np.isfinite(spread)
        if bad.any():
            row = _first_row(bad)
            raise ValueError(
                f"The logits of row {row} span more than float64 can hold "
                f"(from {logits[row].min():.3g} to {logits[row].max():.3g}); "
                "softmax is undefined there. Were the logit columns scaled?"
            )

    # -- validation entry points ---------------------------------------------
    def _validate_fit_data(self, X, y):
        """Validate ``X, y`` at fit time.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), float64 or float32
        y_idx : ndarray of shape (n_samples,), logit index of each true label
        errors : ndarray of shape (n_samples,), bool, ``argmax(logits) != y``
        """
        X, y = validate_data(
            self,
            X,
            y,
            reset=True,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
        )
        self._resolve_labels(y)
        self._check_width(X)
        self._check_logit_range(X)
        y_idx = self._encode_labels(y)
        errors = X[:, : self.n_logits_].argmax(axis=1) != y_idx
        return X, y_idx, errors

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        self._check_logit_range(X)
        return X

    def _errors(self, X, y):
        """Misclassification indicator ``argmax(logits) != y`` for fitted layout."""
        X = np.asarray(X)
        y_idx = self._encode_labels(np.asarray(y).ravel())
        if X.shape[0] != y_idx.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} rows but y has {y_idx.shape[0]} labels."
            )
        return X[:, : self.n_logits_].argmax(axis=1) != y_idx

    # -- scoring ----------------------------------------------------------------
    def score(self, X, y, sample_weight=None):
        """Misclassification ROC-AUC of the uncertainty scores on ``(X, y)``.

        The positive class is "the classifier is wrong", ``argmax(logits) !=
        y``; higher is better (0.5 = chance). When ``y`` has no error, or only
        errors, the AUC is undefined: an ``UndefinedMetricWarning`` is raised
        and ``nan`` returned.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            ``roc_auc_score(errors, predict_uncertainty(X))``
            (:func:`~alien_sk.metrics.misclassification_roc_auc`; infinite
            scores count by their order).
        """
        from alien_sk.metrics import misclassification_roc_auc

        uncertainty = self.predict_uncertainty(X)
        errors = self._errors(X, y)
        # errors as "true labels" against all-zero "predictions": the metric
        # handles infinite scores and zero weights
        return misclassification_roc_auc(
            errors.astype(np.int8),
            np.zeros_like(errors, dtype=np.int8),
            uncertainty,
            sample_weight=sample_weight,
        )
