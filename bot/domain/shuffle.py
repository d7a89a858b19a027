"""The order a learner sees a question's options in: shuffled per learner and question, stably.

The order is a permutation of the option indexes drawn from a SHAKE-256 hash of (workspace,
learner, lesson, question position) — never Python's `hash()`, which changes from process to
process — so the same learner gets the same order on every render, review, feedback and
update, in any process and after a restart, and two learners mostly get different ones. Answers
keep naming options by their index in the lesson file: the order only changes what is shown.
"""

from __future__ import annotations

import hashlib
import re

from bot.domain.lesson import Question

SEPARATOR = "\x1f"  # unit separator: no Slack id, lesson key or number contains it

_OTHERS = re.compile(
    r"\b(all|none|both|neither|either|any|each) of (the|these|those) "
    r"(above|below|preceding|following|others|other (options|answers|choices))\b"
    r"|\b(all|none|both|neither|either) of (these|those|them)\b"
    r"|\b(options?|answers?|choices?) [a-j1-9] ?(,|and|or|&) ?[a-j1-9]\b",
    re.IGNORECASE,
)
_LETTERS = re.compile(
    r"^\W*((?i:both|only|just) )?[A-J]((, ?| and | or | & )[A-J])+\W*$"
    r"|^\W*(?i:both|only|just) [A-J]\W*$"
)


def option_order(
    question: Question, *, team_id: str, learner: str, lesson_key: str, position: int
) -> tuple[int, ...]:
    """Option indexes (into `question.options`) in the order `learner` sees them.

    `learner` is the recipient: a user id for a DM, a channel id for a post everyone in the
    channel shares. True/False, open questions and `shuffle: false` keep the file order.
    """
    size = len(question.options)
    if not question.shuffled or size < 2:
        return tuple(range(size))
    seed = SEPARATOR.join((team_id, learner, lesson_key, str(position)))
    return permutation(size, seed)


def permutation(size: int, seed: str) -> tuple[int, ...]:
    """A Fisher–Yates shuffle of `range(size)` driven by SHAKE-256 of `seed`: always the same."""
    order = list(range(size))
    draws = hashlib.shake_256(seed.encode("utf-8")).digest(8 * max(size - 1, 0))
    for step, last in enumerate(range(size - 1, 0, -1)):
        # 64 random bits modulo at most 10: the bias is below one in 10^17.
        pick = int.from_bytes(draws[8 * step : 8 * step + 8], "big") % (last + 1)
        order[last], order[pick] = order[pick], order[last]
    return tuple(order)


def refers_to_places(text: str) -> bool:
    """Whether an option points at other options by place ("All of the above", "A and C"):
    shuffled, it would point at the wrong ones, so its question needs `shuffle: false`."""
    plain = " ".join(text.replace("*", "").replace("_", " ").split())
    return bool(_OTHERS.search(plain) or _LETTERS.match(plain))
