"""The proxy's unit tests run without a network: see proxy_fixtures.py."""

from __future__ import annotations

import sys
from pathlib import Path

# The helpers next to the tests are importable by name in every import mode.
sys.path.insert(0, str(Path(__file__).parent))
