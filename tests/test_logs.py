"""bot.logs: the masking formatter and the id filter, on records made here."""

from __future__ import annotations

import json
import logging
import sys

from bot.logs import Ids, Masked, json_formatter
from bot.services.logcontext import bind, fresh_ids, log_ids


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("bot.test", logging.INFO, __file__, 1, message, args, None)


def test_tokens_and_secrets_are_masked_in_text_and_tracebacks() -> None:
    formatter = Masked(logging.Formatter("%(levelname)s %(name)s: %(message)s"), ["s3cret-signing"])
    try:
        raise RuntimeError("refused xoxb-1-abc and xapp-1-A1-def")
    except RuntimeError:
        record = _record("secret %s, token %s", "s3cret-signing", "xoxp-99-zz")
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert line.startswith("INFO bot.test: secret [redacted], token [redacted]")
    for leaked in ("s3cret-signing", "xoxb-", "xapp-", "xoxp-"):
        assert leaked not in line
    assert "RuntimeError: refused [redacted] and [redacted]" in line


def test_a_url_password_is_masked_and_ordinary_words_are_not() -> None:
    formatter = Masked(logging.Formatter("%(message)s"), [])
    record = _record("cannot reach postgresql://microlearn:microlearn@db:5432/microlearn")
    assert formatter.format(record) == (
        "cannot reach postgresql://microlearn:[redacted]@db:5432/microlearn"
    )


def test_json_lines_carry_the_ids_bound_where_the_record_was_made() -> None:
    formatter = Masked(json_formatter(), [])
    ids = Ids()
    # Outside too, nothing is bound: whatever an earlier request left in this thread is set
    # aside (tests that dispatch to Bolt in-process run in this same thread).
    with fresh_ids():
        with log_ids(team_id="T1", user_id="U1"):
            bind(delivery_id=7, drip_id=None)
            record = _record("delivery %d sent", 7)
            ids.filter(record)
        outside = _record("nothing bound")
        ids.filter(outside)
    line = json.loads(formatter.format(record))
    assert line["message"] == "delivery 7 sent"
    assert line["level"] == "INFO" and line["logger"] == "bot.test"
    assert (line["team_id"], line["user_id"], line["delivery_id"]) == ("T1", "U1", 7)
    assert "drip_id" not in line and line["time"].endswith("+00:00")
    assert "team_id" not in json.loads(formatter.format(outside))
