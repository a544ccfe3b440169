# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""A scikit-learn Pipeline that also exposes ``predict_uncertainty``.

:class:`sklearn.pipeline.Pipeline` delegates only the methods it knows
(``predict``, ``score``, ...), so ``pipe.predict_uncertainty(texts)`` does not
exist on a plain pipeline ending in an uncertainty estimator.
:class:`UncertaintyPipeline` adds it: the texts go through every transformer
(typically a :class:`~alien_sk.FeatureExtractor`), then the final estimator's
``predict_uncertainty``.
"""

from sklearn.pipeline import Pipeline, _final_estimator_has, _name_estimators
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

__all__ = ["UncertaintyPipeline", "make_uncertainty_pipeline"]


class UncertaintyPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` with ``predict_uncertainty``.

    Identical to :class:`sklearn.pipeline.Pipeline` (same parameters, same
    ``fit``/``score``/``set_params``, same ``GridSearchCV`` behaviour), plus
    :meth:`predict_uncertainty` when the final step has it.

    Read more in the :ref:`User Guide <tuning>`.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The transformers, then the final (uncertainty) estimator.
    transform_input : list of str, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        As in :class:`sklearn.pipeline.Pipeline`.

    See Also
    --------
    make_uncertainty_pipeline : Build one with automatic step names.

    Examples
    --------
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from alien_sk.baselines import Entropy
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> from alien_sk.pipeline import UncertaintyPipeline
    >>> X, y = make_classifier_outputs(n_samples=100, random_state=0)
    >>> pipe = UncertaintyPipeline([("features", FunctionTransformer()),
    ...                             ("entropy", Entropy(n_logits=2))])
    >>> pipe.fit(X, y).predict_uncertainty(X[:3]).shape
    (3,)
    """

    @available_if(_final_estimator_has("predict_uncertainty"))
    def predict_uncertainty(self, X, **params):
        """Transform ``X`` with every step but the last, then score it.

        Parameters
        ----------
        X : iterable
            Input of the first step (texts, for a pipeline that starts with a
            :class:`~alien_sk.FeatureExtractor`).
        **params : dict
            Passed to the final estimator's ``predict_uncertainty``.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            The final estimator's ``predict_uncertainty`` of the transformed
            input (higher means more likely wrong).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the pipeline is not fitted (before any step runs: no text goes
            through the language model).
        """
        check_is_fitted(self)
        Xt = X
        for _, _, transform in self._iter(with_final=False):
            Xt = transform.transform(Xt)
        return self.steps[-1][1].predict_uncertainty(Xt, **params)


def make_uncertainty_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Build an :class:`UncertaintyPipeline`, naming the steps automatically.

    The counterpart of :func:`sklearn.pipeline.make_pipeline`.

    Read more in the :ref:`User Guide <tuning>`.

    Parameters
    ----------
    *steps : list of estimators
        The transformers, then the final (uncertainty) estimator.
    memory : str or object with the joblib.Memory interface, default=None
        As in :func:`sklearn.pipeline.make_pipeline`.
    transform_input : list of str, default=None
        As in :func:`sklearn.pipeline.make_pipeline` (needs metadata routing).
    verbose : bool, default=False
        As in :func:`sklearn.pipeline.make_pipeline`.

    Returns
    -------
    pipeline : UncertaintyPipeline
        Steps named after their lower-cased class names.

    Examples
    --------
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.pipeline import make_uncertainty_pipeline
    >>> pipe = make_uncertainty_pipeline(FunctionTransformer(),
    ...                                  AlienUncertaintyEstimator())
    >>> [name for name, _ in pipe.steps]
    ['functiontransformer', 'alienuncertaintyestimator']
    """
    return UncertaintyPipeline(
        _name_estimators(steps),
        memory=memory,
        transform_input=transform_input,
        verbose=verbose,
    )
