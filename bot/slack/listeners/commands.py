"""`/learn`: one slash command, many subcommands; the table below is also the help text.

Subcommands that only read the lessons answer in the acknowledgement itself. The others
acknowledge at once and answer through the response URL when their work is done, so Slack's
three seconds are never at risk.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond

from bot.domain.schedule import Target
from bot.services import Services
from bot.services.refused import Refused
from bot.services.wording import channel, plural, user, when
from bot.slack import grammar
from bot.slack.app_home import AppHome
from bot.slack.command_table import ADMIN, COMMANDS, LEAD, Invocation
from bot.slack.grammar import UsageError
from bot.slack.messenger import SlackMessenger
from bot.slack.render_forms import schedule_form
from bot.slack.render_help import help_message, unknown_command
from bot.slack.render_replies import (
    describe_target,
    report_message,
    schedule_summary,
)
from bot.slack.search_results import search_blocks


def register(app: App, services: Services, *, messenger: SlackMessenger, home: AppHome) -> None:
    @app.command("/learn")
    def learn(
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        context: BoltContext,
    ) -> None:
        name, _, args = (command.get("text") or "").strip().partition(" ")
        invocation = Invocation(
            team_id=context.team_id or command.get("team_id", ""),
            user_id=command["user_id"],
            channel_id=command.get("channel_id", ""),
            name=name.lower() or "help",
            args=args.strip(),
            trigger_id=command.get("trigger_id", ""),
            ack=ack,
            respond=respond,
            services=services,
            messenger=messenger,
            home=home,
        )
        subcommand = COMMANDS.find(invocation.name)
        if subcommand is None or subcommand.run is None:
            ack(**unknown_command(name, COMMANDS.names()))
            return
        if not subcommand.slow:
            subcommand.run(invocation)
            return
        ack()
        try:  # a Refused is answered by bot/slack/refusals.py
            subcommand.run(invocation)
        except UsageError as problem:
            invocation.reply(f":no_entry_sign: {problem}\nThe form is `{subcommand.usage}`.")


# -- for everyone --------------------------------------------------------------------------------


@COMMANDS.add("help", "/learn help", slow=False)
def show_help(invocation: Invocation) -> None:
    """List these commands."""
    invocation.ack(**help_message(COMMANDS))


@COMMANDS.add("courses", "/learn courses", slow=False)
def list_courses(invocation: Invocation) -> None:
    """List the courses, with a line on each."""
    courses = invocation.services.catalog.catalog.courses
    if not courses:
        invocation.ack(text="There are no courses yet.", response_type="ephemeral")
        return
    lines = [
        f"• *{course.title}* (`{course.id}`, {plural(len(course.lessons), 'lesson')}): "
        f"{course.description}"
        for course in courses
    ]
    text = "\n".join(lines) + "\n`/learn join <course>` starts one in your DMs."
    invocation.ack(text=text, response_type="ephemeral")


@COMMANDS.add("search", "/learn search <words>", slow=False)
def search(invocation: Invocation) -> None:
    """Find lessons by title, objective, skills or text; **Open** sends one to you."""
    if not invocation.args:
        invocation.ack(text="Search for what? For example `/learn search passwords`.")
        return
    found = invocation.services.catalog.search(invocation.args)
    if not found:
        invocation.ack(
            text=f"No lesson matches “{invocation.args}”. `/learn courses` lists everything.",
            response_type="ephemeral",
        )
        return
    lines = [f"• *{lesson.title}* (`{lesson.key}`): {lesson.objective}" for lesson in found]
    heading = f"Lessons about “{invocation.args}”:"
    invocation.ack(
        text=heading + "\n" + "\n".join(lines),
        blocks=search_blocks(heading[:3000], found),
        response_type="ephemeral",
    )


@COMMANDS.add("join", "/learn join <course>")
def join(invocation: Invocation) -> None:
    """Take a course in your DMs, at your own time."""
    if not invocation.args:
        raise UsageError("Which course? `/learn courses` lists them.")
    result = invocation.services.self_service.join(
        team_id=invocation.team_id,
        user_id=invocation.user_id,
        course_id=invocation.args.split()[0].lower(),
        now=invocation.now,
    )
    invocation.reply(
        f":books: You're in *{result.course.title}*: "
        f"{plural(len(result.course.lessons), 'lesson')}, "
        f"{result.days.describe()} at {result.at:%H:%M} your time ({result.tz}). "
        f"First lesson {when(result.first_at)}. `/learn next` sends one right now."
    )
    invocation.refresh_home()


@COMMANDS.add("next", "/learn next")
def next_lesson(invocation: Invocation) -> None:
    """Get your next lesson now (with no course running: the first recommended one)."""
    try:
        result = invocation.services.self_service.next_lesson(
            team_id=invocation.team_id, user_id=invocation.user_id, now=invocation.now
        )
    except Refused:
        picked = invocation.services.skills.send_recommended(
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            request=invocation.trigger_id or invocation.now.isoformat(),
            now=invocation.now,
        )
        if picked is None:
            raise
        invocation.reply(
            f":arrow_forward: *{picked.lesson.title}* is on its way to your DMs: {picked.reason}."
        )
        return
    invocation.reply(f":arrow_forward: *{result.lesson.title}* is on its way to your DMs.")


@COMMANDS.add("snooze", "/learn snooze [days]")
def snooze(invocation: Invocation) -> None:
    """Pause your own lessons for a few days (default 1)."""
    days = grammar.parse_days_count(invocation.args)
    until = invocation.services.self_service.snooze(
        team_id=invocation.team_id, user_id=invocation.user_id, days=days, now=invocation.now
    )
    invocation.reply(
        f":zzz: Snoozed for {plural(days, 'day')}: lessons start again {when(until)}. "
        "`/learn resume` brings them back sooner."
    )
    invocation.refresh_home()


@COMMANDS.add("resume", "/learn resume")
def resume(invocation: Invocation) -> None:
    """Resume your own lessons after a snooze, or after they paused themselves."""
    if invocation.args:
        change_drip(invocation, "resume")
        return
    invocation.services.reminders.resume_all(  # courses paused after unanswered lessons
        team_id=invocation.team_id, user_id=invocation.user_id, now=invocation.now
    )
    upcoming = invocation.services.self_service.resume_own(
        team_id=invocation.team_id, user_id=invocation.user_id, now=invocation.now
    )
    if upcoming is None:
        invocation.reply("You have no lessons scheduled. `/learn courses` lists the courses.")
        return
    invocation.reply(f":arrow_forward: Resumed. Your next lesson comes {when(upcoming)}.")
    invocation.refresh_home()


@COMMANDS.add("leave", "/learn leave <course>")
def leave(invocation: Invocation) -> None:
    """Stop a course you are taking."""
    if not invocation.args:
        raise UsageError("Which course?")
    course = invocation.services.self_service.leave(
        team_id=invocation.team_id,
        user_id=invocation.user_id,
        course_id=invocation.args.split()[0].lower(),
        now=invocation.now,
    )
    invocation.reply(f"You've left *{course.title}*. No more lessons from it.")


# -- for leads -----------------------------------------------------------------------------------


@COMMANDS.add("schedule", grammar.SCHEDULE_USAGE, LEAD)
def schedule(invocation: Invocation) -> None:
    """Drip a course to channels and people (no arguments: open the form)."""
    if not invocation.args:  # the same form as App Home's button (leads only)
        invocation.services.roles.require_lead(
            invocation.team_id, invocation.user_id, doing="schedule courses", now=invocation.now
        )
        view = schedule_form(invocation.services.catalog.catalog.courses)
        invocation.messenger.open_view(invocation.team_id, invocation.trigger_id, view)
        return
    request = grammar.parse_schedule(invocation.args, today=invocation.now.date())
    result = invocation.services.scheduling.schedule(
        team_id=invocation.team_id, lead_id=invocation.user_id, request=request, now=invocation.now
    )
    invocation.reply(schedule_summary(result))


@COMMANDS.add("send", grammar.SEND_USAGE, LEAD)
def send(invocation: Invocation) -> None:
    """Send one lesson now (a course sends its first lesson)."""
    request = grammar.parse_send(invocation.args)
    result = invocation.services.scheduling.send_now(
        team_id=invocation.team_id,
        lead_id=invocation.user_id,
        address=request.address,
        targets=request.targets,
        now=invocation.now,
    )
    who = [plural(result.users, "person", "people")] if result.users else []
    who += [channel(c) for c in result.channels]
    invocation.reply(f":outbox_tray: Sending *{result.lesson.title}* now to {', '.join(who)}.")


@COMMANDS.add("schedules", "/learn schedules", LEAD)
def schedules(invocation: Invocation) -> None:
    """List drips: id, course, targets, next lesson, status."""
    drips = invocation.services.drips.list_drips(
        team_id=invocation.team_id, lead_id=invocation.user_id, now=invocation.now
    )
    if not drips:
        invocation.reply(f"No drips yet. Create one with `{grammar.SCHEDULE_USAGE}`.")
        return
    lines = []
    for drip in drips:
        targets = ", ".join(describe_target(kind, ref) for kind, ref, _ in drip.targets)
        upcoming = f"next {when(drip.next_due_at)}" if drip.next_due_at else "nothing scheduled"
        lines.append(
            f"*#{drip.id}* `{drip.course}` → {targets} · {drip.status} · {upcoming} · "
            f"{drip.finished}/{drip.enrolled} done"
        )
    invocation.reply("\n".join(lines))


COMMANDS.document("resume", "/learn resume <id>", "Resume a paused drip.", LEAD)


@COMMANDS.add("pause", "/learn pause <id>", LEAD)
def pause(invocation: Invocation) -> None:
    """Pause a drip."""
    change_drip(invocation, "pause")


@COMMANDS.add("cancel", "/learn cancel <id>", LEAD)
def cancel(invocation: Invocation) -> None:
    """Cancel a drip for good."""
    change_drip(invocation, "cancel")


def change_drip(invocation: Invocation, action: str) -> None:
    drip_id = grammar.parse_drip_id(invocation.args)
    drip = invocation.services.drips.change(
        team_id=invocation.team_id,
        lead_id=invocation.user_id,
        drip_id=drip_id,
        action=action,
        now=invocation.now,
    )
    done = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
    more = (
        f" Next lesson {when(drip.next_due_at)}." if action == "resume" and drip.next_due_at else ""
    )
    invocation.reply(f"Drip #{drip.id} (`{drip.course}`) is {done}.{more}")


# -- for admins ----------------------------------------------------------------------------------


@COMMANDS.add("leads", "/learn leads add|remove @user", ADMIN)
def leads(invocation: Invocation) -> None:
    """Grant or take the lead role."""
    action, _, rest = invocation.args.partition(" ")
    if action not in ("add", "remove") or not rest.strip():
        raise UsageError("Write `/learn leads add @user` or `/learn leads remove @user`.")
    invocation.services.roles.require_admin(
        invocation.team_id,
        invocation.user_id,
        doing="grant or take the lead role",
        now=invocation.now,
    )
    people = invocation.services.people
    lines = []
    for target in grammar.parse_users(rest):
        user_id = _user_id(invocation, target)
        if action == "add":
            granted = people.grant_lead(
                invocation.team_id, user_id, by=invocation.user_id, now=invocation.now
            )
            lines.append(f"{user(user_id)} is {'now' if granted else 'already'} a lead.")
        else:
            revoked = people.revoke_lead(invocation.team_id, user_id)
            lines.append(
                f"{user(user_id)} is no longer a lead."
                if revoked
                else f"{user(user_id)} was not a lead (workspace admins always are)."
            )
    invocation.reply("\n".join(lines))


def _user_id(invocation: Invocation, target: Target) -> str:
    if target.id:
        return target.id
    recipients = invocation.services.targets.resolve(invocation.team_id, [target])
    return recipients.users[0]


@COMMANDS.add("progress", "/learn progress")
def progress(invocation: Invocation) -> None:
    """Your lessons done, score, points, streak, badges and what's next."""
    mine = invocation.services.reports.progress(
        team_id=invocation.team_id, user_id=invocation.user_id, now=invocation.now
    )
    earned = invocation.services.gamify.standing(
        team_id=invocation.team_id, user_id=invocation.user_id, now=invocation.now
    )
    badges = ", ".join(f"*{badge.title}*" for badge in earned.badges) or "none yet"
    lines = [
        "*Your progress*",
        f"• Lessons done: {mine.lessons_done}",
        f"• Questions: {mine.right}/{mine.answered} right",
        f"• Points: {earned.points}",
        f"• Streak: {plural(earned.streak, 'day')}"
        + (" :fire:" if earned.streak >= 3 else "")
        + f" (best: {plural(earned.best_streak, 'day')})",
        f"• Badges: {badges}",
        f"• Reviews due: {mine.reviews_due}"
        + (f" (next {when(mine.next_review_at)})" if mine.next_review_at else ""),
        f"• Discussion replies: {mine.replies}",
    ]
    if mine.next_lesson is not None:
        lines.append(f"• Next lesson: *{mine.next_lesson.title}* {when(mine.next_lesson_at)}")
    elif not mine.courses:
        lines.append("• No course in progress: `/learn courses` lists them.")
    invocation.reply("\n".join(lines))


@COMMANDS.add("report", grammar.REPORT_USAGE, LEAD)
def report(invocation: Invocation) -> None:
    """Completion, accuracy, hardest questions and a chart for your learners, with CSV files."""
    invocation.services.roles.require_lead(
        invocation.team_id, invocation.user_id, doing="see reports", now=invocation.now
    )
    request = grammar.parse_report(invocation.args, today=invocation.now.date())
    leads = invocation.services.lead_reports
    result = leads.report(
        team_id=invocation.team_id,
        lead_id=invocation.user_id,
        course_id=request.course,
        targets=request.targets,
        since=request.since,
        now=invocation.now,
    )
    chart_id = leads.upload(team_id=invocation.team_id, lead_id=invocation.user_id, report=result)
    invocation.reply(*report_message(result, chart_id))


@COMMANDS.add("digest", "/learn digest", LEAD)
def digest(invocation: Invocation) -> None:
    """Your weekly digest, now (only you see it)."""
    text = invocation.services.digests.preview(
        team_id=invocation.team_id, lead_id=invocation.user_id, now=invocation.now
    )
    invocation.reply(text)
