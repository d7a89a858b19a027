"""App Home as Block Kit: the learner's dashboard, a lead's drips, and the whole Home tab.

A learner's courses, standing, reviews, mastery, recommendations and settings; a lead's drips
with their buttons.

However many courses, skills, badges or drips there are, the view stays within Slack's limits
(100 blocks, 3000 characters a section): beyond a few of each it says how many more and where
to see them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.services.dashboard import CourseProgress, DripSummary, LearnerDashboard
from bot.services.wording import plural, when
from bot.slack import blockkit
from bot.slack.render_replies import describe_target
from bot.slack.search_results import OPEN_ACTION

MAX_COURSES_SHOWN = 10
MAX_SKILLS_SHOWN = 10
MAX_BADGES_SHOWN = 10
MAX_DRIPS_SHOWN = 20  # two blocks each: with the learner's part, well under 100 blocks
BAR_WIDTH = 10

REVIEW_NOW = "home_review_now"
LEADERBOARD_SHOW = "home_leaderboard_show"
LEADERBOARD_HIDE = "home_leaderboard_hide"

Block = dict[str, Any]


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """`▰▰▰▱▱▱▱▱▱▱` for 3 of 10; empty for a course without lessons."""
    filled = round(width * done / total) if total > 0 else 0
    filled = max(0, min(width, filled))
    return "▰" * filled + "▱" * (width - filled)


def learner_blocks(board: LearnerDashboard) -> list[Block]:
    blocks = [_courses(board.courses), _standing(board)]
    blocks.append(_reviews(board))
    if board.mastery:
        blocks.append(_mastery(board))
    blocks += _recommendations(board)
    blocks += _settings(board)
    return blocks


def _section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, 3000)}}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def _courses(courses: tuple[CourseProgress, ...]) -> Block:
    if not courses:
        return _section(
            "*Your courses*\nYou're not taking a course yet. `/learn courses` lists them.",
            block_id="courses",
        )
    lines = [_course_line(course) for course in courses[:MAX_COURSES_SHOWN]]
    if len(courses) > MAX_COURSES_SHOWN:
        lines.append(f"…and {len(courses) - MAX_COURSES_SHOWN} more: `/learn progress`")
    return _section("*Your courses*\n" + "\n".join(lines), block_id="courses")


def _course_line(course: CourseProgress) -> str:
    head = (
        f"• *{_cut(course.title, 80)}* `{progress_bar(course.done, course.total)}` "
        f"{course.done} of {plural(course.total, 'lesson')} done"
    )
    if course.status == "finished":
        return head + " :white_check_mark:"
    if course.status == "paused":
        return head + " · paused"
    if course.next_title:
        return head + f" · next: _{_cut(course.next_title, 80)}_ {when(course.next_at)}"
    return head


def _standing(board: LearnerDashboard) -> Block:
    standing = board.standing
    badges = [badge.title for badge in standing.badges]
    shown = ", ".join(f"*{_cut(title, 60)}*" for title in badges[:MAX_BADGES_SHOWN])
    if len(badges) > MAX_BADGES_SHOWN:
        shown += f" and {len(badges) - MAX_BADGES_SHOWN} more"
    streak = plural(standing.streak, "day") + (" :fire:" if standing.streak >= 3 else "")
    lines = [
        "*Your progress*",
        f"Points: *{standing.points}* · Streak: {streak} (best: "
        f"{plural(standing.best_streak, 'day')})",
        f"Badges: {shown or 'none yet'}",
    ]
    return _section("\n".join(lines), block_id="standing")


def _reviews(board: LearnerDashboard) -> Block:
    reviews = board.reviews
    if reviews.due:
        text = f"*Reviews*: {reviews.due} due today."
        button = _button("Review now", REVIEW_NOW, "now", primary=True)
        return _section(_with_waiting(text, reviews.waiting), block_id="reviews", accessory=button)
    text = "*Reviews*: none due today." + (
        f" Next {when(reviews.next_at)}." if reviews.next_at else ""
    )
    return _section(_with_waiting(text, reviews.waiting), block_id="reviews")


def _with_waiting(text: str, waiting: int) -> str:
    if not waiting:
        return text
    return text + f" {plural(waiting, 'review')} waiting for your answer in our DMs."


def _mastery(board: LearnerDashboard) -> Block:
    skills = board.mastery
    lines = [
        f"• {_cut(skill.skill, 60)}: {skill.percent} % ({plural(skill.questions, 'question')})"
        for skill in skills[:MAX_SKILLS_SHOWN]
    ]
    if len(skills) > MAX_SKILLS_SHOWN:
        lines.append(f"…and {len(skills) - MAX_SKILLS_SHOWN} more: `/learn goal` lists skills")
    return _section("*Mastery*\n" + "\n".join(lines), block_id="mastery")


def _recommendations(board: LearnerDashboard) -> list[Block]:
    if not board.recommendations:
        return []
    blocks = [_section("*Recommended for you*", block_id="recommended")]
    for number, found in enumerate(board.recommendations):
        text = f"*{_cut(found.lesson.title, 100)}* ({_cut(found.course.title, 80)}): {found.reason}"
        open_button = _button("Open", f"{OPEN_ACTION}_{number}", found.lesson.key)
        blocks.append(_section(text, block_id=f"recommended_{number}", accessory=open_button))
    return blocks


def _settings(board: LearnerDashboard) -> list[Block]:
    settings = board.settings
    days = settings.days.describe() if settings.days else "the drip's days"
    at = f"{settings.at:%H:%M}" if settings.at else "the drip's time"
    text = f"*Settings*\nDelivery: {days}, {at} ({settings.tz})."
    if settings.snoozed_until:
        text += f" Snoozed until {when(settings.snoozed_until)}."
        buttons = [_button("Resume now", "home_resume", "resume", primary=True)]
    else:
        buttons = [
            _button("Next lesson now", "home_next", "next", primary=True),
            _button("Snooze a day", "home_snooze_1", "1"),
            _button("Snooze a week", "home_snooze_7", "7"),
        ]
    buttons.append(_button("Change delivery time", "home_prefs", "prefs"))
    text += "\nShow me on leaderboards: " + ("*on*" if settings.visible else "*off*")
    if settings.visible:
        buttons.append(_button("Hide me from leaderboards", LEADERBOARD_HIDE, "hide"))
    else:
        buttons.append(_button("Show me on leaderboards", LEADERBOARD_SHOW, "show"))
    return [
        _section(text, block_id="settings"),
        {"type": "actions", "block_id": "learner", "elements": buttons},
    ]


def lead_blocks(drips: tuple[DripSummary, ...]) -> list[Block]:
    blocks: list[Block] = [
        {"type": "divider"},
        _section(
            f"*Your drips* ({len(drips)} running)",
            block_id="drips",
            accessory=_button("Schedule a course", "home_schedule", "new", primary=True),
        ),
    ]
    for summary in drips[:MAX_DRIPS_SHOWN]:
        blocks += _drip_blocks(summary)
    if len(drips) > MAX_DRIPS_SHOWN:
        more = plural(len(drips) - MAX_DRIPS_SHOWN, "more drip")
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"…and {more}: `/learn schedules`"}],
            }
        )
    return blocks


def _drip_blocks(summary: DripSummary) -> list[Block]:
    drip = summary.drip
    targets = ", ".join(describe_target(kind, ref) for kind, ref, _ in drip.targets[:5])
    if len(drip.targets) > 5:
        targets += f" and {len(drip.targets) - 5} more"
    upcoming = f"next {when(drip.next_due_at)}" if drip.next_due_at else "nothing scheduled"
    completion = f"{summary.completion} %" if summary.completion is not None else "–"
    accuracy = f"{summary.accuracy} %" if summary.accuracy is not None else "–"
    text = (
        f"*#{drip.id}* `{drip.course}` {_cut(summary.title, 80)} → {targets}\n"
        f"{drip.status} · {upcoming}\n"
        f"{plural(summary.learners, 'learner')} · {completion} complete · "
        f"{accuracy} right first try · {summary.waiting} waiting · {summary.paused} paused"
        + _people_line("Reminded, not answering yet", summary.reminded)
        + _people_line("Paused themselves after missed lessons", summary.paused_themselves)
    )
    buttons = []
    if drip.status == "paused" or summary.paused:
        buttons.append(_button("Resume", "drip_resume", str(drip.id)))
    if drip.status == "active":
        buttons.append(_button("Pause", "drip_pause", str(drip.id)))
    cancel = _button("Cancel", "drip_cancel", str(drip.id))
    cancel["style"] = "danger"
    cancel["confirm"] = {
        "title": {"type": "plain_text", "text": "Cancel this drip?"},
        "text": {"type": "plain_text", "text": f"Drip #{drip.id} stops for everyone in it."},
        "confirm": {"type": "plain_text", "text": "Cancel it"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    buttons.append(cancel)
    return [
        _section(text, block_id=f"drip_text_{drip.id}"),
        {"type": "actions", "block_id": f"drip_{drip.id}", "elements": buttons},
    ]


def _button(text: str, action_id: str, value: str, *, primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if primary:
        button["style"] = "primary"
    return button


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _people_line(label: str, people: Sequence[str], *, shown: int = 5) -> str:
    """A line naming up to `shown` learners a lead may want to check on; empty when none."""
    if not people:
        return ""
    names = ", ".join(f"<@{user_id}>" for user_id in people[:shown])
    more = f" and {len(people) - shown} more" if len(people) > shown else ""
    return f"\n{label}: {names}{more}"


def home_page(
    board: LearnerDashboard, drips: tuple[DripSummary, ...] | None, *, note: str | None = None
) -> Block:
    """The whole Home tab: a note on top (what a click did), the learner's part, and the lead's
    drips when `drips` is given."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "microlearn"}},
    ]
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note[:3000]}]})
    blocks += learner_blocks(board)
    if drips is not None:
        blocks += lead_blocks(drips)
    view = {"type": "home", "blocks": blocks}
    blockkit.validate_view(view)
    return view
