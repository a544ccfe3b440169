# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Parameter validation of public functions (as sklearn/tests/test_public_functions.py).

Each function listed in ``PARAM_VALIDATION_FUNCTION_LIST`` is decorated with
``sklearn.utils._param_validation.validate_params``; this test checks that its
constraints cover exactly its parameters and that a parameter of the wrong type
or value raises ``InvalidParameterError`` with sklearn's message. The check is
adapted from scikit-learn (BSD-3-Clause).
"""

import inspect
from importlib import import_module
from numbers import Integral, Real

import pytest
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    generate_invalid_param_val,
    generate_valid_param,
    make_constraint,
)

PARAM_VALIDATION_FUNCTION_LIST = [
    "alien_sk.datasets.load_rotten_tomatoes",
    "alien_sk.datasets.load_wnut16",
    "alien_sk.datasets.make_classifier_outputs",
    "alien_sk.metrics.aurc",
    "alien_sk.metrics.augrc",
    "alien_sk.metrics.e_aurc",
    "alien_sk.metrics.expected_calibration_error",
    "alien_sk.metrics.get_uncertainty_scorer",
    "alien_sk.metrics.make_uncertainty_scorer",
    "alien_sk.metrics.misclassification_roc_auc",
    "alien_sk.metrics.prediction_rejection_ratio",
    "alien_sk.metrics.risk_coverage_curve",
    "alien_sk.selective.abstain_mask",
    "alien_sk.selective.clopper_pearson_upper_bound",
    "alien_sk.selective.select_threshold",
]

# Modules whose every public function must be registered above (or exempted
# below, with a reason).
CHECKED_MODULES = ["alien_sk.metrics", "alien_sk.selective"]
EXEMPT = {
    "alien_sk.metrics.get_uncertainty_scorer_names": "takes no parameter",
}


def _get_func_info(func_module):
    module_name, func_name = func_module.rsplit(".", 1)
    func = getattr(import_module(module_name), func_name)
    sig = inspect.signature(func)
    params = [
        p
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    func_params = [p.name for p in params]
    required_params = [p.name for p in params if p.default is p.empty]
    return func, func_name, func_params, required_params


def _check_function_param_validation(
    func, func_name, func_params, required_params, parameter_constraints
):
    valid_required_params = {}
    for param_name in required_params:
        if parameter_constraints[param_name] == "no_validation":
            valid_required_params[param_name] = 1
        else:
            valid_required_params[param_name] = generate_valid_param(
                make_constraint(parameter_constraints[param_name][0])
            )

    assert set(parameter_constraints) == set(func_params), (
        f"Mismatch between the constraints and the parameters of {func_name}: "
        f"unexpected {set(parameter_constraints) - set(func_params)}, "
        f"missing {set(func_params) - set(parameter_constraints)}."
    )

    param_with_bad_type = type("BadType", (), {})()
    for param_name in func_params:
        constraints = parameter_constraints[param_name]
        if constraints == "no_validation":
            continue
        assert not (
            any(isinstance(c, Interval) and c.type == Integral for c in constraints)
            and any(isinstance(c, Interval) and c.type == Real for c in constraints)
        ), f"{func_name}: {param_name} mixes Integral and Real intervals."

        match = (
            rf"The '{param_name}' parameter of {func_name} must be .* Got .* instead."
        )
        with pytest.raises(InvalidParameterError, match=match):
            func(**{**valid_required_params, param_name: param_with_bad_type})

        for constraint in (make_constraint(c) for c in constraints):
            try:
                bad_value = generate_invalid_param_val(constraint)
            except NotImplementedError:
                continue
            with pytest.raises(InvalidParameterError, match=match):
                func(**{**valid_required_params, param_name: bad_value})


@pytest.mark.parametrize("func_module", PARAM_VALIDATION_FUNCTION_LIST)
def test_function_param_validation(func_module):
    func, func_name, func_params, required_params = _get_func_info(func_module)
    constraints = getattr(func, "_skl_parameter_constraints", None)
    assert constraints is not None, f"{func_module} is not decorated"
    _check_function_param_validation(
        func, func_name, func_params, required_params, constraints
    )


@pytest.mark.parametrize("module_name", CHECKED_MODULES)
def test_every_public_function_is_registered(module_name):
    module = import_module(module_name)
    public = [
        f"{module_name}.{name}"
        for name in module.__all__
        if inspect.isfunction(getattr(module, name))
    ]
    missing = [
        f for f in public if f not in PARAM_VALIDATION_FUNCTION_LIST and f not in EXEMPT
    ]
    assert not missing, f"register these in PARAM_VALIDATION_FUNCTION_LIST: {missing}"
