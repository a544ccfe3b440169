# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Baseline uncertainty estimators that ALIEN is compared with.

Every baseline follows the protocol of
:class:`~alien_sk.AlienUncertaintyEstimator`: ``X = [logits | embedding]``,
``fit(X, y)`` with the true labels, ``predict_uncertainty(X)`` (higher means
more likely wrong) and ``score(X, y)`` = misclassification ROC-AUC.

- From the logits only: :class:`MaxProb` (the paper's SR), :class:`Entropy`,
  :class:`Margin` and :class:`TemperatureScaledMaxProb`. Their scores lie in
  [0, 1].
- From the embedding: :class:`Mahalanobis`, :class:`RelativeMahalanobis`,
  :class:`RDE` and :class:`DDU` (density or distance, unbounded), and
  :class:`ErrorProbe` (a logistic regression trained on the errors, in [0, 1]).
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, logsumexp
from sklearn.base import _fit_context, clone
from sklearn.covariance import MinCovDet
from sklearn.decomposition import KernelPCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from alien_sk._base import BaseUncertaintyEstimator
from alien_sk._docstring import Substitution, _classes_docstring, _n_logits_docstring
from alien_sk._utils import (
    normalized_entropy,
    one_minus_margin,
    one_minus_max_softmax,
    user_stacklevel,
)
from alien_sk.exceptions import NoErrorsWarning

__all__ = [
    "DDU",
    "RDE",
    "Entropy",
    "ErrorProbe",
    "Mahalanobis",
    "Margin",
    "MaxProb",
    "RelativeMahalanobis",
    "TemperatureScaledMaxProb",
]

_normalize_docstring = """normalize : bool, default=False
        Divide every embedding by its L2 norm before anything else (the
        authors' ``normalization`` option)."""

_common_params = {
    "n_logits": _n_logits_docstring,
    "classes": _classes_docstring,
    "normalize": _normalize_docstring,
}

# bounds of the fitted temperature of TemperatureScaledMaxProb
_TEMPERATURE_BOUNDS = (1e-2, 1e2)


def _l2_normalize(E):
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    return E / np.where(norms > 0, norms, 1.0)


def _inverse_or_pinv(cov):
    """Inverse of a symmetric matrix, or its pseudo-inverse when singular."""
    if np.linalg.matrix_rank(cov, hermitian=True) == cov.shape[0]:
        try:
            return np.linalg.inv(cov), False
        except np.linalg.LinAlgError:  # pragma: no cover - rank said full
            pass
    return np.linalg.pinv(cov, hermitian=True), True


def _squared_mahalanobis(E, means, precision):
    """``(e - mu_c) P (e - mu_c)`` for every row and centroid: (n, n_centroids)."""
    out = np.empty((E.shape[0], means.shape[0]))
    for j, mu in enumerate(means):
        diff = E - mu
        # (diff @ P) row-wise dot diff: one BLAS matmul instead of an
        # unoptimised three-operand einsum (measured ~20x faster at d=384)
        out[:, j] = np.einsum("ij,ij->i", diff @ precision, diff)
    return out


class _LogitBaseline(BaseUncertaintyEstimator):
    """Baselines that read only the logits; ``fit`` learns the layout only."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the logit layout (``n_logits_``, ``classes_``); nothing else.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._validate_fit_data(X, y)
        return self

    def predict_uncertainty(self, X):
        """Uncertainty of each row: higher means more likely misclassified.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Scores in [0, 1].
        """
        X = self._validate_predict_data(X)
        return self._from_logits(X[:, : self.n_logits_].astype(np.float64))


@Substitution(**_common_params)
class MaxProb(_LogitBaseline):
    """Softmax response: one minus the largest softmax probability.

    ``U = 1 - max_c softmax(logits)_c``, the paper's SR baseline, in
    ``[0, 1 - 1 / C]``. Nothing is learned: ``fit`` only records the layout.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}

    Attributes
    ----------
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    TemperatureScaledMaxProb : The same after temperature scaling.
    Entropy : Normalised predictive entropy.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.baselines import MaxProb
    >>> X = np.array([[0.0, 0.0], [3.0, 0.0]])
    >>> MaxProb().fit(X, [0, 1]).predict_uncertainty(X).round(4)
    array([0.5   , 0.0474])
    """

    def _from_logits(self, logits):
        return one_minus_max_softmax(logits)


@Substitution(**_common_params)
class Entropy(_LogitBaseline):
    """Normalised predictive entropy of the softmax.

    ``U = -sum_c p_c log p_c / log C`` with ``p = softmax(logits)``, in
    ``[0, 1]``; this is also the ALIEN head's initial score. Nothing is
    learned: ``fit`` only records the layout.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}

    Attributes
    ----------
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    MaxProb : One minus the largest probability.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.baselines import Entropy
    >>> X = np.array([[0.0, 0.0], [20.0, 0.0]])
    >>> Entropy().fit(X, [0, 1]).predict_uncertainty(X).round(4)
    array([1., 0.])
    """

    def _from_logits(self, logits):
        return normalized_entropy(logits)


@Substitution(**_common_params)
class Margin(_LogitBaseline):
    """One minus the gap between the two largest softmax probabilities.

    ``U = 1 - (p_(1) - p_(2))``, in ``[0, 1]``. Nothing is learned: ``fit``
    only records the layout.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}

    Attributes
    ----------
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    MaxProb : One minus the largest probability.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.baselines import Margin
    >>> X = np.log(np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]]))
    >>> Margin(n_logits=3).fit(X, [0, 1]).predict_uncertainty(X).round(4)
    array([0.8 , 0.15])
    """

    def _from_logits(self, logits):
        return one_minus_margin(logits)


@Substitution(**_common_params)
class TemperatureScaledMaxProb(BaseUncertaintyEstimator):
    """Softmax response after temperature scaling (Guo et al., 2017).

    ``fit`` finds the temperature ``T`` that minimises the negative
    log-likelihood of the true labels, ``mean(-log softmax(logits / T)_y)``,
    over ``log T`` with a bounded scalar search (:func:`scipy.optimize.
    minimize_scalar`), ``T`` in ``[0.01, 100]``. The NLL is convex in ``1 / T``
    so the search finds its minimum; when the data is perfectly separated the
    minimum lies at the lower bound. ``U = 1 - max_c softmax(logits / T)_c``,
    in ``[0, 1 - 1 / C]``. Fit it on held-out data (a validation split):
    the training split of the classifier is over-confident by construction.

    For two classes the ranking, hence the ROC-AUC, equals :class:`MaxProb`'s;
    with more classes the temperature can reorder the samples, and it always
    changes the calibration (ECE) of the score.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}

    Attributes
    ----------
    temperature_ : float
        The fitted temperature ``T``.
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    MaxProb : Without temperature.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.baselines import TemperatureScaledMaxProb
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=400, n_classes=3, random_state=0)
    >>> est = TemperatureScaledMaxProb().fit(X, y)
    >>> bool(est.temperature_ > 1)  # the synthetic logits are over-confident
    True
    >>> est.predict_uncertainty(X[:2]).shape
    (2,)
    """

    @staticmethod
    def _nll(log_t, logits, y_idx):
        log_p = log_softmax(logits / np.exp(log_t), axis=1)
        return -log_p[np.arange(y_idx.shape[0]), y_idx].mean()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the temperature by minimising the NLL of ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y_idx, _ = self._validate_fit_data(X, y)
        logits = X[:, : self.n_logits_].astype(np.float64)
        lo, hi = np.log(_TEMPERATURE_BOUNDS)
        res = minimize_scalar(
            self._nll,
            bounds=(lo, hi),
            args=(logits, y_idx),
            method="bounded",
            options={"xatol": 1e-8},
        )
        self.temperature_ = float(np.exp(res.x))
        return self

    def predict_uncertainty(self, X):
        """``1 - max softmax(logits / temperature_)`` of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Scores in [0, 1].
        """
        X = self._validate_predict_data(X)
        logits = X[:, : self.n_logits_].astype(np.float64) / self.temperature_
        return one_minus_max_softmax(logits)


class _EmbeddingBaseline(BaseUncertaintyEstimator):
    """Baselines that read the embedding block after the logits."""

    _min_embedding_dim = 1
    _bounded_uncertainty = False

    def _embedding(self, X):
        E = np.asarray(X[:, self.n_logits_ :], dtype=np.float64)
        if getattr(self, "normalize", False):
            E = _l2_normalize(E)
        return E


def _class_stats(E, y_idx, n_classes):
    """Centroids of the classes present in ``y_idx`` and the within-class residuals."""
    present = np.flatnonzero(np.bincount(y_idx, minlength=n_classes))
    means = np.stack([E[y_idx == c].mean(axis=0) for c in present])
    pos = np.searchsorted(present, y_idx)
    return present, means, E - means[pos]


@Substitution(**_common_params)
class Mahalanobis(_EmbeddingBaseline):
    """Squared Mahalanobis distance to the nearest class centroid.

    With ``mu_c`` the mean training embedding of class ``c`` and ``Sigma``
    the tied covariance, ``U(x) = min_c (e - mu_c)^T Sigma^-1 (e - mu_c)``
    (Lee et al., 2018), as in the authors' code. The classes are those of the
    **true** labels ``y`` (not of the predictions), and a class absent from
    ``y`` has no centroid. By default ``Sigma`` is the plain within-class
    scatter, ``sum_i (e_i - mu_{{y_i}})(e_i - mu_{{y_i}})^T / n``, without
    shrinkage, inverted exactly when it has full rank and pseudo-inverted
    otherwise (``pinv_used_``). The score is **unbounded**: a squared
    distance in ``[0, inf)``.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}
    {normalize}
    covariance_estimator : covariance estimator, default=None
        None uses the within-class scatter above. Otherwise an unfitted
        :mod:`sklearn.covariance` estimator (e.g.
        :class:`~sklearn.covariance.LedoitWolf`) that is cloned and fitted on
        the class-centred embeddings; its ``precision_`` is used.

    Attributes
    ----------
    means_ : ndarray of shape (n_centroids, embedding_dim)
        Class centroids, one per class present in ``y``.
    centroid_classes_ : ndarray of shape (n_centroids,)
        Label of each centroid.
    covariance_ : ndarray of shape (embedding_dim, embedding_dim)
        The tied covariance.
    precision_ : ndarray of shape (embedding_dim, embedding_dim)
        Its inverse (or pseudo-inverse).
    pinv_used_ : bool
        Whether the pseudo-inverse was needed (default estimator only).
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    RelativeMahalanobis : The distance relative to the marginal Gaussian.
    DDU : Per-class Gaussian densities.

    Examples
    --------
    >>> from alien_sk.baselines import Mahalanobis
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=300, n_embedding=4, random_state=0)
    >>> est = Mahalanobis().fit(X, y)
    >>> est.means_.shape, est.precision_.shape
    ((2, 4), (4, 4))
    >>> bool((est.predict_uncertainty(X) >= 0).all())
    True
    """

    _parameter_constraints: dict = {
        **BaseUncertaintyEstimator._parameter_constraints,
        "normalize": ["boolean"],
        "covariance_estimator": [HasMethods("fit"), None],
    }

    def __init__(
        self,
        n_logits="auto",
        classes=None,
        *,
        normalize=False,
        covariance_estimator=None,
    ):
        super().__init__(n_logits=n_logits, classes=classes)
        self.normalize = normalize
        self.covariance_estimator = covariance_estimator

    def _fit_tied(self, X, y):
        X, y_idx, _ = self._validate_fit_data(X, y)
        E = self._embedding(X)
        present, self.means_, resid = _class_stats(E, y_idx, self.n_logits_)
        # zero scatter (one row per class, or rows identical within each
        # class, up to the rounding of the means): the pseudo-inverse is 0 and
        # every distance 0, so the scores would rank nothing
        scale = np.abs(E).max(initial=0.0)
        if np.abs(resid).max(initial=0.0) <= 8 * np.finfo(E.dtype).eps * scale:
            raise ValueError(
                f"{type(self).__name__}: the within-class covariance of the "
                "embedding is zero (every class's training rows have the same "
                f"embedding; {E.shape[0]} rows, {present.size} classes), so "
                "every Mahalanobis distance would be 0. Fit on several distinct "
                "rows per class."
            )
        self.centroid_classes_ = self.classes_[present]
        if self.covariance_estimator is None:
            self.covariance_ = resid.T @ resid / E.shape[0]
            self.precision_, self.pinv_used_ = _inverse_or_pinv(self.covariance_)
        else:
            cov = clone(self.covariance_estimator).fit(resid)
            self.covariance_ = np.asarray(cov.covariance_, dtype=np.float64)
            self.precision_ = np.asarray(cov.get_precision(), dtype=np.float64)
            self.pinv_used_ = False
        return E

    @_fit_context(
        # covariance_estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y):
        """Fit the class centroids and the tied covariance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels; they define the classes of the centroids.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._fit_tied(X, y)
        return self

    def _class_distances(self, X):
        X = self._validate_predict_data(X)
        return X, _squared_mahalanobis(self._embedding(X), self.means_, self.precision_)

    def predict_uncertainty(self, X):
        """Squared distance to the nearest class centroid.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Unbounded scores in ``[0, inf)``.
        """
        _, dist = self._class_distances(X)
        return dist.min(axis=1)


@Substitution(**_common_params)
class RelativeMahalanobis(Mahalanobis):
    """Relative Mahalanobis distance (Ren et al., 2021).

    ``U(x) = min_c (MD_c(x) - MD_0(x))`` where ``MD_c`` is the squared
    distance of :class:`Mahalanobis` (tied covariance, centroids of the
    **true** classes) and ``MD_0`` the squared Mahalanobis distance under the
    marginal Gaussian of all training embeddings: their mean and covariance
    ``sum_i (e_i - mu)(e_i - mu)^T / n`` (same estimator and pseudo-inverse
    rule as the class part). The score is **unbounded** and can be negative.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}
    {normalize}
    covariance_estimator : covariance estimator, default=None
        None uses the plain scatter matrices. Otherwise an unfitted
        :mod:`sklearn.covariance` estimator, cloned and fitted once on the
        class-centred embeddings and once on the embeddings centred on
        their mean.

    Attributes
    ----------
    means_ : ndarray of shape (n_centroids, embedding_dim)
        Class centroids, one per class present in ``y``.
    centroid_classes_ : ndarray of shape (n_centroids,)
        Label of each centroid.
    covariance_, precision_ : ndarray of shape (embedding_dim, embedding_dim)
        Tied within-class covariance and its (pseudo-)inverse.
    marginal_mean_ : ndarray of shape (embedding_dim,)
        Mean of all training embeddings.
    marginal_covariance_, marginal_precision_ : ndarray of shape \
(embedding_dim, embedding_dim)
        Covariance of all training embeddings and its (pseudo-)inverse.
    pinv_used_ : bool
        Whether a pseudo-inverse was needed (default estimator only).
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    Mahalanobis : The plain distance.

    Examples
    --------
    >>> from alien_sk.baselines import RelativeMahalanobis
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=300, n_embedding=4, random_state=0)
    >>> est = RelativeMahalanobis().fit(X, y)
    >>> est.marginal_mean_.shape
    (4,)
    >>> est.predict_uncertainty(X[:3]).shape
    (3,)
    """

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the class centroids, the tied and the marginal covariance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels; they define the classes of the centroids.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        E = self._fit_tied(X, y)
        self.marginal_mean_ = E.mean(axis=0)
        centred = E - self.marginal_mean_
        if self.covariance_estimator is None:
            self.marginal_covariance_ = centred.T @ centred / E.shape[0]
            self.marginal_precision_, pinv = _inverse_or_pinv(self.marginal_covariance_)
            self.pinv_used_ = bool(self.pinv_used_ or pinv)
        else:
            cov = clone(self.covariance_estimator).fit(centred)
            self.marginal_covariance_ = np.asarray(cov.covariance_, dtype=np.float64)
            self.marginal_precision_ = np.asarray(cov.get_precision(), dtype=np.float64)
        return self

    def predict_uncertainty(self, X):
        """``min_c (MD_c - MD_0)`` of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Unbounded scores (can be negative).
        """
        X, dist = self._class_distances(X)
        md0 = _squared_mahalanobis(
            self._embedding(X), self.marginal_mean_[None, :], self.marginal_precision_
        )
        return (dist - md0).min(axis=1)


@Substitution(**_common_params)
class RDE(_EmbeddingBaseline):
    """Robust density estimation (Yoo et al., 2022): kernel PCA + MinCovDet.

    The embeddings are projected with :class:`~sklearn.decomposition.KernelPCA`
    (RBF kernel, ``n_components`` capped by the number of training samples),
    a robust Gaussian is fitted to the projections with
    :class:`~sklearn.covariance.MinCovDet`, and ``U(x)`` is the squared
    Mahalanobis distance of the projection under that robust fit
    (``MinCovDet.mahalanobis``). As in the authors' code, when MinCovDet
    fails with the default ``support_fraction=None`` it is retried with 0.9,
    then 1.0; a ``support_fraction`` you set is used as given, and an error
    names it if MinCovDet fails with it.
    The score is **unbounded**, in ``[0, inf)``. Class labels are not used.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}
    {normalize}
    n_components : int, default=256
        Number of kernel-PCA components (at most ``n_samples``).
    gamma : float, default=None
        RBF kernel coefficient; None uses ``1 / embedding_dim``.
    support_fraction : float in (0, 1], default=None
        Passed to :class:`~sklearn.covariance.MinCovDet`.
    eigen_solver : {{"auto", "dense", "arpack", "randomized"}}, default="auto"
        Passed to :class:`~sklearn.decomposition.KernelPCA`. The dense solver
        decomposes the full ``n_samples x n_samples`` kernel (cubic time);
        ``"randomized"`` scales better to many thousands of training samples.
        MinCovDet in 256 dimensions usually dominates the fit time anyway.
    random_state : int, RandomState instance or None, default=None
        Seeds KernelPCA's eigensolver and MinCovDet's random subsets.

    Attributes
    ----------
    kernel_pca_ : KernelPCA
        The fitted projection.
    mcd_ : MinCovDet
        The robust Gaussian fitted on the projections.
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    Mahalanobis : Class-conditional distance with a plain covariance.

    Examples
    --------
    >>> from alien_sk.baselines import RDE
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=200, n_embedding=4, random_state=0)
    >>> est = RDE(n_components=8, random_state=0).fit(X, y)
    >>> est.mcd_.location_.shape
    (8,)
    >>> bool((est.predict_uncertainty(X) >= 0).all())
    True
    """

    _parameter_constraints: dict = {
        **BaseUncertaintyEstimator._parameter_constraints,
        "normalize": ["boolean"],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "support_fraction": [Interval(Real, 0, 1, closed="right"), None],
        "eigen_solver": [StrOptions({"auto", "dense", "arpack", "randomized"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_logits="auto",
        classes=None,
        *,
        normalize=False,
        n_components=256,
        gamma=None,
        support_fraction=None,
        eigen_solver="auto",
        random_state=None,
    ):
        super().__init__(n_logits=n_logits, classes=classes)
        self.normalize = normalize
        self.n_components = n_components
        self.gamma = gamma
        self.support_fraction = support_fraction
        self.eigen_solver = eigen_solver
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the kernel PCA and the robust covariance on the embeddings.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels (used only to resolve the layout).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, _, _ = self._validate_fit_data(X, y)
        E = self._embedding(X)
        self.kernel_pca_ = KernelPCA(
            n_components=min(self.n_components, E.shape[0]),
            kernel="rbf",
            gamma=self.gamma,
            eigen_solver=self.eigen_solver,
            random_state=self.random_state,
        )
        Z = self.kernel_pca_.fit_transform(E)
        # the authors' fallback applies to the default only: a fraction the
        # user chose is never replaced by another one
        fractions = (None, 0.9, 1.0) if self.support_fraction is None else ()
        for fraction in fractions or (self.support_fraction,):
            try:
                self.mcd_ = MinCovDet(
                    support_fraction=fraction, random_state=self.random_state
                ).fit(Z)
                break
            except ValueError as e:
                if fractions and fraction != 1.0:
                    continue
                raise ValueError(
                    f"RDE: MinCovDet failed with support_fraction={fraction} on "
                    f"the {Z.shape[1]} kernel-PCA components of {Z.shape[0]} "
                    f"rows: {e}"
                ) from e
        return self

    def predict_uncertainty(self, X):
        """Robust squared Mahalanobis distance in kernel-PCA space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Unbounded scores in ``[0, inf)``.
        """
        X = self._validate_predict_data(X)
        return self.mcd_.mahalanobis(self.kernel_pca_.transform(self._embedding(X)))


@Substitution(**_common_params)
class DDU(_EmbeddingBaseline):
    """Deep Deterministic Uncertainty (Mukhoti et al., 2023): GDA density.

    One Gaussian per class of the **true** labels, with its own mean and
    covariance (``np.cov``, unbiased), fitted on the training embeddings; the
    density is the mixture ``p(e) = sum_c pi_c N(e; mu_c, Sigma_c)`` and
    ``U(x) = -log p(e)``: low density means uncertain. As in the authors'
    code, a jitter is added to every diagonal: ``reg_covar``, multiplied by
    ten until every class covariance has a Cholesky factor (``jitter_``).
    Classes with fewer than two training samples get the pooled within-class
    covariance. The score is **unbounded** (any real number).

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}
    {normalize}
    reg_covar : float, default=1e-6
        Initial jitter added to the diagonal of each covariance.
    priors : {{"empirical", "uniform"}}, default="empirical"
        Mixture weights ``pi_c``: class frequencies in ``y``, or equal weights
        (DDU's unweighted log-sum-exp, up to a constant).

    Attributes
    ----------
    means_ : ndarray of shape (n_centroids, embedding_dim)
        Class means, one per class present in ``y``.
    covariances_ : ndarray of shape (n_centroids, embedding_dim, embedding_dim)
        Class covariances, jitter included.
    weights_ : ndarray of shape (n_centroids,)
        Mixture weights.
    centroid_classes_ : ndarray of shape (n_centroids,)
        Label of each component.
    jitter_ : float
        The jitter that was added.
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    Mahalanobis : Tied covariance, distance to the nearest centroid.

    Examples
    --------
    >>> from alien_sk.baselines import DDU
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=300, n_embedding=4, random_state=0)
    >>> est = DDU().fit(X, y)
    >>> est.covariances_.shape
    (2, 4, 4)
    >>> est.predict_uncertainty(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **BaseUncertaintyEstimator._parameter_constraints,
        "normalize": ["boolean"],
        "reg_covar": [Interval(Real, 0, None, closed="neither")],
        "priors": [StrOptions({"empirical", "uniform"})],
    }

    def __init__(
        self,
        n_logits="auto",
        classes=None,
        *,
        normalize=False,
        reg_covar=1e-6,
        priors="empirical",
    ):
        super().__init__(n_logits=n_logits, classes=classes)
        self.normalize = normalize
        self.reg_covar = reg_covar
        self.priors = priors

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit one Gaussian per class of ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels; they define the mixture components.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y_idx, _ = self._validate_fit_data(X, y)
        E = self._embedding(X)
        present, self.means_, resid = _class_stats(E, y_idx, self.n_logits_)
        self.centroid_classes_ = self.classes_[present]
        counts = np.bincount(y_idx, minlength=self.n_logits_)[present]
        pooled = resid.T @ resid / E.shape[0]
        covs = np.stack(
            [
                np.atleast_2d(np.cov(E[y_idx == c], rowvar=False)) if n >= 2 else pooled
                for c, n in zip(present, counts, strict=True)
            ]
        )
        eye = np.eye(E.shape[1])
        jitter = float(self.reg_covar)
        while True:
            try:
                np.linalg.cholesky(covs + jitter * eye)
                break
            except np.linalg.LinAlgError:
                jitter *= 10.0
        self.jitter_ = jitter
        self.covariances_ = covs + jitter * eye
        if self.priors == "empirical":
            self.weights_ = counts / counts.sum()
        else:
            self.weights_ = np.full(present.shape[0], 1.0 / present.shape[0])
        return self

    def _log_class_densities(self, E):
        d = E.shape[1]
        out = np.empty((E.shape[0], self.means_.shape[0]))
        chol = np.linalg.cholesky(self.covariances_)
        for j, (mu, L) in enumerate(zip(self.means_, chol, strict=True)):
            sol = solve_triangular(L, (E - mu).T, lower=True)
            log_det = 2.0 * np.log(np.diag(L)).sum()
            out[:, j] = -0.5 * (d * np.log(2 * np.pi) + log_det + (sol**2).sum(axis=0))
        return out

    def predict_uncertainty(self, X):
        """Return minus the log mixture density of each row's embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Unbounded scores.
        """
        X = self._validate_predict_data(X)
        log_dens = self._log_class_densities(self._embedding(X))
        return -logsumexp(log_dens + np.log(self.weights_), axis=1)


@Substitution(**_common_params)
class ErrorProbe(_EmbeddingBaseline):
    """Linear probe trained to predict the classifier's errors.

    A :class:`~sklearn.linear_model.LogisticRegression` (after a
    :class:`~sklearn.preprocessing.StandardScaler`) is fitted on the embedding
    (and, with ``use_logits=True``, the logits too) to predict
    ``argmax(logits) != y``; ``U`` is its predicted error probability, in
    ``[0, 1]``. Fit it on data whose errors look like those at test time
    (held-out data is better than the classifier's training split).

    When the training data holds no error (or only errors) there is nothing
    to learn: a :class:`~alien_sk.exceptions.NoErrorsWarning` is raised, no
    probe is fitted (``probe_`` is None) and ``U`` falls back to the
    normalised entropy of the logits.

    Read more in the :ref:`User Guide <baselines>`.

    Parameters
    ----------
    {n_logits}
    {classes}
    {normalize}
    use_logits : bool, default=False
        Also feed the logits to the probe.
    C : float, default=1.0
        Inverse L2 regularisation strength of the logistic regression.
    class_weight : dict, "balanced" or None, default=None
        Passed to the logistic regression (errors are the class 1).
    max_iter : int, default=1000
        Maximum number of solver iterations.
    random_state : int, RandomState instance or None, default=None
        Passed to the logistic regression (only matters for some solvers).

    Attributes
    ----------
    probe_ : Pipeline or None
        ``StandardScaler`` + ``LogisticRegression``; None after the fallback.
    n_logits_ : int
        Number of logit columns.
    classes_ : ndarray of shape (n_logits_,)
        Label of each logit.
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    See Also
    --------
    Entropy : The fallback score.

    Examples
    --------
    >>> from alien_sk.baselines import ErrorProbe
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=600, random_state=0)
    >>> est = ErrorProbe().fit(X[:400], y[:400])
    >>> bool(est.score(X[400:], y[400:]) > 0.8)  # errors live in the embedding
    True
    """

    _bounded_uncertainty = True

    _parameter_constraints: dict = {
        **BaseUncertaintyEstimator._parameter_constraints,
        "normalize": ["boolean"],
        "use_logits": ["boolean"],
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_logits="auto",
        classes=None,
        *,
        normalize=False,
        use_logits=False,
        C=1.0,
        class_weight=None,
        max_iter=1000,
        random_state=None,
    ):
        super().__init__(n_logits=n_logits, classes=classes)
        self.normalize = normalize
        self.use_logits = use_logits
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def _probe_features(self, X):
        E = self._embedding(X)
        if self.use_logits:
            E = np.hstack([np.asarray(X[:, : self.n_logits_], dtype=np.float64), E])
        return E

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the probe on the classifier's errors ``argmax(logits) != y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, _, errors = self._validate_fit_data(X, y)
        if errors.all() or not errors.any():
            warnings.warn(
                f"The classifier makes {'only errors' if errors.all() else 'no error'}"
                f" on these {errors.shape[0]} training samples, so ErrorProbe has "
                "nothing to learn; it falls back to the normalised entropy of the "
                "logits.",
                NoErrorsWarning,
                stacklevel=user_stacklevel(),
            )
            self.probe_ = None
            return self
        self.probe_ = make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=self.C,
                class_weight=self.class_weight,
                max_iter=self.max_iter,
                random_state=self.random_state,
            ),
        ).fit(self._probe_features(X), errors.astype(np.int64))
        return self

    def predict_uncertainty(self, X):
        """Predicted probability that the classifier is wrong on each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Scores in [0, 1].
        """
        X = self._validate_predict_data(X)
        if self.probe_ is None:
            return normalized_entropy(X[:, : self.n_logits_])
        return self.probe_.predict_proba(self._probe_features(X))[:, 1]
