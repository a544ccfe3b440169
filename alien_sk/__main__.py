# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""``python -m alien_sk demo``: see :mod:`alien_sk.cli`."""

import sys

from alien_sk.cli import main

if __name__ == "__main__":
    sys.exit(main())
