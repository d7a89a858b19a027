"""Reply texts shared by slash commands, App Home and forms."""

from __future__ import annotations

from bot.services.drips import ScheduleResult
from bot.services.wording import channel, plural, user, when


def describe_target(kind: str, ref: str) -> str:
    return {
        "channel": channel(ref),
        "user": user(ref),
        "usergroup": f"<!subteam^{ref}>",
        "members": f"members of {channel(ref)}",
    }.get(kind, ref)


def schedule_summary(result: ScheduleResult) -> str:
    """What a lead is told after creating a drip: who, when, and how to manage it."""
    who = []
    if result.users:
        who.append(plural(result.users, "person", "people") + " by DM")
    who += [channel(c) for c in result.channels]
    zone = " (each person's own time zone)" if result.users else " (your time zone)"
    lines = [
        f":white_check_mark: Drip #{result.drip_id} scheduled: *{result.course.title}* "
        f"({plural(len(result.course.lessons), 'lesson')}) to {', '.join(who)}, "
        f"{result.days.describe()} at {result.at:%H:%M}{zone}.",
    ]
    if result.first_at:
        lines.append(f"First lesson {when(result.first_at)}.")
    if result.already:
        lines.append(f"{plural(result.already, 'recipient')} already had this drip.")
    if result.waiting:
        lines.append(
            f"I'm looking up the time zone of {plural(result.waiting, 'person', 'people')}; "
            "their lessons start at their first slot after that."
        )
    lines += list(result.warnings)
    lines.append(
        f"Manage it with `/learn pause {result.drip_id}` or `/learn cancel {result.drip_id}`, "
        "or from my App Home."
    )
    return "\n".join(lines)
