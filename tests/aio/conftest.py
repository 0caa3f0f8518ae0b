from __future__ import annotations

import sys
from pathlib import Path

# the shared test service module (svc.py) sits next to this file
sys.path.insert(0, str(Path(__file__).resolve().parent))
