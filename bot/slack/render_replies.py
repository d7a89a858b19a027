"""Reply texts shared by slash commands, App Home and forms."""

from __future__ import annotations

from typing import Any

from bot.services.lead_reports import LeadReport
from bot.services.reports import QuestionStats, Report
from bot.services.scheduling import ScheduleResult
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


def report_sections(report: Report) -> list[str]:
    """A course report as mrkdwn sections (each well under Slack's 3,000 characters)."""
    sections = [
        f"*Report: {report.course.title}* · {plural(report.answers, 'answer')} from "
        f"{plural(report.learners, 'learner')}"
    ]
    lines = ["*Completion per lesson*"]
    for number, stats in enumerate(report.lessons, start=1):
        reach = (
            f"{stats.completed}/{stats.sent} completed"
            if stats.sent
            else f"{stats.completed} completed"
        )
        if stats.channels:
            reach += f", posted in {plural(stats.channels, 'channel')}"
        lines.append(f"{number}. {stats.lesson.title}: {reach}")
    sections.append("\n".join(lines))
    lines = ["*Accuracy per question* (first tries)"]
    for question in report.questions:
        lines.append(f"• {_short(question.question.text)}: {_accuracy(question)}")
    sections += _chunks(lines)
    if report.talk:
        replied = [t for t in report.talk if t.replies]
        lines = ["*Discussion*"] + [
            f"{number}. {t.lesson.title}: {plural(t.replies, 'reply', 'replies')} from "
            f"{plural(t.learners, 'learner')}"
            for number, t in enumerate(report.talk, start=1)
        ]
        sections += _chunks(lines) if replied else ["*Discussion*: no replies yet."]
    if report.attention:
        sections += _chunks(_attention_lines(report))
    hardest = report.hardest
    if hardest:
        sections.append(
            "*Hardest questions*\n"
            + "\n".join(f"• {_short(q.question.text)}: {_accuracy(q)}" for q in hardest)
        )
    return sections


def _attention_lines(report: Report) -> list[str]:
    """Learners a lead may want to check on, per drip: paused, or reminded and not answering."""
    lines = ["*Learners to check on*"]
    for drip in report.attention:
        if drip.auto_paused:
            lines.append(
                f"• Drip #{drip.drip_id}, paused after unanswered lessons: "
                f"{_people(drip.auto_paused)}"
            )
        if drip.waiting:
            lines.append(
                f"• Drip #{drip.drip_id}, reminded and not answering yet: {_people(drip.waiting)}"
            )
    return lines


def _people(user_ids: tuple[str, ...], shown: int = 20) -> str:
    names = ", ".join(f"<@{user_id}>" for user_id in user_ids[:shown])
    more = len(user_ids) - shown
    return names + (f" and {more} more" if more > 0 else "")


def _accuracy(stats: QuestionStats) -> str:
    if stats.accuracy is None:
        kind = "poll" if stats.question.kind.value == "poll" else "open"
        return f"{plural(stats.answered, 'answer')} ({kind})"
    return f"{stats.right}/{stats.answered} right ({stats.accuracy:.0%})"


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(lines: list[str], limit: int = 2800) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def report_message(result: LeadReport, chart_id: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The lead's report: whose learners, the summary, the chart inline, where the files are."""
    summary = result.report
    sections = report_sections(summary)
    sections.insert(1, f"_Covers {result.audience.label}._")
    names = [f"`{name}`" for name in result.filenames()]
    where = f"{', '.join(names[:-1])} and {names[-1]} are in your DMs."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": s[:3000]}} for s in sections[:2]
    ]
    if chart_id is not None:
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": chart_id},
                "alt_text": (
                    f"Chart of {summary.course.title}: lessons delivered, done and answered; "
                    "first-try accuracy per question; discussion replies per lesson"
                )[:2000],
            }
        )
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": s[:3000]}} for s in sections[2:]
    ]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": where}]})
    text = "\n\n".join([*sections, where])
    return text[:3000], blocks[:50]
