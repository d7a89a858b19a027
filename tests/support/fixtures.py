"""Question banks for the import tests.

The project's own fixtures live in tests/fixtures and always run. Moodle's own GIFT files are
third-party data at ../shared beside the checkout (or MICROLEARN_SHARED): the tests reading them
run when they are there and are skipped, with the reason, when they are not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN = ROOT / "tests" / "fixtures"
OWN_GIFT = OWN / "gift" / "workplace-basics.gift"
OWN_AIKEN = OWN / "aiken" / "workplace-basics.txt"
OWN_CSV = OWN / "csv" / "workplace-basics.csv"

SHARED = Path(os.environ.get("MICROLEARN_SHARED") or ROOT.parent / "shared")
GIFT = SHARED / "fixtures" / "gift"
MOODLE_MISSING = (
    f"Moodle's own GIFT files are not at {GIFT} (../shared beside the checkout, or "
    "MICROLEARN_SHARED); tests/fixtures covers the same features"
)
needs_moodle = pytest.mark.skipif(not GIFT.is_dir(), reason=MOODLE_MISSING)


def moodle(name: str) -> Path:
    """One of Moodle's GIFT files; skips the calling test when ../shared is not there."""
    path = GIFT / name
    if not path.is_file():
        pytest.skip(MOODLE_MISSING)
    return path
