"""Third-party data shared by every checkout and CI run, at ../shared from the project root."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MICROLEARN_SHARED") or ROOT.parent / "shared")
GIFT = SHARED / "fixtures" / "gift"
