# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Metrics that judge an uncertainty score by the classifier errors it predicts.

Every function takes ``(y_true, y_pred, uncertainty, ...)``: the true labels,
the classifier's predicted labels and one uncertainty score per sample (higher
means "more likely wrong"). The classifier is wrong where ``y_true != y_pred``.

Conventions shared by the ranking metrics (:func:`risk_coverage_curve`,
:func:`aurc`, :func:`e_aurc`, :func:`augrc`, :func:`prediction_rejection_ratio`):

* samples are ordered by increasing uncertainty; ``risk(k)`` is the error rate
  among the ``k`` most certain samples;
* **ties** never depend on the input order: inside a group of tied
  uncertainties, the cumulative error count is the expected value over every
  order of the group, i.e. it is interpolated linearly inside the group;
* with ``sample_weight``, the weights are rescaled to sum to Kish's
  effective sample size ``(sum w)^2 / sum w^2`` (``n`` for equal weights),
  and sample ``i`` then counts as ``w_i`` positions of the ranking, as if
  repeated ``w_i`` times (extended to fractional weights through the
  digamma function); ties are handled as above over these positions.
  Hence: equal weights give exactly the unweighted results, scaling the
  weights changes nothing, samples of zero weight are ignored (and a weight
  tending to 0 tends to that), and a ranking with every error after every
  correct sample has E-AURC 0 and PRR 1 whatever the weights. Integer
  weights are not the same as repeated rows: repeating rows also changes
  ``n``, on which :func:`aurc` depends (``risk(k)`` is averaged over
  ``k = 1..n``).

This module imports only numpy, scipy and scikit-learn (never torch).
"""

import copy
import inspect
import warnings
from numbers import Integral, Number

import numpy as np
from scipy.stats import rankdata
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight, check_consistent_length

from alien_sk._utils import user_stacklevel

__all__ = [
    "UNCERTAINTY_SCORERS",
    "augrc",
    "aurc",
    "e_aurc",
    "expected_calibration_error",
    "get_uncertainty_scorer",
    "get_uncertainty_scorer_names",
    "make_uncertainty_scorer",
    "misclassification_roc_auc",
    "prediction_rejection_ratio",
    "risk_coverage_curve",
]

_COMMON_CONSTRAINTS = {
    "y_true": ["array-like"],
    "y_pred": ["array-like"],
    "uncertainty": ["array-like"],
}
_WEIGHTED_CONSTRAINTS = {**_COMMON_CONSTRAINTS, "sample_weight": ["array-like", None]}


# -- validation ----------------------------------------------------------------
def _check_1d(values, name):
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} should be a 1d array, got an array of shape {arr.shape} instead."
        )
    return arr


def _first_row(mask):
    return int(np.flatnonzero(mask)[0])


def _check_labels_no_nan(arr, name):
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(
            f"{name} contains NaN (first at row {_first_row(np.isnan(arr))})."
        )
    if arr.dtype.kind == "O":
        # pandas and object arrays: None, NaN and pd.NA are missing labels
        missing = np.fromiter(
            (
                v is None or (isinstance(v, float) and v != v) or _is_pd_na(v)
                for v in arr
            ),
            dtype=bool,
            count=arr.shape[0],
        )
        if missing.any():
            raise ValueError(
                f"{name} contains a missing label ({arr[_first_row(missing)]!r} at "
                f"row {_first_row(missing)})."
            )


def _is_pd_na(value):
    # pandas.NA, without importing pandas
    return type(value).__name__ == "NAType"


def _label_kind(arr):
    """``"text"``, ``"number"`` or ``"other"``: what the labels of ``arr`` are."""
    if arr.dtype.kind in "US":
        return "text"
    if arr.dtype.kind in "biuf":
        return "number"
    if arr.dtype.kind == "O":
        kinds = {
            "text"
            if isinstance(v, str)
            else "number"
            if isinstance(v, (Number, np.number))
            else "other"
            for v in arr
        }
        if len(kinds) == 1:
            return kinds.pop()
    return "other"


def _check_inputs(y_true, y_pred, uncertainty, sample_weight=None):
    """Validate the common inputs; return ``errors, uncertainty, weight``.

    ``errors`` is a bool array (``y_true != y_pred``), ``uncertainty`` float64
    and ``weight`` a float64 array of non-negative weights (all ones when
    ``sample_weight`` is None).
    """
    y_true = _check_1d(y_true, "y_true")
    y_pred = _check_1d(y_pred, "y_pred")
    uncertainty = _check_1d(uncertainty, "uncertainty")
    check_consistent_length(y_true, y_pred, uncertainty, sample_weight)
    if y_true.shape[0] == 0:
        raise ValueError("Found empty input: y_true, y_pred and uncertainty are empty.")
    try:
        uncertainty = uncertainty.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"uncertainty must hold numbers; got dtype {uncertainty.dtype}."
        ) from e
    if np.isnan(uncertainty).any():
        raise ValueError(
            f"uncertainty contains NaN (first at row "
            f"{_first_row(np.isnan(uncertainty))})."
        )
    _check_labels_no_nan(y_true, "y_true")
    _check_labels_no_nan(y_pred, "y_pred")
    if {_label_kind(y_true), _label_kind(y_pred)} == {"text", "number"}:
        raise ValueError(
            f"y_true (dtype {y_true.dtype}) and y_pred (dtype {y_pred.dtype}) hold "
            "labels of different types, so they cannot be compared."
        )
    errors = np.asarray(y_true != y_pred, dtype=bool)
    weight = _check_sample_weight(
        sample_weight, uncertainty, dtype=np.float64, ensure_non_negative=True
    )
    return errors, uncertainty, weight


# -- ranking core ------------------------------------------------------------------
def _sorted_groups(errors, uncertainty, weight):
    """Aggregate the samples into groups of tied uncertainty, ascending.

    Returns the group thresholds, their weight masses, error masses and sample
    counts, after dropping samples of zero weight.
    """
    keep = weight > 0
    errors, uncertainty, weight = errors[keep], uncertainty[keep], weight[keep]
    order = np.argsort(uncertainty, kind="mergesort")
    u = uncertainty[order]
    w = weight[order]
    e = errors[order].astype(np.float64) * w
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    mass = np.add.reduceat(w, starts)
    err_mass = np.add.reduceat(e, starts)
    counts = np.diff(np.r_[starts, u.shape[0]])
    return u[starts], mass, err_mass, counts


def _expected_positions(errors, uncertainty, weight):
    """Per-position coverage mass, width and expected error count (unweighted).

    For position ``t = 1..n_g`` inside tie group ``g`` spanning the positions
    ``A_g + 1 .. A_g + n_g`` with ``err_g`` errors: width 1, cumulative count
    ``C = A_g + t`` and expected cumulative errors ``E = E_g + (err_g / n_g) t``
    (the expected value over the orders of the group), so ``C = k`` and
    ``E = E(k)``, the expected number of errors among the ``k`` most certain
    samples.
    """
    _, mass, err_mass, counts = _sorted_groups(errors, uncertainty, weight)
    cum_mass_before = np.cumsum(mass) - mass
    cum_err_before = np.cumsum(err_mass) - err_mass
    gid = np.repeat(np.arange(mass.shape[0]), counts)
    t = np.arange(gid.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    width = (mass / counts)[gid]
    step = t * width
    cum_mass = cum_mass_before[gid] + step
    cum_err = cum_err_before[gid] + (err_mass / mass)[gid] * step
    return width, cum_mass, cum_err, float(mass.sum())


def _unit_masses(errors, uncertainty, weight):
    """Tie groups in units of positions: weights rescaled to a total of
    Kish's effective sample size.

    None when the positive weights are all equal (the unweighted formulas
    then apply, exactly); else :func:`_mass_groups` of the rescaled weights.
    """
    w = weight[weight > 0]
    if w.shape[0] == 0 or np.all(w == w[0]):
        return None
    # total = Kish's effective sample size (sum w)^2 / sum w^2: n for equal
    # weights, independent of their scale, and continuous as a weight -> 0
    w_rel = weight / w.max()
    total = w_rel.sum() ** 2 / np.dot(w_rel, w_rel)
    return _mass_groups(errors, uncertainty, w_rel * (total / w_rel.sum()))


def _mass_groups(errors, uncertainty, mass):
    """Per tie group (ascending): positions ``m``, positions before ``A``,
    errors before ``E``, error rate ``r``; and the total ``N``.

    Sample ``i`` counts as ``mass[i]`` positions (an integer mass is the
    sample repeated that many times).
    """
    _, m, err, _ = _sorted_groups(errors, uncertainty, mass)
    A = np.cumsum(m) - m
    E = np.cumsum(err) - err
    return m, A, E, err / m, float(m.sum())


def _digamma_diff(x, m):
    """``psi(x + m) - psi(x)`` for ``x >= 1``, ``m > 0``, accurate for large x.

    For an integer ``m`` it is ``sum_{t=1..m} 1 / (x - 1 + t)``. Above
    ``x = 30`` the asymptotic series of psi is used, with the differences of
    its terms written without cancellation.
    """
    from scipy.special import digamma

    x, m = np.broadcast_arrays(np.asarray(x, float), np.asarray(m, float))
    out = np.empty(x.shape)
    small = x < 30
    out[small] = digamma(x[small] + m[small]) - digamma(x[small])
    xs, ms = x[~small], m[~small]
    ys = xs + ms
    out[~small] = (
        np.log1p(ms / xs)
        + ms / (2 * xs * ys)
        + ms * (xs + ys) / (12 * xs**2 * ys**2)
        - (xs**-4 - ys**-4) / 120
        + (xs**-6 - ys**-6) / 252
    )
    return out


def _aurc(errors, uncertainty, weight):
    groups = _unit_masses(errors, uncertainty, weight)
    if groups is None:
        width, cum_mass, cum_err, total = _expected_positions(
            errors, uncertainty, np.ones_like(weight) * (weight > 0)
        )
        return float(np.sum(width * cum_err / cum_mass) / total)
    return _aurc_of_groups(*groups)


def _aurc_of_groups(m, A, E, r, total):
    # group g holds the positions A + t, t in (0, m], with expected errors
    # E + r t: sum_t (E + r t) / (A + t) = m r + (E - A r) sum_t 1 / (A + t)
    sums = m * r + (E - A * r) * _digamma_diff(A + 1, m)
    return float(sums.sum() / total)


def _augrc(errors, uncertainty, weight):
    groups = _unit_masses(errors, uncertainty, weight)
    if groups is None:
        width, _, cum_err, total = _expected_positions(
            errors, uncertainty, np.ones_like(weight) * (weight > 0)
        )
        return float(np.sum(width * cum_err) / total**2)
    return _augrc_of_groups(*groups)


def _augrc_of_groups(m, A, E, r, total):
    # sum_t (E + r t) over t = 1..m, extended to fractional m
    return float(np.sum(m * E + r * m * (m + 1) / 2) / total**2)


def _ideal_uncertainty(errors):
    """An uncertainty that ranks every correct sample before every error."""
    return errors.astype(np.float64)


# -- public metrics --------------------------------------------------------------
@validate_params(_WEIGHTED_CONSTRAINTS, prefer_skip_nested_validation=True)
def misclassification_roc_auc(y_true, y_pred, uncertainty, *, sample_weight=None):
    """ROC-AUC of the uncertainty as a detector of the classifier's errors.

    ``roc_auc_score(errors, uncertainty)`` with ``errors = y_true != y_pred``
    as the positive class: the probability that a random misclassified sample
    gets a higher uncertainty than a random correct one (ties count one half).
    0.5 is chance, 1 is a perfect error detector.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Labels predicted by the classifier.
    uncertainty : array-like of shape (n_samples,)
        Uncertainty scores, higher means more likely wrong. Any real values,
        infinities included (only their order matters); NaN is rejected.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    auc : float
        Misclassification ROC-AUC. When the classifier makes no error, or only
        errors, the AUC is undefined: an ``UndefinedMetricWarning`` is raised
        and ``nan`` returned.

    See Also
    --------
    sklearn.metrics.roc_auc_score : The underlying computation.

    Examples
    --------
    >>> from alien_sk.metrics import misclassification_roc_auc
    >>> y_true = [0, 1, 1, 0]
    >>> y_pred = [0, 1, 0, 1]          # the last two predictions are wrong
    >>> misclassification_roc_auc(y_true, y_pred, [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    errors, uncertainty, weight = _check_inputs(
        y_true, y_pred, uncertainty, sample_weight
    )
    positive = weight > 0
    if errors[positive].all() or not errors[positive].any():
        warnings.warn(
            "misclassification ROC-AUC is undefined: the classifier makes "
            + ("no error" if not errors[positive].any() else "only errors")
            + f" on these {errors.shape[0]} samples; returning nan.",
            UndefinedMetricWarning,
            stacklevel=user_stacklevel(),
        )
        return float("nan")
    if not np.isfinite(uncertainty).all():
        # roc_auc_score rejects infinities; the AUC only depends on the order
        uncertainty = rankdata(uncertainty, method="dense").astype(np.float64)
    return float(roc_auc_score(errors, uncertainty, sample_weight=weight))


@validate_params(_WEIGHTED_CONSTRAINTS, prefer_skip_nested_validation=True)
def risk_coverage_curve(y_true, y_pred, uncertainty, *, sample_weight=None):
    """Selective risk against coverage, one point per distinct uncertainty.

    Accepting the samples whose uncertainty is at most ``thresholds[i]``
    covers the fraction ``coverage[i]`` of the data with error rate
    ``risk[i]``. Like :func:`sklearn.metrics.roc_curve`, points sit at the
    distinct score values, so the curve does not depend on the input order.
    Coverage 0 (risk undefined) is not included; the last point has coverage 1
    and the overall error rate as risk.

    :func:`aurc` is the mean of the per-sample expected risks. Without
    sample weights and when all uncertainties are distinct it equals the
    right-endpoint step sum ``sum_i risk[i] * (coverage[i] - coverage[i - 1])``
    over these points (with ``coverage[-1] = 0``), not a trapezoid over them;
    with ties it averages over the orders of the tied samples. With sample
    weights, sample ``i`` counts as ``w_i`` positions of the ranking (see the
    module docstring), which the step sum over these points does not
    reproduce.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Labels predicted by the classifier.
    uncertainty : array-like of shape (n_samples,)
        Uncertainty scores, higher means more likely wrong.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; coverage and risk are then weighted fractions.

    Returns
    -------
    coverage : ndarray of shape (n_thresholds,)
        Increasing fraction of the (weighted) samples accepted.
    risk : ndarray of shape (n_thresholds,)
        (Weighted) error rate among the accepted samples.
    thresholds : ndarray of shape (n_thresholds,)
        Increasing distinct uncertainty values; a sample is accepted at
        ``thresholds[i]`` when its uncertainty is ``<= thresholds[i]``.

    Examples
    --------
    >>> from alien_sk.metrics import risk_coverage_curve
    >>> coverage, risk, thresholds = risk_coverage_curve(
    ...     [0, 1, 1, 0], [0, 1, 0, 1], [0.1, 0.4, 0.4, 0.8])
    >>> coverage
    array([0.25, 0.75, 1.  ])
    >>> risk.round(4)
    array([0.    , 0.3333, 0.5   ])
    >>> thresholds
    array([0.1, 0.4, 0.8])
    """
    errors, uncertainty, weight = _check_inputs(
        y_true, y_pred, uncertainty, sample_weight
    )
    thresholds, mass, err_mass, _ = _sorted_groups(errors, uncertainty, weight)
    cum_mass = np.cumsum(mass)
    coverage = cum_mass / cum_mass[-1]
    risk = np.cumsum(err_mass) / cum_mass
    return coverage, risk, thresholds


_RANKING_PARAMS_DOC = """y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Labels predicted by the classifier.
    uncertainty : array-like of shape (n_samples,)
        Uncertainty scores, higher means more likely wrong. Any real values,
        infinities included (only their order matters); NaN is rejected.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (see the module docstring for how they enter the
        coverage axis); unit weights give the unweighted value."""


def _doc(func):
    func.__doc__ = func.__doc__.replace("{params}", _RANKING_PARAMS_DOC)
    return func


@validate_params(_WEIGHTED_CONSTRAINTS, prefer_skip_nested_validation=True)
@_doc
def aurc(y_true, y_pred, uncertainty, *, sample_weight=None):
    """Area under the risk-coverage curve, as a mean over coverage levels.

    ``AURC = (1 / n) * sum_{k=1..n} risk(k)``, where ``risk(k) = E(k) / k`` and
    ``E(k)`` is the expected number of errors among the ``k`` most certain
    samples (ties: expected value over the orders of each tied group, i.e.
    linear interpolation of the cumulative error count inside the group). It
    lies in [0, 1]; lower is better. All correct gives 0, all wrong 1, and a
    constant uncertainty gives the error rate.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    {params}

    Returns
    -------
    aurc : float
        Area under the risk-coverage curve, in [0, 1].

    References
    ----------
    Geifman, Uziel, El-Yaniv, "Bias-Reduced Uncertainty Estimation for Deep
    Neural Classifiers", ICLR 2019.

    Examples
    --------
    >>> from alien_sk.metrics import aurc
    >>> # sorted by uncertainty the errors are [0, 1, 1]: risks 0, 1/2, 2/3
    >>> round(aurc([0, 1, 1], [0, 0, 0], [0.1, 0.5, 0.9]), 6)
    0.388889
    """
    errors, uncertainty, weight = _check_inputs(
        y_true, y_pred, uncertainty, sample_weight
    )
    return _aurc(errors, uncertainty, weight)


@validate_params(_WEIGHTED_CONSTRAINTS, prefer_skip_nested_validation=True)
@_doc
def e_aurc(y_true, y_pred, uncertainty, *, sample_weight=None):
    """Excess AURC: :func:`aurc` minus the AURC of the ideal ranking.

    The ideal ranking puts every correct sample before every error, so its
    risk is ``max(0, k - n_correct) / k``. E-AURC is 0 for a perfect ranking
    (and whenever the classifier makes no error, or only errors) and is
    non-negative without sample weights; lower is better.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    {params}

    Returns
    -------
    e_aurc : float
        ``aurc(uncertainty) - aurc(ideal uncertainty)``.

    References
    ----------
    Geifman, Uziel, El-Yaniv, "Bias-Reduced Uncertainty Estimation for Deep
    Neural Classifiers", ICLR 2019.

    Examples
    --------
    >>> from alien_sk.metrics import e_aurc
    >>> # errors [0, 1, 1] are already ideally ranked
    >>> e_aurc([0, 1, 1], [0, 0, 0], [0.1, 0.5, 0.9])
    0.0
    >>> round(e_aurc([0, 1, 1], [0, 0, 0], [0.9, 0.5, 0.1]), 6)  # 1, 1, 2/3
    0.5
    """
    errors, uncertainty, weight = _check_inputs(
        y_true, y_pred, uncertainty, sample_weight
    )
    return _aurc(errors, uncertainty, weight) - _aurc(
        errors, _ideal_uncertainty(errors), weight
    )


@validate_params(_WEIGHTED_CONSTRAINTS, prefer_skip_nested_validation=True)
@_doc
def augrc(y_true, y_pred, uncertainty, *, sample_weight=None):
    """Area under the generalized risk-coverage curve (Traub et al., 2024).

    The generalized risk at coverage ``k / n`` counts the errors among the
    ``k`` most certain samples over *all* samples: ``E(k) / n``. Then
    ``AUGRC = (1 / n) * sum_{k=1..n} E(k) / n``, with ties handled as in
    :func:`aurc`; lower is better. All correct gives 0 and all wrong the
    maximum, ``(n + 1) / (2 n)`` (just above 1/2); a constant uncertainty gives
    ``error_rate * (n + 1) / (2 n)``.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    {params}

    Returns
    -------
    augrc : float
        Area under the generalized risk-coverage curve.

    References
    ----------
    Traub, Bungert, Lüth, Baumgartner, Maier-Hein, Jaeger, Jäger,
    "Overcoming Common Flaws in the Evaluation of Selective Classification
    Systems", NeurIPS 2024.

    Examples
    --------
    >>> from alien_sk.metrics import augrc
    >>> # errors [0, 1, 1] by increasing uncertainty: E(k) = 0, 1, 2
    >>> round(augrc([0, 1, 1], [0, 0, 0], [0.1, 0.5, 0.9]), 6)
    0.333333
    """
    errors, uncertainty, weight = _check_inputs(
        y_true, y_pred, uncertainty, sample_weight
    )
    return _augrc(errors, uncertainty, weight)


@validate_params(_WEIGHTED_CONSTRAINTS, prefer_skip_nested_validation=True)
@_doc
def prediction_rejection_ratio(y_true, y_pred, uncertainty, *, sample_weight=None):
    """Prediction rejection ratio (PRR) of Malinin et al.

    Reject the most uncertain samples and let an oracle answer them; the
    rejection curve is the error count of the retained samples divided by
    *all* samples, against the rejected fraction. With ``AR`` the area under
    that curve,
    ``PRR = (AR_random - AR_uncertainty) / (AR_random - AR_oracle)``,
    where the random rejection curve is a straight line and the oracle rejects
    errors first. It is 1 for a perfect ranking, 0 for a random (or constant)
    one, negative when worse than random.

    Computed from :func:`augrc`: the rejection curve at rejected fraction
    ``1 - k / n`` is the generalized risk ``E(k) / n``, so, with every area
    taken as the mean over ``k = 1..n``,
    ``PRR = (AUGRC_const - AUGRC) / (AUGRC_const - AUGRC_ideal)``, where
    ``AUGRC_const`` is that of a constant uncertainty (expected random
    rejection: ``E(k) = k * error_rate``) and ``AUGRC_ideal`` that of the ideal
    ranking (see :func:`e_aurc`). The trapezoidal areas over ``k = 0..n`` give
    the same ratio, since the three curves meet at both ends.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    {params}

    Returns
    -------
    prr : float
        Prediction rejection ratio, at most 1. When the classifier makes no
        error, or only errors, the oracle is no better than random and PRR is
        undefined: an ``UndefinedMetricWarning`` is raised and ``nan`` returned.

    References
    ----------
    Malinin, "Uncertainty Estimation in Deep Learning with Application to
    Spoken Language Assessment", PhD thesis, University of Cambridge, 2019;
    Malinin, Prokhorenkova, Ustimenko, "Uncertainty in Gradient Boosting via
    Ensembles", ICLR 2021.

    Examples
    --------
    >>> from alien_sk.metrics import prediction_rejection_ratio
    >>> y_true, y_pred = [0, 1, 1, 0], [0, 1, 0, 1]
    >>> prediction_rejection_ratio(y_true, y_pred, [0.1, 0.2, 0.8, 0.9])
    1.0
    >>> prediction_rejection_ratio(y_true, y_pred, [0.5, 0.5, 0.5, 0.5])
    0.0
    """
    errors, uncertainty, weight = _check_inputs(
        y_true, y_pred, uncertainty, sample_weight
    )
    positive = weight > 0
    if errors[positive].all() or not errors[positive].any():
        warnings.warn(
            "prediction rejection ratio is undefined: the classifier makes "
            + ("no error" if not errors[positive].any() else "only errors")
            + f" on these {errors.shape[0]} samples; returning nan.",
            UndefinedMetricWarning,
            stacklevel=user_stacklevel(),
        )
        return float("nan")
    ar_unc = _augrc(errors, uncertainty, weight)
    ar_random = _augrc(errors, np.zeros_like(uncertainty), weight)
    ar_oracle = _augrc(errors, _ideal_uncertainty(errors), weight)
    return float((ar_random - ar_unc) / (ar_random - ar_oracle))


@validate_params(
    {
        **_COMMON_CONSTRAINTS,
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"uniform", "quantile"})],
    },
    prefer_skip_nested_validation=True,
)
def expected_calibration_error(
    y_true, y_pred, uncertainty, *, n_bins=15, strategy="uniform"
):
    """Expected calibration error of the uncertainty read as P(error).

    The confidence ``1 - uncertainty`` is compared with the correctness
    ``y_true == y_pred``: ``ECE = sum_b (n_b / n) * |acc_b - conf_b|`` over
    the bins ``b``, where ``acc_b`` is the accuracy and ``conf_b`` the mean
    confidence of the ``n_b`` samples in bin ``b`` (empty bins contribute 0).
    Bins are right-closed as in :func:`sklearn.calibration.calibration_curve`:
    a confidence equal to an inner edge falls in the lower bin, 0 in the first
    bin and 1 in the last. Tables in the benchmarks print it ×100. Like
    ``calibration_curve``, it takes no ``sample_weight``.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Labels predicted by the classifier.
    uncertainty : array-like of shape (n_samples,)
        Estimated probability that the prediction is wrong, in [0, 1].
    n_bins : int, default=15
        Number of bins (15 is the torchmetrics default).
    strategy : {"uniform", "quantile"}, default="uniform"
        ``"uniform"``: bins of equal width on [0, 1]. ``"quantile"``: edges at
        the quantiles of the confidences (from their minimum to their
        maximum), so that bins hold about the same number of samples.

    Returns
    -------
    ece : float
        Expected calibration error, in [0, 1]; lower is better.

    References
    ----------
    Naeini, Cooper, Hauskrecht, "Obtaining Well Calibrated Probabilities
    Using Bayesian Binning", AAAI 2015; Guo, Pleiss, Sun, Weinberger, "On
    Calibration of Modern Neural Networks", ICML 2017.

    Examples
    --------
    >>> from alien_sk.metrics import expected_calibration_error
    >>> y_true, y_pred = [0, 1, 1, 0], [0, 1, 0, 1]
    >>> # confidences 0.75 (correct twice) and 0.25 (wrong twice), 2 bins:
    >>> # |1 - 0.75| / 2 + |0 - 0.25| / 2
    >>> expected_calibration_error(y_true, y_pred, [0.25, 0.25, 0.75, 0.75],
    ...                            n_bins=2)
    0.25
    """
    errors, uncertainty, _ = _check_inputs(y_true, y_pred, uncertainty)
    if uncertainty.min() < 0 or uncertainty.max() > 1:
        raise ValueError("uncertainty has values outside [0, 1].")
    confidence = 1.0 - uncertainty
    correct = (~errors).astype(np.float64)
    acc_sum, conf_sum, _ = _calibration_bins(correct, confidence, n_bins, strategy)
    return float(np.abs(acc_sum - conf_sum).sum() / confidence.shape[0])


def _calibration_bins(correct, confidence, n_bins, strategy):
    """Per-bin sums of ``correct`` and ``confidence``, and counts.

    The bins are :func:`sklearn.calibration.calibration_curve`'s, to the last
    bit (quantile edges land on data values, so the percentile positions
    must be computed as it does, or tied confidences switch bins).
    """
    if strategy == "quantile":
        edges = np.percentile(confidence, np.linspace(0, 1, n_bins + 1) * 100)
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_ids = np.searchsorted(edges[1:-1], confidence)
    return (
        np.bincount(bin_ids, weights=correct, minlength=n_bins),
        np.bincount(bin_ids, weights=confidence, minlength=n_bins),
        np.bincount(bin_ids, minlength=n_bins),
    )


# -- scorers ---------------------------------------------------------------------
# metric -> whether a larger value is better, for greater_is_better="auto"
_KNOWN_DIRECTIONS = {
    misclassification_roc_auc: True,
    prediction_rejection_ratio: True,
    aurc: False,
    e_aurc: False,
    augrc: False,
    expected_calibration_error: False,
}


def _predicted_labels(estimator, X, classifier):
    """The classifier's predicted labels on ``X`` (see make_uncertainty_scorer).

    A :class:`~sklearn.pipeline.Pipeline` is looked through: ``X`` goes through
    its transformers and the labels come from its final step.
    """
    if classifier is not None:
        return np.asarray(classifier.predict(X))
    final, X = _final_step(estimator, X)
    base = getattr(final, "classifier_", None)
    if base is not None and hasattr(base, "predict"):
        return np.asarray(base.predict(X))
    if hasattr(final, "n_logits_") and hasattr(final, "classes_"):
        logits = np.asarray(X)[:, : final.n_logits_]
        return np.asarray(final.classes_)[logits.argmax(axis=1)]
    if hasattr(final, "predict"):
        return np.asarray(final.predict(X))
    raise ValueError(
        f"Cannot tell the classifier's predictions for {type(final).__name__}: "
        "it has no n_logits_/classes_ (logits in X), no fitted classifier_ and no "
        "predict method. Pass classifier=<fitted classifier> to "
        "make_uncertainty_scorer."
    )


def _final_step(estimator, X):
    """``(final estimator, X transformed up to it)``; a non-Pipeline as is.

    A :class:`~sklearn.frozen.FrozenEstimator` is unwrapped first; the
    transformers of a Pipeline run in turn (none for a one-step Pipeline).
    """
    from sklearn.pipeline import Pipeline

    while True:
        inner = getattr(estimator, "estimator", None)
        if type(estimator).__name__ == "FrozenEstimator" and inner is not None:
            estimator = inner
        elif isinstance(estimator, Pipeline):
            for _, _, step in estimator._iter(with_final=False):
                X = step.transform(X)
            estimator = estimator.steps[-1][1]
        else:
            return estimator, X


def _labels_and_uncertainty(estimator, X, classifier=None):
    """Predicted labels and uncertainty of a fitted estimator on ``X``.

    A Pipeline's transformers run once for both.
    """
    if not hasattr(estimator, "predict_uncertainty"):
        raise TypeError(
            f"{type(estimator).__name__} has no predict_uncertainty method; "
            "uncertainty scorers and displays need an uncertainty estimator."
        )
    if classifier is not None:
        return _predicted_labels(None, X, classifier), np.asarray(
            estimator.predict_uncertainty(X)
        )
    final, Xt = _final_step(estimator, X)
    return _predicted_labels(final, Xt, None), np.asarray(final.predict_uncertainty(Xt))


class _UncertaintyScorer:
    """Callable ``scorer(estimator, X, y, sample_weight=None)``; see
    :func:`make_uncertainty_scorer`."""

    def __init__(self, metric, sign, kwargs, classifier=None):
        self._metric = metric
        self._sign = sign
        self._kwargs = kwargs
        self._classifier = classifier

    def __call__(self, estimator, X, y, sample_weight=None):
        y_pred, uncertainty = _labels_and_uncertainty(estimator, X, self._classifier)
        kwargs = dict(self._kwargs)
        if sample_weight is not None:
            if not self._takes_sample_weight():
                raise TypeError(
                    f"{getattr(self._metric, '__name__', self._metric)} does not "
                    "take sample_weight, so this scorer cannot use it."
                )
            kwargs["sample_weight"] = sample_weight
        return self._sign * self._metric(np.asarray(y), y_pred, uncertainty, **kwargs)

    def _takes_sample_weight(self):
        params = inspect.signature(self._metric).parameters
        return "sample_weight" in params or any(
            q.kind is inspect.Parameter.VAR_KEYWORD for q in params.values()
        )

    def set_score_request(self, *, sample_weight=None):
        """Request ``sample_weight`` under metadata routing, as sklearn scorers.

        Only available with ``sklearn.set_config(enable_metadata_routing=True)``.

        Parameters
        ----------
        sample_weight : bool, str or None, default=None
            True: ``cross_validate(..., params={"sample_weight": w})`` and
            ``GridSearchCV.fit(..., sample_weight=w)`` pass the weights of
            each test fold to this scorer; a str: the name they are passed
            under; False or None: not requested.

        Returns
        -------
        self : object
            The scorer.
        """
        from sklearn import get_config
        from sklearn.utils.metadata_routing import MetadataRequest

        if not get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "This method is only available when metadata routing is enabled."
                " You can enable it using"
                " sklearn.set_config(enable_metadata_routing=True)."
            )
        if sample_weight not in (None, False) and not self._takes_sample_weight():
            raise TypeError(
                f"{getattr(self._metric, '__name__', self._metric)} does not "
                "take sample_weight, so this scorer cannot request it."
            )
        self._metadata_request = MetadataRequest(owner=type(self).__name__)
        self._metadata_request.score.add_request(
            param="sample_weight", alias=sample_weight
        )
        return self

    def get_metadata_routing(self):
        """The metadata this scorer requests (see :meth:`set_score_request`).

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
            Nothing requested unless :meth:`set_score_request` was called.
        """
        from sklearn.utils.metadata_routing import MetadataRequest

        request = getattr(self, "_metadata_request", None)
        return (
            request
            if request is not None
            else MetadataRequest(owner=type(self).__name__)
        )

    def __repr__(self):
        name = getattr(self._metric, "__name__", repr(self._metric))
        args = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        direction = "" if self._sign > 0 else ", greater_is_better=False"
        return f"make_uncertainty_scorer({name}{direction}{args})"


@validate_params(
    {
        "metric": [callable],
        "greater_is_better": ["boolean", StrOptions({"auto"})],
        "classifier": [HasMethods(["predict"]), None],
    },
    prefer_skip_nested_validation=True,
)
def make_uncertainty_scorer(
    metric, *, greater_is_better="auto", classifier=None, **kwargs
):
    """Make a scorer ``scorer(estimator, X, y)`` from an uncertainty metric.

    The scorer computes ``metric(y, y_pred, estimator.predict_uncertainty(X),
    **kwargs)`` (times -1 when lower is better), so that it can be passed as
    ``GridSearchCV(..., scoring=scorer)`` for any estimator that has
    ``predict_uncertainty``, alone or in a dict of several scorers with
    ``refit=<name>``. ``y_pred``, the classifier's predictions on ``X``, is
    taken from the first of:

    1. ``classifier.predict(X)`` when ``classifier`` is given here;
    2. ``estimator.classifier_.predict(X)`` when the estimator holds a fitted
       base classifier in ``classifier_`` (meta-estimators);
    3. the logits inside ``X``: ``estimator.classes_[argmax(X[:, :n_logits_])]``
       when the estimator has ``n_logits_`` and ``classes_`` (every
       :class:`~alien_sk._base.BaseUncertaintyEstimator`, hence the same
       errors as ``estimator.score``);
    4. ``estimator.predict(X)``.

    A :class:`~sklearn.pipeline.Pipeline` (e.g. an
    :class:`~alien_sk.pipeline.UncertaintyPipeline` of a
    :class:`~alien_sk.FeatureExtractor` and an estimator) is looked through:
    ``X`` goes through its transformers once, and 2-4 apply to its final
    step. ``sample_weight`` passed to the scorer goes to the metric; a metric
    without that parameter raises ``TypeError`` rather than ignoring it.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_pred, uncertainty, **kwargs) -> float``, such as
        :func:`aurc`.
    greater_is_better : bool or "auto", default="auto"
        Whether a larger metric is better; when False the scorer returns the
        negated metric (sklearn's ``neg_*`` convention). ``"auto"`` knows the
        metrics of this module and raises ``ValueError`` for any other metric.
    classifier : estimator with ``predict``, default=None
        A fitted classifier whose ``predict(X)`` gives ``y_pred`` on the same
        ``X`` the uncertainty estimator reads.
    **kwargs : dict
        Extra keyword arguments of ``metric`` (e.g. ``n_bins``).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``, greater is
        better. ``sample_weight``, when given, is passed to the metric. Under
        metadata routing, ``scorer.set_score_request(sample_weight=True)``
        asks cross-validation tools for the weights, as scikit-learn's
        scorers do.

    See Also
    --------
    get_uncertainty_scorer : Named scorers of this module.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.metrics import aurc, make_uncertainty_scorer
    >>> from alien_sk._base import BaseUncertaintyEstimator
    >>> class OneMinusMaxLogit(BaseUncertaintyEstimator):
    ...     def fit(self, X, y):
    ...         self._validate_fit_data(X, y)
    ...         return self
    ...     def predict_uncertainty(self, X):
    ...         X = self._validate_predict_data(X)
    ...         return -X[:, : self.n_logits_].max(axis=1)
    >>> X = np.array([[2.0, 0.0], [0.1, 0.0], [0.0, 3.0], [0.0, 0.2]])
    >>> y = np.array([0, 1, 1, 0])
    >>> scorer = make_uncertainty_scorer(aurc)
    >>> scorer
    make_uncertainty_scorer(aurc, greater_is_better=False)
    >>> est = OneMinusMaxLogit().fit(X, y)
    >>> # errors ranked last: risks 0, 0, 1/3, 1/2
    >>> round(scorer(est, X, y), 6)
    -0.208333
    """
    if greater_is_better == "auto":
        if metric not in _KNOWN_DIRECTIONS:
            raise ValueError(
                f"greater_is_better='auto' only knows the metrics of alien_sk.metrics; "
                f"set greater_is_better=True or False for {metric!r}."
            )
        greater_is_better = _KNOWN_DIRECTIONS[metric]
    return _UncertaintyScorer(
        metric, 1 if greater_is_better else -1, kwargs, classifier=classifier
    )


UNCERTAINTY_SCORERS = {
    "misclassification_roc_auc": make_uncertainty_scorer(misclassification_roc_auc),
    "neg_aurc": make_uncertainty_scorer(aurc),
    "neg_e_aurc": make_uncertainty_scorer(e_aurc),
    "neg_augrc": make_uncertainty_scorer(augrc),
    "neg_ece": make_uncertainty_scorer(expected_calibration_error),
    "prr": make_uncertainty_scorer(prediction_rejection_ratio),
}
"""Named uncertainty scorers, greater is better (``neg_*`` are negated)."""


def get_uncertainty_scorer_names():
    """Names of the uncertainty scorers known to :func:`get_uncertainty_scorer`.

    Read more in the :ref:`User Guide <metrics>`.

    Returns
    -------
    names : list of str
        Sorted names.

    Examples
    --------
    >>> from alien_sk.metrics import get_uncertainty_scorer_names
    >>> get_uncertainty_scorer_names()[:3]
    ['misclassification_roc_auc', 'neg_augrc', 'neg_aurc']
    """
    return sorted(UNCERTAINTY_SCORERS)


@validate_params(
    {"name": [StrOptions(set(UNCERTAINTY_SCORERS))]},
    prefer_skip_nested_validation=True,
)
def get_uncertainty_scorer(name):
    """Return a named uncertainty scorer (see :data:`UNCERTAINTY_SCORERS`).

    ``"misclassification_roc_auc"`` and ``"prr"`` are the metrics themselves;
    ``"neg_aurc"``, ``"neg_e_aurc"``, ``"neg_augrc"`` and ``"neg_ece"`` are the
    negated metrics, so that greater is always better, as
    ``GridSearchCV`` expects. ``"neg_ece"`` needs uncertainties in [0, 1].

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    name : str
        One of :func:`get_uncertainty_scorer_names`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    Examples
    --------
    >>> from alien_sk.metrics import get_uncertainty_scorer
    >>> get_uncertainty_scorer("neg_ece")
    make_uncertainty_scorer(expected_calibration_error, greater_is_better=False)

    Each call returns a new object, as :func:`sklearn.metrics.get_scorer`
    does, so that a metadata request set on it (``set_score_request``) stays
    with the caller:

    >>> get_uncertainty_scorer("neg_aurc") is get_uncertainty_scorer("neg_aurc")
    False
    """
    return copy.deepcopy(UNCERTAINTY_SCORERS[name])
