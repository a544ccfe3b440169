# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Selective prediction: answer when the uncertainty is low, abstain otherwise.

:func:`select_threshold` picks, on a held-out calibration set, the largest
uncertainty threshold whose selective risk (error rate among the accepted
samples, those with ``uncertainty <= threshold``) stays at or below a target.
Without correction this is an **empirical** bound: it holds on the calibration
data, not necessarily on new data. With ``correction="clopper-pearson"`` the
risk is replaced by a one-sided binomial (Clopper-Pearson) upper confidence
bound, made simultaneous over the candidate thresholds (Bonferroni), which
gives a finite-sample guarantee (see :func:`select_threshold`).
:func:`abstain_mask` applies a threshold to new scores, and
:class:`SelectiveClassifier` wraps an uncertainty estimator, calibrates the
threshold in ``fit`` and abstains in ``predict_abstain``.

This module imports only numpy, scipy and scikit-learn (never torch).
"""

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy.stats import beta
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from alien_sk._base import BaseUncertaintyEstimator
from alien_sk._utils import user_stacklevel
from alien_sk.exceptions import TargetRiskWarning
from alien_sk.metrics import _check_inputs, _predicted_labels

__all__ = [
    "SelectiveClassifier",
    "SelectiveThreshold",
    "abstain_mask",
    "clopper_pearson_upper_bound",
    "select_threshold",
]


@validate_params(
    {
        "n_errors": ["array-like", Interval(Real, 0, None, closed="left")],
        "n_samples": ["array-like", Interval(Real, 1, None, closed="left")],
        "confidence": [Interval(Real, 0, 1, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def clopper_pearson_upper_bound(n_errors, n_samples, *, confidence=0.9):
    """One-sided Clopper-Pearson upper confidence bound on an error rate.

    The exact binomial bound: the largest ``p`` such that observing at most
    ``n_errors`` errors among ``n_samples`` has probability ``>= 1 -
    confidence``, i.e. ``beta.ppf(confidence, n_errors + 1, n_samples -
    n_errors)``, and 1 when every sample is an error. With probability at
    least ``confidence`` the true error rate is at most this bound.

    Read more in the :ref:`User Guide <selective_guarantee>`.

    Parameters
    ----------
    n_errors : int or array-like of int
        Number of errors observed.
    n_samples : int or array-like of int
        Number of samples (>= 1, >= ``n_errors``).
    confidence : float, default=0.9
        Confidence level ``1 - delta``, in (0, 1).

    Returns
    -------
    bound : float or ndarray
        Upper bound(s), in [0, 1].

    References
    ----------
    Clopper, Pearson, "The use of confidence or fiducial limits illustrated
    in the case of the binomial", Biometrika, 1934.

    Examples
    --------
    >>> from alien_sk.selective import clopper_pearson_upper_bound
    >>> # no error in 10 samples: 1 - 0.1 ** (1 / 10)
    >>> round(float(clopper_pearson_upper_bound(0, 10, confidence=0.9)), 4)
    0.2057
    """
    k = np.asarray(n_errors, dtype=np.float64)
    n = np.asarray(n_samples, dtype=np.float64)
    if np.any(k < 0) or np.any(n < 1) or np.any(k > n):
        raise ValueError(
            "clopper_pearson_upper_bound needs 0 <= n_errors <= n_samples and "
            "n_samples >= 1."
        )
    full = k >= n
    bound = np.ones(np.broadcast(k, n).shape)
    kk, nn = np.broadcast_arrays(k, n)
    ok = ~np.broadcast_to(full, bound.shape)
    bound[ok] = beta.ppf(confidence, kk[ok] + 1, nn[ok] - kk[ok])
    return bound if bound.ndim else float(bound)


@dataclass(frozen=True)
class SelectiveThreshold:
    """Result of :func:`select_threshold`.

    A sample is accepted (answered) when its uncertainty is ``<= threshold``
    and abstained on otherwise.

    Read more in the :ref:`User Guide <selective_prediction>`.

    Attributes
    ----------
    threshold : float
        Uncertainty threshold.
    coverage : float
        Fraction of the calibration samples accepted.
    risk : float
        Empirical selective risk: error rate among the accepted calibration
        samples (at most ``target_risk`` when ``correction`` is None).
    risk_upper_bound : float or None
        Clopper-Pearson upper bound on the selective risk used for the choice
        (at most ``target_risk``), or None without correction.
    n_accepted : int
        Number of accepted calibration samples.
    n_errors : int
        Number of errors among them.
    target_risk : float
        The requested target.
    correction : str or None
        The correction used.
    delta : float
        Allowed failure probability of the corrected bound.

    Examples
    --------
    >>> from alien_sk.selective import select_threshold
    >>> sel = select_threshold([0, 0, 1, 1], [0, 0, 1, 0], [0.1, 0.2, 0.3, 0.9],
    ...                        target_risk=0.0)
    >>> sel.threshold, sel.coverage
    (0.3, 0.75)
    >>> sel.abstain([0.05, 0.5]).tolist()
    [False, True]
    """

    threshold: float
    coverage: float
    risk: float
    risk_upper_bound: float | None
    n_accepted: int
    n_errors: int
    target_risk: float
    correction: str | None
    delta: float

    def abstain(self, uncertainty):
        """Boolean mask, True where the prediction should be withheld.

        Parameters
        ----------
        uncertainty : array-like of shape (n_samples,)
            Uncertainty scores of new samples.

        Returns
        -------
        mask : ndarray of shape (n_samples,), bool
            ``uncertainty > threshold``.
        """
        return abstain_mask(uncertainty, self.threshold)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "uncertainty": ["array-like"],
        "target_risk": [Interval(Real, 0, 1, closed="both")],
        "correction": [StrOptions({"clopper-pearson"}), None],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "candidates": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def select_threshold(
    y_true,
    y_pred,
    uncertainty,
    *,
    target_risk,
    correction=None,
    delta=0.1,
    candidates=None,
):
    """Largest uncertainty threshold whose selective risk meets a target.

    For each candidate threshold ``t``, the calibration samples with
    ``uncertainty <= t`` are accepted; the selective risk is their error rate
    (errors are ``y_true != y_pred``). The largest ``t`` (hence the largest
    coverage) whose criterion is at most ``target_risk`` is returned. Tied
    uncertainties are accepted or rejected together.

    * ``correction=None``: the criterion is the empirical selective risk. The
      chosen threshold meets the target **on the calibration data only**; on
      new data the risk may be higher (it is an empirical, not a guaranteed,
      bound), all the more so with few accepted samples.
    * ``correction="clopper-pearson"``: the criterion is the one-sided
      Clopper-Pearson upper bound of the risk at confidence
      ``1 - delta / m``, where ``m`` is the number of candidate thresholds
      (Bonferroni), so that all the bounds hold together with probability
      ``>= 1 - delta``. If the calibration samples are i.i.d. from the test
      distribution and ``candidates`` is fixed in advance (independently of
      the calibration data), then with probability ``>= 1 - delta`` over the
      calibration set, the selective risk of the chosen threshold on new data
      is at most ``target_risk``. With the default candidates (the calibration
      scores themselves, as in Geifman & El-Yaniv's SGR) the candidate set
      depends on the data and the guarantee is approximate. The corrected
      threshold is never larger than the empirical one (a threshold must
      meet both the bound and the empirical risk, which matters only when
      ``delta / m > 1/2``).

    Read more in the :ref:`User Guide <selective_prediction>`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of the calibration set.
    y_pred : array-like of shape (n_samples,)
        Classifier predictions on the calibration set.
    uncertainty : array-like of shape (n_samples,)
        Uncertainty scores on the calibration set (higher = more likely wrong).
    target_risk : float in [0, 1]
        Highest acceptable selective risk.
    correction : {"clopper-pearson"} or None, default=None
        Finite-sample correction, see above.
    delta : float in (0, 1), default=0.1
        Allowed failure probability of the corrected bound (ignored without
        correction).
    candidates : array-like of shape (n_candidates,), default=None
        Candidate thresholds; None uses the distinct calibration
        uncertainties. Candidates that accept no calibration sample are
        skipped.

    Returns
    -------
    selection : SelectiveThreshold
        The threshold, the coverage and risk reached on the calibration set,
        and the bound used.

    Raises
    ------
    ValueError
        If no candidate threshold meets the target (even accepting only the
        most certain samples); the message gives the lowest value reached.

    References
    ----------
    Geifman, El-Yaniv, "Selective Classification for Deep Neural Networks",
    NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.selective import select_threshold
    >>> y_true = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    >>> y_pred = np.array([0, 1, 1, 0, 1, 1, 1, 0])   # rows 5 and 7 wrong
    >>> u = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    >>> sel = select_threshold(y_true, y_pred, u, target_risk=0.2)
    >>> sel.threshold, sel.coverage, round(sel.risk, 4)   # 1 error in 7
    (0.7, 0.875, 0.1429)
    """
    errors, uncertainty, _ = _check_inputs(y_true, y_pred, uncertainty)
    selection, message = _select(
        errors, uncertainty, target_risk, correction, delta, candidates
    )
    if selection is None:
        raise ValueError(message)
    return selection


def _select(errors, uncertainty, target_risk, correction, delta, candidates=None):
    """Core of :func:`select_threshold`; ``(None, message)`` when unreachable."""
    order = np.argsort(uncertainty, kind="mergesort")
    u_sorted = uncertainty[order]
    cum_errors = np.cumsum(errors[order])
    if candidates is None:
        cand = np.unique(u_sorted)
    else:
        cand = np.unique(np.asarray(candidates, dtype=np.float64).ravel())
        if cand.shape[0] == 0 or np.isnan(cand).any():
            raise ValueError("candidates must be a non-empty array without NaN.")
    n_accepted = np.searchsorted(u_sorted, cand, side="right")
    keep = n_accepted > 0
    if not keep.any():
        return None, (
            "No candidate threshold accepts any calibration sample: every "
            f"candidate is below the smallest uncertainty {u_sorted[0]!r}."
        )
    m = cand.shape[0]
    cand, n_accepted = cand[keep], n_accepted[keep]
    n_err = cum_errors[n_accepted - 1]
    risk = n_err / n_accepted
    if correction is None:
        criterion = risk
    else:
        # the bound lies below the empirical risk only when its confidence
        # 1 - delta/m is under 1/2; the max keeps the corrected threshold
        # never looser than the empirical one
        criterion = np.maximum(
            risk,
            clopper_pearson_upper_bound(n_err, n_accepted, confidence=1 - delta / m),
        )
    ok = np.flatnonzero(criterion <= target_risk)
    if ok.shape[0] == 0:
        best = int(np.argmin(criterion))
        what = (
            "empirical selective risk"
            if correction is None
            else f"Clopper-Pearson upper bound (delta={delta}, {m} candidates)"
        )
        fix = (
            "a larger target_risk"
            if correction is None
            else "a larger target_risk, a larger delta or more calibration samples"
        )
        return None, (
            f"target_risk={target_risk} is unreachable: no threshold keeps the "
            f"{what} at or below it; the lowest is {criterion[best]:.4g} (at "
            f"coverage {n_accepted[best] / u_sorted.shape[0]:.4g}). Use {fix}."
        )
    i = ok[-1]
    selection = SelectiveThreshold(
        threshold=float(cand[i]),
        coverage=float(n_accepted[i] / u_sorted.shape[0]),
        risk=float(risk[i]),
        risk_upper_bound=None if correction is None else float(criterion[i]),
        n_accepted=int(n_accepted[i]),
        n_errors=int(n_err[i]),
        target_risk=float(target_risk),
        correction=correction,
        delta=float(delta),
    )
    return selection, None


@validate_params(
    {"uncertainty": ["array-like"], "threshold": [Real]},
    prefer_skip_nested_validation=True,
)
def abstain_mask(uncertainty, threshold):
    """Where to abstain: ``uncertainty > threshold``.

    Read more in the :ref:`User Guide <selective_prediction>`.

    Parameters
    ----------
    uncertainty : array-like of shape (n_samples,)
        Uncertainty scores.
    threshold : float
        Threshold, e.g. ``select_threshold(...).threshold``.

    Returns
    -------
    mask : ndarray of shape (n_samples,), bool
        True where the prediction should be withheld.

    Examples
    --------
    >>> from alien_sk.selective import abstain_mask
    >>> abstain_mask([0.1, 0.5, 0.9], 0.5).tolist()
    [False, False, True]
    """
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    if uncertainty.ndim != 1:
        raise ValueError(
            "uncertainty should be a 1d array, got an array of shape "
            f"{uncertainty.shape} instead."
        )
    if np.isnan(uncertainty).any():
        raise ValueError(
            "uncertainty contains NaN (first at row "
            f"{int(np.flatnonzero(np.isnan(uncertainty))[0])})."
        )
    if threshold != threshold:  # NaN: every comparison would answer
        raise ValueError("threshold is NaN.")
    return uncertainty > threshold


def _final_estimator(estimator):
    """The estimator that reads ``[logits | embedding]``: through a
    :class:`~sklearn.frozen.FrozenEstimator` and to a Pipeline's last step."""
    if isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def _with_n_logits_from(estimator, y):
    """Fix an ``n_logits="auto"`` estimator's logit count on all labels ``y``.

    The fit part of the split may miss a class; counting the logits on it
    would read a logit column as embedding. Labels that do not index the
    logits (strings without ``classes``) are left to the estimator to reject.
    """
    params = estimator.get_params(deep=False)
    if params.get("n_logits") != "auto" or params.get("classes") is not None:
        return estimator
    from alien_sk.baselines import MaxProb

    probe = MaxProb()
    try:
        probe._resolve_labels(y)
    except ValueError:
        return estimator
    return estimator.set_params(n_logits=probe.n_logits_)


class SelectiveClassifier(MetaEstimatorMixin, BaseEstimator):
    """Classifier predictions with abstention at a calibrated uncertainty.

    ``fit`` fits the uncertainty ``estimator`` and chooses, with
    :func:`select_threshold`, the largest threshold whose selective risk on a
    calibration set is at most ``target_risk``. ``predict`` returns the
    classifier's labels (read from the logits in ``X`` as in
    :func:`~alien_sk.metrics.make_uncertainty_scorer`) and ``predict_abstain``
    flags the samples whose uncertainty is above the threshold.

    Calibration data:

    * by default ``estimator`` is cloned and fitted on a random part of
      ``(X, y)`` (stratified by label when every class has two samples; an
      ``n_logits="auto"`` estimator gets the logit count of all of ``y``),
      and the threshold is calibrated on the other part
      (``calibration_size`` of the samples), so that it is not chosen on the
      data the uncertainty was fitted on;
    * an estimator wrapped in :class:`sklearn.frozen.FrozenEstimator` is used
      as already fitted, and all of ``(X, y)`` calibrates the threshold: pass
      your held-out calibration set to ``fit``.

    Without ``correction`` the risk bound is empirical (met on the calibration
    data, not guaranteed on new data); see :func:`select_threshold` for the
    Clopper-Pearson correction. When the target is unreachable, a
    :class:`~alien_sk.exceptions.TargetRiskWarning` is raised and the
    classifier abstains on every sample (``threshold_ = -inf``).

    Read more in the :ref:`User Guide <selective_prediction>`.

    Parameters
    ----------
    estimator : uncertainty estimator, default=None
        Estimator with ``fit`` and ``predict_uncertainty`` over
        ``X = [logits | embedding]``, such as
        :class:`~alien_sk.AlienUncertaintyEstimator`. None uses
        :class:`~alien_sk.baselines.MaxProb`. An estimator with
        ``n_logits="auto"`` (the default one included) counts the logits on
        all of ``y``: when ``y`` may miss the model's last classes, pass one
        with ``n_logits`` or ``classes`` set, e.g. ``MaxProb(n_logits=3)``,
        else a logit column is read as embedding.
    target_risk : float in [0, 1], default=0.1
        Highest acceptable error rate among the answered samples.
    correction : {"clopper-pearson"} or None, default=None
        Finite-sample correction of the risk (see :func:`select_threshold`).
    delta : float in (0, 1), default=0.1
        Failure probability of the corrected bound.
    calibration_size : float in (0, 1), default=0.5
        Fraction of ``(X, y)`` held out to calibrate the threshold (ignored
        for a ``FrozenEstimator``).
    random_state : int, RandomState instance or None, default=None
        Seeds the fit/calibration split.

    Attributes
    ----------
    estimator_ : estimator
        The fitted uncertainty estimator.
    selection_ : SelectiveThreshold or None
        The calibration result (None when the target was unreachable).
    threshold_ : float
        Uncertainty threshold: answer when ``uncertainty <= threshold_``.
    coverage_ : float
        Fraction of the calibration samples answered.
    risk_ : float
        Error rate among the answered calibration samples (nan when none).
    classes_ : ndarray
        Class labels, from ``estimator_``.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    select_threshold : The threshold choice.
    abstain_mask : Apply a threshold to scores.

    Examples
    --------
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> from alien_sk.selective import SelectiveClassifier
    >>> X, y = make_classifier_outputs(n_samples=400, entropy_signal=2.0,
    ...                                random_state=0)
    >>> clf = SelectiveClassifier(target_risk=0.1, random_state=0).fit(X, y)
    >>> bool(clf.risk_ <= 0.1), bool(0 < clf.coverage_ < 1)
    (True, True)
    >>> clf.predict_abstain(X[:5]).shape
    (5,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_uncertainty"]), None],
        "target_risk": [Interval(Real, 0, 1, closed="both")],
        "correction": [StrOptions({"clopper-pearson"}), None],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "calibration_size": [Interval(RealNotInt, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        target_risk=0.1,
        correction=None,
        delta=0.1,
        calibration_size=0.5,
        random_state=None,
    ):
        self.estimator = estimator
        self.target_risk = target_risk
        self.correction = correction
        self.delta = delta
        self.calibration_size = calibration_size
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags

    @_fit_context(
        # the inner estimator's parameters are validated in its own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y):
        """Fit the uncertainty estimator and calibrate the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        self : SelectiveClassifier
            Fitted estimator.
        """
        # sets n_features_in_ / feature_names_in_; X itself goes unchanged to
        # the inner estimator, which validates it again
        validate_data(self, X, y, reset=True, ensure_min_samples=2)
        if self.estimator is None:
            from alien_sk.baselines import MaxProb

            estimator = MaxProb()
        else:
            estimator = self.estimator
        y_arr = np.asarray(y)
        if isinstance(estimator, FrozenEstimator):
            self.estimator_ = estimator
            X_cal, y_cal = X, y
            # every label must be one the fitted estimator knows: an unknown
            # one would count as a plain misclassification (rows are X's own)
            final = _final_estimator(estimator)
            if hasattr(final, "_encode_labels"):
                final._encode_labels(y_arr)
        else:
            inner = _with_n_logits_from(clone(estimator), y_arr)
            final = _final_estimator(inner)
            if isinstance(final, BaseUncertaintyEstimator):
                # validate the labels (and, without a Pipeline, X) on all rows
                # first: the inner fit sees a shuffled part of them, and its
                # messages would name rows of that part
                probe = clone(final)
                if final is inner:
                    probe._validate_fit_data(X, y)
                else:
                    probe._resolve_labels(y_arr)
                    probe._encode_labels(y_arr)
            # stratified by label where every class has two samples, so that
            # the fit part sees every class
            _, counts = np.unique(y_arr, return_counts=True)
            try:
                X_fit, X_cal, y_fit, y_cal = train_test_split(
                    X,
                    y,
                    test_size=self.calibration_size,
                    random_state=self.random_state,
                    stratify=y_arr if counts.min() >= 2 else None,
                )
            except ValueError:  # too few samples to stratify
                X_fit, X_cal, y_fit, y_cal = train_test_split(
                    X,
                    y,
                    test_size=self.calibration_size,
                    random_state=self.random_state,
                )
            self.estimator_ = inner
            self.estimator_.fit(X_fit, y_fit)
        uncertainty = np.asarray(self.estimator_.predict_uncertainty(X_cal))
        y_pred = _predicted_labels(self.estimator_, X_cal, None)
        errors, uncertainty, _ = _check_inputs(np.asarray(y_cal), y_pred, uncertainty)
        self.selection_, message = _select(
            errors, uncertainty, self.target_risk, self.correction, self.delta
        )
        if self.selection_ is None:
            warnings.warn(
                message + " SelectiveClassifier will abstain on every sample.",
                TargetRiskWarning,
                stacklevel=user_stacklevel(),
            )
            self.threshold_, self.coverage_, self.risk_ = -np.inf, 0.0, np.nan
        else:
            self.threshold_ = self.selection_.threshold
            self.coverage_ = self.selection_.coverage
            self.risk_ = self.selection_.risk
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    def predict_uncertainty(self, X):
        """Uncertainty of the fitted estimator (higher = more likely wrong).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            ``estimator_.predict_uncertainty(X)``.
        """
        check_is_fitted(self)
        # the names and width seen in fit (X passes on unconverted): a frozen
        # estimator fitted on an array cannot check a DataFrame's columns
        validate_data(self, X, reset=False, skip_check_array=True)
        return self.estimator_.predict_uncertainty(X)

    def predict(self, X):
        """The classifier's predicted labels (abstention not applied).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels; combine with :meth:`predict_abstain` to withhold some.
        """
        check_is_fitted(self)
        validate_data(self, X, reset=False)
        return _predicted_labels(self.estimator_, X, None)

    def predict_abstain(self, X):
        """Where to abstain: ``predict_uncertainty(X) > threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        mask : ndarray of shape (n_samples,), bool
            True where the prediction should be withheld.
        """
        return abstain_mask(self.predict_uncertainty(X), self.threshold_)

    def score(self, X, y, sample_weight=None):
        """Misclassification ROC-AUC of the uncertainty, as every estimator here.

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
            ``estimator_.score(X, y)``; use
            :func:`~alien_sk.metrics.make_uncertainty_scorer` for other
            metrics.
        """
        check_is_fitted(self)
        validate_data(self, X, reset=False, skip_check_array=True)
        return self.estimator_.score(X, y, sample_weight=sample_weight)
