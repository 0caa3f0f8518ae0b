"""``python -m dcerpc.com serve …`` (see :mod:`dcerpc.com._cli`)."""

from __future__ import annotations

import sys

from ._cli import main

sys.exit(main())
