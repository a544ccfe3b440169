# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The compiled extension; all other metadata is in pyproject.toml.

``alien_sk._head_fast`` (Cython, built with the build requirements of
pyproject.toml) runs a training epoch of the ALIEN linear head. It is
optional: without a C compiler the install goes on, and the head trains with
its numpy step instead (up to twice as slow; same results to rounding).
"""

import sys

from setuptools import Extension, setup

# -fno-math-errno lets the compiler vectorise sqrt in the Adam loop
args = [] if sys.platform == "win32" else ["-O3", "-fno-math-errno"]
setup(
    ext_modules=[
        Extension(
            "alien_sk._head_fast",
            ["alien_sk/_head_fast.pyx"],
            extra_compile_args=args,
            optional=True,
        )
    ]
)
