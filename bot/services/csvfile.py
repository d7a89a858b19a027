"""The one way the bot writes a CSV file: UTF-8 with a byte-order mark, no cell run as a formula.

A lead opens these files in a spreadsheet, and their cells hold what learners typed (names,
answers, thread replies). A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
would be read as a formula (CSV injection), so it gets a leading `'`, as OWASP advises; that
includes a negative number, which then reads as text. The byte-order mark makes spreadsheet
programs read the file as UTF-8, so names with accents come out right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BYTE_ORDER_MARK = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A header row and `rows`, every cell defused; None is an empty cell."""
    out = io.StringIO()
    out.write(BYTE_ORDER_MARK)
    # RFC 4180's CRLF: Python's writer quotes a cell only for characters of the line ending, and
    # a learner's text with a lone carriage return must not end the row in a spreadsheet.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([defuse(column) for column in columns])
    writer.writerows([defuse(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8")


def defuse(cell: Cell) -> str:
    """The cell as text, with a leading `'` when a spreadsheet would run it as a formula."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
