"""The fast lane: every prebuilt Core statement run on the driver's own connection, and how.

A click runs a handful of tiny statements; SQLAlchemy's execution layer (connection wrappers,
execution contexts, result objects) costs several times what the database does for them. So the
statements a click (or every request) runs are built once here, compiled once per dialect, and run
on the driver's cursor (`Database.direct()` hands out the connection). So are the checks every
delivery tick runs, every few seconds, to learn that most of its steps have nothing to do. Their
rows come back keyed by column label; repositories build records from them with
`bot.storage.rows.record`.
driver.py runs them; clicks.py, sending.py and checks.py hold them, by who runs them.
Every statement here has an ORM twin in tests/storage/test_fastlane.py, run on both databases.
"""

from __future__ import annotations

from bot.storage.fastlane import checks, clicks, sending
from bot.storage.fastlane.checks import (
    DELIVERIES_DUE,
    DRIP_OWNERS,
    EVENTS_TO_FORGET,
    FOLLOWUPS_DUE,
    PLAN_DUE,
    PLAN_SLOTS,
    PROFILES_TO_REFRESH,
    QUIET_THREADS,
    REVIEWS_DUE,
    _found,
    _one_of,
)
from bot.storage.fastlane.clicks import (
    _POINT_PARAMS,
    ANSWERED_POSITIONS,
    BADGE_KEYS,
    CARD,
    CARDS_OF,
    COMPLETIONS,
    ENROLMENTS_OF,
    FIRST_ANSWERS,
    FORGET_REQUEST,
    INSERT_ANSWER,
    INSERT_ANSWER_WITH_POINTS,
    INSERT_COMPLETION,
    INSERT_COMPLETION_WITH_POINTS,
    INSERT_POINTS,
    INSTALLATION,
    LEAD_GRANTED,
    LEARNER,
    PLAYER_SETTING,
    QUESTION_REF,
    REMEMBER_REQUEST,
    REVIEW_SCHEDULE,
    REVIEWS_RIGHT,
    STORED_ANSWER,
    UPSERT_CARD,
    _insert_answer,
    _insert_completion,
    _insert_points,
    _remember_request,
    _upsert_card,
    insert_once,
    points_params,
    points_row,
    with_points,
)
from bot.storage.fastlane.driver import (
    _CURSOR,
    _NO_RESULT,
    Direct,
    DirectConnection,
    Row,
    _bound,
    _by,
    _columns,
    _Compiled,
    _has_rows,
    _insert,
)
from bot.storage.fastlane.sending import (
    DRIP_LESSON_SENT,
    PAUSED_UNTIL,
    RECORD_PART,
    TAKE_TOKENS,
    _not_durable,
    _record_part,
    _take_tokens,
)

__all__ = [
    "insert_once",
    "ANSWERED_POSITIONS",
    "BADGE_KEYS",
    "CARD",
    "CARDS_OF",
    "COMPLETIONS",
    "DELIVERIES_DUE",
    "DRIP_OWNERS",
    "Direct",
    "DirectConnection",
    "DRIP_LESSON_SENT",
    "ENROLMENTS_OF",
    "EVENTS_TO_FORGET",
    "FOLLOWUPS_DUE",
    "FORGET_REQUEST",
    "FIRST_ANSWERS",
    "INSERT_ANSWER",
    "INSERT_ANSWER_WITH_POINTS",
    "INSERT_COMPLETION",
    "INSERT_COMPLETION_WITH_POINTS",
    "INSERT_POINTS",
    "INSTALLATION",
    "LEAD_GRANTED",
    "LEARNER",
    "PLAYER_SETTING",
    "PAUSED_UNTIL",
    "PLAN_DUE",
    "PLAN_SLOTS",
    "PROFILES_TO_REFRESH",
    "QUESTION_REF",
    "QUIET_THREADS",
    "RECORD_PART",
    "REMEMBER_REQUEST",
    "REVIEWS_DUE",
    "REVIEWS_RIGHT",
    "REVIEW_SCHEDULE",
    "Row",
    "STORED_ANSWER",
    "TAKE_TOKENS",
    "UPSERT_CARD",
    "_CURSOR",
    "_Compiled",
    "_NO_RESULT",
    "_POINT_PARAMS",
    "_bound",
    "_by",
    "_columns",
    "_found",
    "_has_rows",
    "_insert",
    "_insert_answer",
    "_insert_completion",
    "_insert_points",
    "_not_durable",
    "_one_of",
    "_record_part",
    "_remember_request",
    "_take_tokens",
    "_upsert_card",
    "points_params",
    "points_row",
    "with_points",
]


def statements() -> dict[str, Direct]:
    """Every prebuilt statement, by name (the test runs each beside its ORM twin)."""
    return {
        name: value
        for module in (clicks, sending, checks)
        for name, value in vars(module).items()
        if isinstance(value, Direct)
    }
