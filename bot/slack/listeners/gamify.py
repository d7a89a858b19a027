"""`/learn leaderboard`, `/learn goal`, and the Open button of search results (issue 15 items 5-6).

The subcommands join the `/learn` table (and so its help) when this module is imported.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond

from bot.domain.leaderboard import Period
from bot.services import Services
from bot.services.leaderboards import LeaderboardView, board_text
from bot.services.wording import channel, plural
from bot.slack import grammar
from bot.slack.command_table import ANYONE, COMMANDS, LEAD, Invocation
from bot.slack.grammar import UsageError
from bot.slack.search_results import OPEN_ACTION

_OPEN = re.compile(rf"^{OPEN_ACTION}_\d+$")
_PERIOD_WORDS = {Period.WEEK: "this week", Period.MONTH: "this month", Period.ALL: "all time"}


def register(app: App, services: Services) -> None:
    @app.action(_OPEN)
    def open_lesson(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()
        lesson = services.skills.open_lesson(  # refused: bot/slack/refusals.py says why
            team_id=context.team_id or "",
            user_id=body["user"]["id"],
            key=str(action.get("value") or "")[:201],
            request=str(action.get("action_ts") or ""),
            now=services.clock(),
        )
        if body.get("response_url"):  # from App Home, the lesson arriving in the DM says enough
            respond(
                response_type="ephemeral",
                replace_original=False,
                text=f":arrow_forward: *{lesson.title}* is on its way to your DMs.",
            )


# -- /learn leaderboard --------------------------------------------------------------------------


@COMMANDS.add("leaderboard", grammar.LEADERBOARD_USAGE)
def leaderboard(invocation: Invocation) -> None:
    """Top 10 by points this week (or month, all time) among people sharing a drip with you."""
    word, _, rest = invocation.args.partition(" ")
    services = invocation.services
    if word.lower() in ("hide", "show"):
        if rest.strip():
            raise UsageError(f"`/learn leaderboard {word.lower()}` takes nothing after it.")
        visible = word.lower() == "show"
        services.leaderboards.set_visible(
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            visible=visible,
            now=invocation.now,
        )
        invocation.reply(
            ":eyes: You're on leaderboards again. `/learn leaderboard hide` takes you off."
            if visible
            else ":see_no_evil: You're hidden: your name won't appear on any leaderboard or "
            "digest. `/learn leaderboard show` puts you back."
        )
        return
    if word.lower() == "post":
        drip_id = grammar.parse_drip_id(rest)
        where, board = services.leaderboards.post(
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            drip_id=drip_id,
            request=invocation.trigger_id or invocation.now.isoformat(),
            now=invocation.now,
        )
        invocation.reply(
            f":trophy: Posting drip #{drip_id}'s leaderboard in {channel(where)} "
            f"({plural(len(board.top), 'person', 'people')} listed; hidden people left out)."
        )
        return
    request = grammar.parse_leaderboard(invocation.args)
    view = services.leaderboards.board(
        team_id=invocation.team_id,
        user_id=invocation.user_id,
        course_id=request.course,
        period=Period(request.period),
        now=invocation.now,
    )
    invocation.reply(leaderboard_text(view))


COMMANDS.document(
    "leaderboard",
    "/learn leaderboard hide|show",
    "Hide yourself from leaderboards, or show.",
    ANYONE,
)
COMMANDS.document(
    "leaderboard",
    "/learn leaderboard post <drip id>",
    "Post a drip's leaderboard in its channel (hidden people left out).",
    LEAD,
)


def leaderboard_text(view: LeaderboardView) -> str:
    what = view.course.title if view.course else "all courses"
    among = "everyone" if view.everyone else "people who share a drip with you"
    heading = f"*Leaderboard: {_PERIOD_WORDS[view.period]}, {what}* ({among})"
    lines = [board_text(view.board, heading=heading)]
    you = view.board.you
    if you is None:
        lines.append(f"You have no points {_PERIOD_WORDS[view.period]} yet.")
    else:
        lines.append(
            f"You: #{you.rank} of {view.board.ranked} with {plural(you.points, 'point')}"
            + (" (you're hidden, so others don't see you)." if view.hidden else ".")
        )
    return "\n".join(lines)


# -- /learn goal ---------------------------------------------------------------------------------

GOAL_USAGE = "/learn goal [<skill>|clear]"


@COMMANDS.add("goal", GOAL_USAGE)
def goal(invocation: Invocation) -> None:
    """Set a skill to work on (alone: your goal, mastery and what to learn next)."""
    skills = invocation.services.skills
    who = {"team_id": invocation.team_id, "user_id": invocation.user_id}
    args = invocation.args.strip()
    if args.lower() == "clear":
        cleared = skills.clear_goal(**who, now=invocation.now)
        invocation.reply("Goal cleared." if cleared else "You had no goal set.")
        return
    if args:
        if len(args) > 100:
            raise UsageError("That's too long for a skill: name one, like `security`.")
        chosen = skills.set_goal(**who, skill=args, now=invocation.now)
        invocation.reply(
            f":dart: Your goal is now *{chosen}*. `/learn next` picks lessons for it when you "
            "have no course running.\n" + _recommendation_lines(invocation)
        )
        return
    current = skills.goal(**who)
    lines = [
        f":dart: Your goal: *{current}*."
        if current
        else "You have no goal yet. `/learn goal <skill>` sets one; the skills are "
        + (", ".join(f"`{s}`" for s in skills.skills()) or "none yet")
        + "."
    ]
    mastery = skills.mastery(**who, now=invocation.now)
    if mastery:
        lines.append("*Mastery*")
        lines += [
            f"• {m.skill}: {m.percent} % ({plural(m.questions, 'question')})" for m in mastery
        ]
    lines.append(_recommendation_lines(invocation))
    invocation.reply("\n".join(line for line in lines if line))


def _recommendation_lines(invocation: Invocation) -> str:
    found = invocation.services.skills.recommendations(
        team_id=invocation.team_id, user_id=invocation.user_id, now=invocation.now
    )
    if not found:
        return ""
    return "*Recommended for you*\n" + "\n".join(
        f"• *{r.lesson.title}* (`{r.lesson.key}`): {r.reason}" for r in found
    )
