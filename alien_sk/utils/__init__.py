# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Utilities: estimator discovery and reusable estimator checks."""

from alien_sk.utils.discovery import all_estimators

__all__ = ["all_estimators"]
