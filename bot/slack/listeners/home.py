"""App Home (your lessons and settings; a lead's drips) and the forms it opens."""

from __future__ import annotations

import logging
import re
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain.numbers import number_between, whole_number
from bot.domain.schedule import DAY_NAMES, DEFAULT_AT, Days, TargetKind, stored_days, stored_time
from bot.services import Services
from bot.services.people import PROFILE_MAX_AGE
from bot.services.ports import SlackError
from bot.services.refused import Refused
from bot.services.scheduling import ScheduleRequest
from bot.services.wording import plural
from bot.slack import blockkit
from bot.slack import home_view as home_view_blocks
from bot.slack.forms import read_prefs_form, read_schedule_form
from bot.slack.listeners.replies import schedule_summary

if TYPE_CHECKING:
    from bot.slack.listeners.commands import Invocation

log = logging.getLogger(__name__)

SCHEDULE_FORM = "schedule_form"
PREFS_FORM = "prefs_form"
CHANNELS_ONLY = {"include": ["public", "private"], "exclude_bot_users": True}
DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_SNOOZE_DAYS = 90
OUT_OF_DATE = "That button is out of date: nothing was changed."


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish(services, client, context.team_id or "", event["user"])

    @app.action("home_schedule")
    def open_schedule(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        try:
            services.roles.require_lead(team, user, doing="schedule courses", now=services.clock())
        except Refused as refused:
            publish(services, client, team, user, note=str(refused))
            return
        client.views_open(trigger_id=body.get("trigger_id", ""), view=schedule_form(services))

    @app.action("home_prefs")
    def open_prefs(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        learner = services.people.learner(
            context.team_id or "", body["user"]["id"], now=services.clock()
        )
        view = prefs_form(stored_days(learner.pref_days), stored_time(learner.pref_at))
        client.views_open(trigger_id=body.get("trigger_id", ""), view=view)

    @app.action(re.compile(r"^home_snooze_\d+$"))
    def home_snooze(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        days = number_between(str(action.get("value", "")), 1, MAX_SNOOZE_DAYS)
        if days is None:
            publish(services, client, team, user, note=OUT_OF_DATE)
            return
        services.self_service.snooze(team_id=team, user_id=user, days=days, now=services.clock())
        publish(services, client, team, user)

    @app.action("home_resume")
    def home_resume(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        services.self_service.resume_own(team_id=team, user_id=user, now=services.clock())
        publish(services, client, team, user)

    @app.action("home_next")
    def home_next(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        try:
            services.self_service.next_lesson(team_id=team, user_id=user, now=services.clock())
            note = "Your next lesson is on its way to your DMs."
        except Refused as refused:
            note = str(refused)
        publish(services, client, team, user, note=note)

    @app.action(home_view_blocks.REVIEW_NOW)
    def review_now(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]  # the clicker's own reviews only
        queued = services.dashboard.review_now(team_id=team, user_id=user, now=services.clock())
        note = (
            f"{plural(queued, 'review')} on the way to your DMs."
            if queued
            else "No reviews were due: nothing was sent."
        )
        publish(services, client, team, user, note=note)

    @app.action(home_view_blocks.LEADERBOARD_SHOW)
    @app.action(home_view_blocks.LEADERBOARD_HIDE)
    def leaderboard_toggle(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        visible = action.get("action_id") == home_view_blocks.LEADERBOARD_SHOW
        services.leaderboards.set_visible(
            team_id=team, user_id=user, visible=visible, now=services.clock()
        )
        note = (
            "You're on leaderboards again."
            if visible
            else "You're hidden from leaderboards and digests."
        )
        publish(services, client, team, user, note=note)

    @app.action("drip_pause")
    @app.action("drip_resume")
    @app.action("drip_cancel")
    def drip_button(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        verb = str(action["action_id"]).removeprefix("drip_")
        drip_id = whole_number(str(action.get("value", "")))
        try:
            if drip_id is None:
                raise Refused(OUT_OF_DATE)
            services.drips.change(
                team_id=team, lead_id=user, drip_id=drip_id, action=verb, now=services.clock()
            )
            note = None
        except Refused as refused:
            note = str(refused)
        publish(services, client, team, user, note=note)

    @app.view(SCHEDULE_FORM)
    def schedule_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        team, user = context.team_id or "", body["user"]["id"]
        try:  # before anything is looked up for the form
            services.roles.require_lead(team, user, doing="schedule courses", now=services.clock())
        except Refused as refused:
            ack(response_action="errors", errors={"course": _plain(str(refused))})
            return
        request, errors = read_schedule_form(
            (view.get("state") or {}).get("values"),
            today=services.clock().date(),
            courses={course.id for course in services.catalog.catalog.courses},
        )
        if request is not None and not errors:
            errors = check_form_channels(services, team, request)
        if errors or request is None:
            ack(response_action="errors", errors=errors)
            return
        ack()
        try:
            result = services.scheduling.schedule(
                team_id=team, lead_id=user, request=request, now=services.clock()
            )
            text = schedule_summary(result)
        except Refused as refused:
            text = f":no_entry_sign: I couldn't schedule that: {refused}"
        client.chat_postMessage(channel=user, text=text)
        publish(services, client, team, user)

    @app.view(PREFS_FORM)
    def prefs_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        team, user = context.team_id or "", body["user"]["id"]
        prefs, errors = read_prefs_form((view.get("state") or {}).get("values"))
        if prefs is None:
            ack(response_action="errors", errors=errors)
            return
        ack()
        services.self_service.set_preferences(
            team_id=team, user_id=user, days=prefs.days, at=prefs.at, now=services.clock()
        )
        note = f"Lessons now come at {prefs.at:%H:%M} on the days you chose."
        publish(services, client, team, user, note=note)


def open_schedule_form(invocation: Invocation) -> None:
    """`/learn schedule` with no arguments: the same form as App Home's button (leads only)."""
    invocation.services.roles.require_lead(
        invocation.team_id, invocation.user_id, doing="schedule courses", now=invocation.now
    )
    invocation.client.views_open(
        trigger_id=invocation.trigger_id, view=schedule_form(invocation.services)
    )


def publish(
    services: Services, client: WebClient, team_id: str, user_id: str, *, note: str | None = None
) -> None:
    view = home_view(services, team_id, user_id, note=note)
    client.views_publish(user_id=user_id, view=view)


def refresh(services: Services, client: WebClient, team_id: str, user_id: str) -> None:
    """Re-publish a person's Home after something changed it (an answer, Done, join, snooze).

    Called after the acknowledgement; it never fails the request that changed things.
    """
    try:
        services.dashboard.homes.refresh(
            team_id, user_id, lambda: publish(services, client, team_id, user_id)
        )
    except Exception:  # noqa: BLE001 - a stale Home is better than a failed answer
        log.warning("App Home of %s not refreshed", user_id, exc_info=True)


def home_view(
    services: Services, team_id: str, user_id: str, *, note: str | None = None
) -> dict[str, Any]:
    now = services.clock()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "microlearn"}},
    ]
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note[:3000]}]})
    board = services.dashboard.learner(team_id=team_id, user_id=user_id, now=now)
    blocks += home_view_blocks.learner_blocks(board)
    if _shows_lead_blocks(services, team_id, user_id, now=now):
        drips = services.dashboard.lead_drips(team_id=team_id, user_id=user_id)
        blocks += home_view_blocks.lead_blocks(drips)
    view = {"type": "home", "blocks": blocks}
    blockkit.validate_view(view)
    services.dashboard.homes.published(team_id, user_id)
    return view


def _shows_lead_blocks(services: Services, team_id: str, user_id: str, *, now: datetime) -> bool:
    # Showing the lead's buttons grants nothing (each one checks the role again), so the
    # profile cached for hours will do: opening Home costs no call to Slack.
    try:
        return services.people.is_lead(team_id, user_id, now=now, max_age=PROFILE_MAX_AGE)
    except SlackError:
        return False


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _days_element(days: Days) -> dict[str, Any]:
    options = [_option(label, name) for label, name in zip(DAY_LABELS, DAY_NAMES, strict=True)]
    return {
        "type": "checkboxes",
        "options": options,
        "initial_options": [options[d] for d in sorted(days.days)],
    }


def schedule_form(services: Services) -> dict[str, Any]:
    courses = services.catalog.catalog.courses
    course_options = [_option(course.title, course.id) for course in courses[:100]]
    view = {
        "type": "modal",
        "callback_id": SCHEDULE_FORM,
        "title": {"type": "plain_text", "text": "Schedule a course"},
        "submit": {"type": "plain_text", "text": "Schedule"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("course", "Course", {"type": "static_select", "options": course_options}),
            _input("people", "People (by DM)", {"type": "multi_users_select"}, optional=True),
            _input(
                "channels",
                "Post in channels",
                {"type": "multi_conversations_select", "filter": CHANNELS_ONLY},
                optional=True,
            ),
            _input(
                "members",
                "Everyone in these channels (by DM)",
                {"type": "multi_conversations_select", "filter": CHANNELS_ONLY},
                optional=True,
            ),
            _input(
                "groups",
                "User groups (by DM)",
                {
                    "type": "plain_text_input",
                    "placeholder": {"type": "plain_text", "text": "@design @support"},
                },
                optional=True,
            ),
            _input("days", "Days", _days_element(Days())),
            _input(
                "time",
                "Time",
                {"type": "timepicker", "initial_time": "09:30"},
                hint="Each person's own time zone for DMs; yours for channel posts.",
            ),
            _input(
                "start",
                "Start on",
                {"type": "datepicker"},
                optional=True,
                hint="Leave empty to start at the next matching day.",
            ),
            _input(
                "discuss",
                "Discussion channel",
                {"type": "conversations_select", "filter": {"include": ["public", "private"]}},
                optional=True,
                hint="A thread per lesson opens here for DM drips.",
            ),
        ],
    }
    blockkit.validate_view(view)
    return view


def prefs_form(days: Days | None, at: time | None) -> dict[str, Any]:
    view = {
        "type": "modal",
        "callback_id": PREFS_FORM,
        "title": {"type": "plain_text", "text": "Delivery time"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            _input("days", "Days", _days_element(days or Days())),
            _input(
                "time",
                "Time (your time zone)",
                {"type": "timepicker", "initial_time": f"{at or DEFAULT_AT:%H:%M}"},
            ),
        ],
    }
    blockkit.validate_view(view)
    return view


def check_form_channels(
    services: Services, team_id: str, request: ScheduleRequest
) -> dict[str, str]:
    """Problems with the chosen channels, found before the form closes."""
    errors: dict[str, str] = {}
    for target in request.targets:
        block = {
            TargetKind.CHANNEL: "channels",
            TargetKind.MEMBERS: "members",
            TargetKind.USERGROUP: "groups",
        }.get(target.kind)
        if block is None or block in errors:
            continue
        try:
            services.targets.resolve(team_id, [target])
        except Refused as refused:
            errors[block] = _plain(str(refused))
    return errors


def _plain(text: str) -> str:
    """Form errors are plain text: drop Slack's mention markup."""
    text = re.sub(r"<#(\w+)(?:\|([^>]*))?>", lambda m: "#" + (m.group(2) or "that channel"), text)
    return text.replace("`", "")[:150]
