"""The SQL shapes the suite runs on PostgreSQL: captured per session, compared between runs.

A shape is a statement's text with its values taken out (parameters, literals, the length of IN
lists and multi-row VALUES), so two runs of the same query are one shape. With
MICROLEARN_SQL_SHAPES=<folder>, every statement that reaches PostgreSQL in the test process
(SQLAlchemy's cursor executions, and bot.storage.fastlane's, which bypass SQLAlchemy's events)
is recorded with the test that ran it; each process (each pytest-xdist worker) writes
<folder>/shapes-<worker>.json at the end of the session. Statements run by subprocesses
(`microlearn serve` in tests/e2e) are not seen.

Compare two captures (e.g. before and after moving tests to SQLite only):

    python -m tests.support.sql_shapes BEFORE_FOLDER AFTER_FOLDER

prints the counts and, for every shape the second lacks, the tests that ran it in the first.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

_PARAMETER = re.compile(r"%\([^)]*\)s|%s")  # psycopg's placeholders
_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
# A placeholder with its cast, if any (`?::INTEGER`), repeated: an IN list or a VALUES row.
_IN_LIST = re.compile(r"IN \((\?(?:::[A-Z][A-Z ]*[A-Z])?)(?:\s*,\s*\1)*\)")
_REPEATED_VALUE = re.compile(r"(\?(?:::[A-Z][A-Z ]*[A-Z])?)(?:\s*,\s*\1)+")
_REPEATED_GROUP = re.compile(r"(\([^()]*\))(?:\s*,\s*\1)+")
_SPACE = re.compile(r"\s+")

# shape → test node ids (without the parameters) that ran it
_seen: dict[str, set[str]] = defaultdict(set)


def shape(statement: str) -> str:
    """`statement` with its values and list lengths taken out, on one line."""
    text = _SPACE.sub(" ", statement).strip()
    text = _STRING.sub("'?'", text)
    text = _PARAMETER.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _IN_LIST.sub(r"IN (\1, …)", text)
    text = _REPEATED_VALUE.sub(r"\1, …", text)
    return _REPEATED_GROUP.sub(r"\1, …", text)


def _current_test() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)")
    node = current.rsplit(" (", 1)[0]
    return node.split("[", 1)[0]


def _record(statement: str) -> None:
    _seen[shape(statement)].add(_current_test())


def start() -> bool:
    """Start recording when MICROLEARN_SQL_SHAPES names a folder; whether it does."""
    if not os.environ.get("MICROLEARN_SQL_SHAPES"):
        return False
    # Listening to every engine's statements, not talking SQL: the ban on SQLAlchemy outside
    # storage is about the latter.
    from sqlalchemy import event  # noqa: TID251
    from sqlalchemy.engine import Engine  # noqa: TID251

    from bot.storage import fastlane

    def before_cursor_execute(
        conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        if conn.dialect.name == "postgresql":
            _record(statement)

    event.listen(Engine, "before_cursor_execute", before_cursor_execute)
    original = fastlane.DirectConnection._execute

    def execute(self: Any, sql: str, parameters: Any = None) -> list[Any]:
        if self._dialect.name == "postgresql":
            _record(sql)
        return original(self, sql, parameters)

    fastlane.DirectConnection._execute = execute  # type: ignore[method-assign]
    return True


def finish(worker: str) -> None:
    """Write what this process recorded, if it recorded."""
    folder = os.environ.get("MICROLEARN_SQL_SHAPES")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    data = {text: sorted(tests) for text, tests in sorted(_seen.items())}
    (Path(folder) / f"shapes-{worker}.json").write_text(json.dumps(data, indent=1))


def load(folder: Path) -> dict[str, set[str]]:
    """Every worker's shapes in a capture folder, merged."""
    merged: dict[str, set[str]] = defaultdict(set)
    for path in sorted(folder.glob("shapes-*.json")):
        for text, tests in json.loads(path.read_text()).items():
            merged[shape(text)].update(tests)  # the same shapes as `shape` draws them now
    return merged


def main(argv: list[str]) -> int:
    before, after = load(Path(argv[0])), load(Path(argv[1]))
    lost = sorted(set(before) - set(after))
    gained = set(after) - set(before)
    print(f"PostgreSQL statement shapes: before {len(before)}, after {len(after)}")
    print(f"lost {len(lost)}, new {len(gained)}")
    for text in lost:
        print(f"\nLOST {text}\n  ran by: {', '.join(sorted(before[text]))}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
