# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Visualisations of uncertainty scores: risk-coverage and reliability diagrams.

The Displays follow scikit-learn's :class:`~sklearn.calibration.CalibrationDisplay`
and :class:`~sklearn.metrics.RocCurveDisplay`: ``__init__`` stores the arrays,
:meth:`plot` draws them and sets ``line_``, ``ax_`` and ``figure_``, and the
class methods ``from_estimator`` and ``from_predictions`` compute the arrays
with :mod:`alien_sk.metrics` first. Several methods can share one axis (pass
``ax=``); the legend shows each method's AURC or ECE.

matplotlib is optional: it is imported only when something is drawn, with an
``ImportError`` naming the ``plot`` extra when it is missing.
"""

import numpy as np

__all__ = ["ReliabilityDisplay", "RiskCoverageDisplay"]

_INSTALL_HINT = "You can install matplotlib with `pip install alien-sk[plot]`"


def _check_matplotlib_support(caller_name):
    """Raise a helpful ``ImportError`` when matplotlib is not installed.

    Parameters
    ----------
    caller_name : str
        Name of the function or method that needs matplotlib.

    Examples
    --------
    >>> from alien_sk.plotting import _check_matplotlib_support
    >>> _check_matplotlib_support("RiskCoverageDisplay.plot")
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{caller_name} requires matplotlib. {_INSTALL_HINT}.") from e


def _get_ax(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


def _style(defaults, user):
    from sklearn.utils._plotting import _validate_style_kwargs

    return _validate_style_kwargs(defaults, user)


def _scoring_estimator(estimator):
    """The estimator whose ``predict_uncertainty`` gives the scores.

    Looks through a :class:`~sklearn.frozen.FrozenEstimator`, the last step
    of a Pipeline and a fitted :class:`~alien_sk.selective.SelectiveClassifier`,
    without running anything.
    """
    from sklearn.pipeline import Pipeline

    while True:
        if isinstance(estimator, Pipeline):
            estimator = estimator.steps[-1][1]
        elif type(estimator).__name__ == "FrozenEstimator":
            estimator = estimator.estimator
        elif hasattr(estimator, "estimator_") and hasattr(estimator, "threshold_"):
            estimator = estimator.estimator_  # SelectiveClassifier
        else:
            return estimator


def _estimator_outputs(estimator, X, caller):
    """Predicted labels and uncertainty of a fitted uncertainty estimator.

    The predictions come from the logits inside ``X`` (``argmax`` of the first
    ``n_logits_`` columns, mapped through ``classes_``) when the estimator
    reads them, else from its ``predict`` method; a Pipeline is looked
    through (its transformers run once).
    """
    from sklearn.utils.validation import check_is_fitted

    from alien_sk.metrics import _labels_and_uncertainty

    if not hasattr(estimator, "predict_uncertainty"):
        raise TypeError(
            f"{caller} needs an uncertainty estimator with a `predict_uncertainty` "
            f"method; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    try:
        return _labels_and_uncertainty(estimator, X)
    except ValueError as e:
        if "Cannot tell the classifier's predictions" not in str(e):
            raise
        raise TypeError(
            f"{caller} cannot tell the classifier's predictions: "
            f"{type(estimator).__name__} has neither `n_logits_` (logits inside X) "
            "nor a `predict` method."
        ) from None


class RiskCoverageDisplay:
    """Risk-coverage curve of an uncertainty score.

    Samples are accepted in order of increasing uncertainty; the curve shows
    the error rate of the accepted samples (selective risk) against the
    fraction accepted (coverage). Lower is better; drawn as a step function
    from coverage 0, each point's risk held back to the previous point, its
    area is the AURC (:func:`alien_sk.metrics.aurc`) when all scores are
    distinct; the line drawn joins the points. Build it with
    :meth:`from_estimator` or :meth:`from_predictions`, which compute the
    arrays with :func:`alien_sk.metrics.risk_coverage_curve`.

    Read more in the :ref:`User Guide <visualizations>`.

    Parameters
    ----------
    coverage : ndarray of shape (n_thresholds,)
        Fraction of samples accepted, increasing.
    risk : ndarray of shape (n_thresholds,)
        Error rate among the accepted samples.
    aurc : float, default=None
        Area under the curve, shown in the legend when given.
    name : str, default=None
        Name of the method, shown in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The curve.
    ax_ : matplotlib Axes
        Axes holding the curve.
    figure_ : matplotlib Figure
        Figure holding the curve.

    See Also
    --------
    ReliabilityDisplay : Calibration of the uncertainty as P(error).
    alien_sk.metrics.risk_coverage_curve : The arrays drawn here.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from alien_sk.baselines import Entropy, MaxProb
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> from alien_sk.plotting import RiskCoverageDisplay
    >>> X, y = make_classifier_outputs(n_samples=200, entropy_signal=2.0,
    ...                                random_state=0)
    >>> disp = RiskCoverageDisplay.from_estimator(Entropy().fit(X, y), X, y)
    >>> disp = RiskCoverageDisplay.from_estimator(MaxProb().fit(X, y), X, y,
    ...                                           ax=disp.ax_)
    >>> [t.get_text()[:15] for t in disp.ax_.get_legend().get_texts()]
    ['Entropy (AURC =', 'MaxProb (AURC =']
    """

    def __init__(self, *, coverage, risk, aurc=None, name=None):
        self.coverage = coverage
        self.risk = risk
        self.aurc = aurc
        self.name = name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure. Pass the ``ax_`` of
            another Display to compare methods on one axis.
        name : str, default=None
            Legend name; None uses the ``name`` given at construction.
        **kwargs : dict
            Keyword arguments passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : RiskCoverageDisplay
            The object, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        _check_matplotlib_support(f"{type(self).__name__}.plot")
        ax = _get_ax(ax)
        name = self.name if name is None else name
        label = name
        if self.aurc is not None:
            label = (
                f"AURC = {self.aurc:.3f}"
                if name is None
                else f"{name} (AURC = {self.aurc:.3f})"
            )
        style = _style({"label": label} if label is not None else {}, kwargs)
        (self.line_,) = ax.plot(self.coverage, self.risk, **style)
        ax.set(xlabel="Coverage", ylabel="Selective risk (error rate)", xlim=(0, 1.01))
        if label is not None:
            ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        uncertainty,
        *,
        sample_weight=None,
        name=None,
        ax=None,
        **kwargs,
    ):
        """Risk-coverage curve from labels, predictions and uncertainty scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,)
            Labels predicted by the classifier.
        uncertainty : array-like of shape (n_samples,)
            Uncertainty scores (any real values; higher = less trusted).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        name : str, default=None
            Legend name.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.
        **kwargs : dict
            Keyword arguments passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : RiskCoverageDisplay
            The drawn display.
        """
        _check_matplotlib_support(f"{cls.__name__}.from_predictions")
        from alien_sk.metrics import aurc, risk_coverage_curve

        coverage, risk, _ = risk_coverage_curve(
            y_true, y_pred, uncertainty, sample_weight=sample_weight
        )
        area = aurc(y_true, y_pred, uncertainty, sample_weight=sample_weight)
        disp = cls(coverage=coverage, risk=risk, aurc=area, name=name)
        return disp.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, sample_weight=None, name=None, ax=None, **kwargs
    ):
        """Risk-coverage curve of a fitted uncertainty estimator on ``(X, y)``.

        The classifier's predictions are read from the logits inside ``X``
        (or from ``estimator.predict`` when the estimator has no
        ``n_logits_``).

        Parameters
        ----------
        estimator : estimator
            Fitted estimator with ``predict_uncertainty``.
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        name : str, default=None
            Legend name; None uses the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.
        **kwargs : dict
            Keyword arguments passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : RiskCoverageDisplay
            The drawn display.
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_matplotlib_support(caller)
        y_pred, uncertainty = _estimator_outputs(estimator, X, caller)
        return cls.from_predictions(
            y,
            y_pred,
            uncertainty,
            sample_weight=sample_weight,
            name=type(estimator).__name__ if name is None else name,
            ax=ax,
            **kwargs,
        )


class ReliabilityDisplay:
    """Reliability diagram of an uncertainty score read as P(error).

    The confidence ``1 - uncertainty`` is binned (as in
    :func:`sklearn.calibration.calibration_curve`, right-closed bins) and each
    non-empty bin's accuracy is drawn against its mean confidence; a
    calibrated score lies on the diagonal. The legend shows the ECE
    (:func:`alien_sk.metrics.expected_calibration_error`). Only for scores in
    [0, 1]; unbounded scores (e.g. :class:`~alien_sk.baselines.Mahalanobis`)
    have no calibration.

    Read more in the :ref:`User Guide <visualizations>`.

    Parameters
    ----------
    accuracy : ndarray of shape (n_nonempty_bins,)
        Fraction of correct predictions in each non-empty bin.
    confidence : ndarray of shape (n_nonempty_bins,)
        Mean confidence ``1 - uncertainty`` in each non-empty bin.
    ece : float, default=None
        Expected calibration error, shown in the legend when given.
    name : str, default=None
        Name of the method, shown in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The reliability curve.
    ax_ : matplotlib Axes
        Axes holding the curve.
    figure_ : matplotlib Figure
        Figure holding the curve.

    See Also
    --------
    RiskCoverageDisplay : Selective risk against coverage.
    sklearn.calibration.CalibrationDisplay : The same for class probabilities.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from alien_sk.baselines import Entropy
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> from alien_sk.plotting import ReliabilityDisplay
    >>> X, y = make_classifier_outputs(n_samples=200, random_state=0)
    >>> disp = ReliabilityDisplay.from_estimator(Entropy().fit(X, y), X, y, n_bins=5)
    >>> disp.line_.get_label()[:13]
    'Entropy (ECE '
    """

    def __init__(self, *, accuracy, confidence, ece=None, name=None):
        self.accuracy = accuracy
        self.confidence = confidence
        self.ece = ece
        self.name = name

    def plot(self, ax=None, *, name=None, ref_line=True, **kwargs):
        """Draw the reliability curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.
        name : str, default=None
            Legend name; None uses the ``name`` given at construction.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration (once per axis).
        **kwargs : dict
            Keyword arguments passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : ReliabilityDisplay
            The object, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        _check_matplotlib_support(f"{type(self).__name__}.plot")
        ax = _get_ax(ax)
        name = self.name if name is None else name
        label = name
        if self.ece is not None:
            label = (
                f"ECE = {self.ece:.3f}"
                if name is None
                else f"{name} (ECE = {self.ece:.3f})"
            )
        ref_label = "Perfectly calibrated"
        if ref_line and not any(line.get_label() == ref_label for line in ax.lines):
            ax.plot([0, 1], [0, 1], "k:", label=ref_label)
        defaults = {"marker": "s", "linestyle": "-"}
        if label is not None:
            defaults["label"] = label
        (self.line_,) = ax.plot(
            self.confidence, self.accuracy, **_style(defaults, kwargs)
        )
        ax.set(
            xlabel="Confidence (1 - uncertainty)",
            ylabel="Accuracy",
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
        )
        if any(not line.get_label().startswith("_") for line in ax.lines):
            ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        uncertainty,
        *,
        n_bins=15,
        strategy="uniform",
        name=None,
        ref_line=True,
        ax=None,
        **kwargs,
    ):
        """Reliability diagram from labels, predictions and uncertainty scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,)
            Labels predicted by the classifier.
        uncertainty : array-like of shape (n_samples,)
            Estimated probability of error, in [0, 1].
        n_bins : int, default=15
            Number of bins.
        strategy : {"uniform", "quantile"}, default="uniform"
            Bin edges of equal width, or at the quantiles of the confidence.
        name : str, default=None
            Legend name.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.
        **kwargs : dict
            Keyword arguments passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : ReliabilityDisplay
            The drawn display.
        """
        _check_matplotlib_support(f"{cls.__name__}.from_predictions")
        from alien_sk.metrics import _calibration_bins, expected_calibration_error

        ece = expected_calibration_error(
            y_true, y_pred, uncertainty, n_bins=n_bins, strategy=strategy
        )
        # the points come from the very bins of the ECE in the legend
        # (calibration_curve's bins)
        correct = (np.asarray(y_true) == np.asarray(y_pred)).astype(np.float64)
        acc_sum, conf_sum, counts = _calibration_bins(
            correct,
            1.0 - np.asarray(uncertainty, dtype=np.float64),
            n_bins,
            strategy,
        )
        full = counts > 0
        accuracy = acc_sum[full] / counts[full]
        confidence = conf_sum[full] / counts[full]
        disp = cls(accuracy=accuracy, confidence=confidence, ece=ece, name=name)
        return disp.plot(ax=ax, ref_line=ref_line, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        n_bins=15,
        strategy="uniform",
        name=None,
        ref_line=True,
        ax=None,
        **kwargs,
    ):
        """Reliability diagram of a fitted uncertainty estimator on ``(X, y)``.

        Parameters
        ----------
        estimator : estimator
            Fitted estimator with ``predict_uncertainty`` in [0, 1].
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels.
        n_bins : int, default=15
            Number of bins.
        strategy : {"uniform", "quantile"}, default="uniform"
            Bin edges of equal width, or at the quantiles of the confidence.
        name : str, default=None
            Legend name; None uses the estimator's class name.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.
        **kwargs : dict
            Keyword arguments passed to ``matplotlib.axes.Axes.plot``.

        Returns
        -------
        display : ReliabilityDisplay
            The drawn display.

        Raises
        ------
        ValueError
            If the estimator's scores are unbounded.
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_matplotlib_support(caller)
        scorer = _scoring_estimator(estimator)
        if getattr(scorer, "_bounded_uncertainty", True) is False:
            raise ValueError(
                f"{caller} needs uncertainty scores in [0, 1] (a probability of "
                f"error); {type(scorer).__name__}'s scores are unbounded, so "
                "they have no calibration. Use RiskCoverageDisplay instead."
            )
        y_pred, uncertainty = _estimator_outputs(estimator, X, caller)
        return cls.from_predictions(
            y,
            y_pred,
            uncertainty,
            n_bins=n_bins,
            strategy=strategy,
            name=type(estimator).__name__ if name is None else name,
            ref_line=ref_line,
            ax=ax,
            **kwargs,
        )
