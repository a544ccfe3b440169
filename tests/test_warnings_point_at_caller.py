"""Warnings name the user's line, not a line inside alien_sk or sklearn."""

import io
import warnings
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from alien_sk import AlienUncertaintyEstimator
from alien_sk.baselines import Entropy, ErrorProbe
from alien_sk.exceptions import DeviceWarning, NoErrorsWarning, TargetRiskWarning
from alien_sk.metrics import (
    get_uncertainty_scorer,
    misclassification_roc_auc,
    prediction_rejection_ratio,
)
from alien_sk.selective import SelectiveClassifier


def _caught(category, call):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        call()
    hits = [w for w in record if issubclass(w.category, category)]
    assert hits, f"no {category.__name__}"
    return hits


def _all_correct():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    return X, X[:, :2].argmax(axis=1)


def _fitted(est):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 5))
    return est.fit(X, rng.integers(0, 2, 60))


def _grid_search_scoring_all_correct():
    # the test fold holds no error: GridSearchCV's default scoring (score)
    # warns from inside sklearn's and joblib's frames
    X, y = _all_correct()
    y_fit = y.copy()
    y_fit[:30:3] = 1 - y_fit[:30:3]  # errors in the training fold only
    GridSearchCV(
        Entropy(), {"n_logits": [2]}, cv=PredefinedSplit([-1] * 30 + [0] * 30)
    ).fit(X, y_fit)


def _joblib_load_cuda_fitted():
    est = _fitted(AlienUncertaintyEstimator(max_epochs=1, random_state=0))
    est.device_ = torch.device("cuda")
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    with mock.patch("torch.cuda.is_available", return_value=False):
        joblib.load(buffer)


@pytest.mark.parametrize(
    "category, call",
    [
        (
            NoErrorsWarning,
            lambda: AlienUncertaintyEstimator(max_epochs=1).fit(*_all_correct()),
        ),
        (NoErrorsWarning, lambda: ErrorProbe().fit(*_all_correct())),
        (
            TargetRiskWarning,
            lambda: SelectiveClassifier(target_risk=1e-6).fit(
                np.array([[0.0, 1.0], [1.0, 0.0]] * 20), np.array([0, 1] * 20)
            ),
        ),
        (Warning, lambda: misclassification_roc_auc([0, 1], [0, 1], [0.1, 0.2])),
        (Warning, lambda: prediction_rejection_ratio([0, 1], [0, 1], [0.1, 0.2])),
        # the same warnings reached through the library's own layers
        (
            UndefinedMetricWarning,
            lambda: _fitted(AlienUncertaintyEstimator(max_epochs=1)).score(
                *_all_correct()
            ),
        ),
        (UndefinedMetricWarning, lambda: _fitted(Entropy()).score(*_all_correct())),
        (
            UndefinedMetricWarning,
            lambda: get_uncertainty_scorer("prr")(_fitted(Entropy()), *_all_correct()),
        ),
        (UndefinedMetricWarning, _grid_search_scoring_all_correct),
        (
            NoErrorsWarning,
            lambda: make_pipeline(
                FunctionTransformer(), AlienUncertaintyEstimator(max_epochs=1)
            ).fit(*_all_correct()),
        ),
        (DeviceWarning, _joblib_load_cuda_fitted),
    ],
    ids=[
        "alien",
        "error_probe",
        "selective",
        "roc_auc",
        "prr",
        "alien_score",
        "baseline_score",
        "scorer",
        "grid_search",
        "pipeline_fit",
        "joblib_load",
    ],
)
def test_warning_points_at_the_callers_line(category, call):
    for w in _caught(category, call):
        assert w.filename == __file__, f"{w.category.__name__} at {w.filename}"


def test_feature_extractor_warnings_point_at_the_callers_line(
    tmp_path, tiny_model_path
):
    # fit, fit_transform and transform pass through sklearn's set_output and
    # _fit_context wrappers, whose frames a fixed stacklevel landed in
    from alien_sk.exceptions import AlienSkWarning, CacheWarning, TruncationWarning
    from alien_sk.features import FeatureExtractor

    path = tiny_model_path("bert")
    long_text = ["word " * 50]
    fe = FeatureExtractor(path, max_length=8, cache_dir=tmp_path / "c")
    fe.set_params(progress_bar=False)
    for call in (
        lambda: fe.fit_transform(long_text),
        lambda: fe.transform(long_text + ["more " * 50]),
    ):
        for w in _caught(TruncationWarning, call):
            assert w.filename == __file__, f"{w.category.__name__} at {w.filename}"
    # a corrupt cache shard, read by a fresh extractor
    for shard in (tmp_path / "c").rglob("*.npz"):
        shard.write_bytes(b"not a zip file")
    fresh = FeatureExtractor(path, max_length=8, cache_dir=tmp_path / "c")
    fresh.set_params(progress_bar=False)
    for w in _caught(CacheWarning, lambda: fresh.fit_transform(long_text)):
        assert w.filename == __file__, f"{w.category.__name__} at {w.filename}"
    # a checkpoint without its classifier's weights
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    encoder = tmp_path / "encoder"
    AutoModelForSequenceClassification.from_pretrained(path).bert.save_pretrained(
        encoder
    )
    AutoTokenizer.from_pretrained(path).save_pretrained(encoder)
    random_head = FeatureExtractor(str(encoder), progress_bar=False)
    for w in _caught(AlienSkWarning, random_head.fit):
        assert w.filename == __file__, f"{w.category.__name__} at {w.filename}"
