# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""UncertaintyPipeline: a Pipeline that also exposes predict_uncertainty."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from alien_sk import AlienUncertaintyEstimator, FeatureExtractor
from alien_sk.baselines import Entropy
from alien_sk.datasets import make_classifier_outputs
from alien_sk.pipeline import UncertaintyPipeline, make_uncertainty_pipeline
from alien_sk.utils.estimator_checks import yield_uncertainty_checks

TEXTS = [
    "a fine film",
    "dull and long",
    "great acting",
    "a mess",
    "loved it",
    "boring plot",
    "sharp, funny and warm",
    "not worth the ticket",
    "an instant classic",
    "i want my money back",
    "quietly moving",
    "painfully slow",
]


def _entropy(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])


def test_predict_uncertainty_runs_the_transformers_then_the_final_step(
    tiny_model_path,
):
    path = tiny_model_path("bert")
    labels = np.arange(len(TEXTS)) % 2
    pipe = UncertaintyPipeline(
        [
            ("feat", FeatureExtractor(path, progress_bar=False)),
            ("alien", AlienUncertaintyEstimator(n_logits=2, max_epochs=0)),
        ]
    ).fit(TEXTS, labels)
    # independent reference: a separate extractor, and the untrained head is
    # the normalised entropy of the logits
    X = FeatureExtractor(path, progress_bar=False).fit_transform(TEXTS)
    np.testing.assert_allclose(
        pipe.predict_uncertainty(TEXTS),
        _entropy(X[:, :2].astype(np.float64)),
        atol=1e-6,
    )


def test_grid_search_best_estimator_has_predict_uncertainty():
    X, y = make_classifier_outputs(n_samples=300, n_classes=2, random_state=0)
    pipe = make_uncertainty_pipeline(
        FunctionTransformer(), AlienUncertaintyEstimator(n_logits=2, max_epochs=2)
    )
    search = GridSearchCV(
        pipe, {"alienuncertaintyestimator__alpha": [0.01, 1.0]}, cv=3
    ).fit(X, y)
    best = search.best_estimator_
    assert isinstance(best, UncertaintyPipeline)
    np.testing.assert_array_equal(
        best.predict_uncertainty(X), best[-1].predict_uncertainty(X)
    )


def test_predict_uncertainty_hidden_when_final_step_lacks_it():
    pipe = UncertaintyPipeline([("scale", StandardScaler())])
    assert not hasattr(pipe, "predict_uncertainty")
    with pytest.raises(AttributeError, match="predict_uncertainty"):
        pipe.predict_uncertainty([[0.0]])


def test_make_uncertainty_pipeline_names_and_clone():
    pipe = make_uncertainty_pipeline(StandardScaler(), Entropy(n_logits=2))
    assert [n for n, _ in pipe.steps] == ["standardscaler", "entropy"]
    cloned = clone(pipe)
    assert type(cloned) is UncertaintyPipeline
    assert isinstance(cloned, Pipeline)
    assert cloned.get_params()["entropy__n_logits"] == 2


@pytest.mark.parametrize(
    "check",
    list(yield_uncertainty_checks(None)),
    ids=lambda c: c.__name__,
)
def test_uncertainty_contract_through_a_pipeline(check):
    pipe = UncertaintyPipeline(
        [("identity", FunctionTransformer()), ("entropy", Entropy())]
    )
    check("UncertaintyPipeline", pipe)


def test_unfitted_pipeline_raises_before_running_any_step():
    from sklearn.exceptions import NotFittedError

    calls = []

    def record(X):
        calls.append(len(X))
        return X

    pipe = UncertaintyPipeline(
        [("features", FunctionTransformer(record)), ("entropy", Entropy())]
    )
    X, _ = make_classifier_outputs(n_samples=20, random_state=0)
    with pytest.raises(NotFittedError):
        pipe.predict_uncertainty(X)
    assert calls == []  # as sklearn's Pipeline.predict: no transformer ran


def test_make_uncertainty_pipeline_takes_make_pipelines_parameters():
    import inspect

    from sklearn.pipeline import make_pipeline

    ours = inspect.signature(make_uncertainty_pipeline).parameters
    theirs = inspect.signature(make_pipeline).parameters
    assert set(theirs) <= set(ours)
    pipe = make_uncertainty_pipeline(
        FunctionTransformer(), Entropy(), transform_input=["groups"]
    )
    assert pipe.transform_input == ["groups"]
