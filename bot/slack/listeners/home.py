"""App Home's buttons (your lessons and settings; a lead's drips) and the forms they open.

The Home itself is rendered by bot/slack/render_home.py and published by bot/slack/app_home.py;
a refusal is shown on top of it by bot/slack/refusals.py.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.domain.numbers import number_between, whole_number
from bot.domain.schedule import TargetKind, stored_days, stored_time
from bot.services import Services
from bot.services.refused import Refused
from bot.services.scheduling import ScheduleRequest
from bot.services.wording import plural
from bot.slack import render_home
from bot.slack.app_home import AppHome
from bot.slack.forms import read_prefs_form, read_schedule_form
from bot.slack.messenger import SlackMessenger
from bot.slack.refusals import ON_HOME, plain
from bot.slack.render_forms import PREFS_FORM, SCHEDULE_FORM, prefs_form, schedule_form
from bot.slack.render_replies import schedule_summary

MAX_SNOOZE_DAYS = 90
OUT_OF_DATE = "That button is out of date: nothing was changed."


def register(app: App, services: Services, *, home: AppHome, messenger: SlackMessenger) -> None:
    """The Home tab and every button and form on it."""
    buttons = HomeButtons(services, home=home, messenger=messenger)
    # A refusal from a button is shown on top of the Home (bot/slack/refusals.py).
    app.event("app_home_opened")(buttons.home_opened)
    app.action("home_schedule", middleware=ON_HOME)(buttons.open_schedule)
    app.action("home_prefs", middleware=ON_HOME)(buttons.open_prefs)
    app.action(re.compile(r"^home_snooze_\d+$"), middleware=ON_HOME)(buttons.snooze)
    app.action("home_resume", middleware=ON_HOME)(buttons.resume)
    app.action("home_next", middleware=ON_HOME)(buttons.next_lesson)
    app.action(render_home.REVIEW_NOW, middleware=ON_HOME)(buttons.review_now)
    for toggle in (render_home.LEADERBOARD_SHOW, render_home.LEADERBOARD_HIDE):
        app.action(toggle, middleware=ON_HOME)(buttons.leaderboard_toggle)
    for verb in ("pause", "resume", "cancel"):
        app.action(f"drip_{verb}", middleware=ON_HOME)(buttons.drip_button)
    app.view(SCHEDULE_FORM)(buttons.schedule_submitted)
    app.view(PREFS_FORM)(buttons.prefs_submitted)


class HomeButtons:
    """What each Home button and form does: call one service, then show the Home again."""

    def __init__(self, services: Services, *, home: AppHome, messenger: SlackMessenger) -> None:
        self._services = services
        self._home = home
        self._messenger = messenger

    def home_opened(self, event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") == "home":
            self._home.publish(context.team_id or "", event["user"])

    def open_schedule(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        services = self._services
        services.roles.require_lead(team, user, doing="schedule courses", now=services.clock())
        view = schedule_form(services.catalog.catalog.courses)
        self._messenger.open_view(team, body.get("trigger_id", ""), view)

    def open_prefs(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team, services = context.team_id or "", self._services
        learner = services.people.learner(team, body["user"]["id"], now=services.clock())
        view = prefs_form(stored_days(learner.pref_days), stored_time(learner.pref_at))
        self._messenger.open_view(team, body.get("trigger_id", ""), view)

    def snooze(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        days = number_between(str(action.get("value", "")), 1, MAX_SNOOZE_DAYS)
        if days is None:
            raise Refused(OUT_OF_DATE)
        self._services.self_service.snooze(
            team_id=team, user_id=user, days=days, now=self._services.clock()
        )
        self._home.publish(team, user)

    def resume(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        self._services.self_service.resume_own(
            team_id=team, user_id=user, now=self._services.clock()
        )
        self._home.publish(team, user)

    def next_lesson(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        self._services.self_service.next_lesson(
            team_id=team, user_id=user, now=self._services.clock()
        )
        self._home.publish(team, user, note="Your next lesson is on its way to your DMs.")

    def review_now(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]  # the clicker's own reviews only
        queued = self._services.dashboard.review_now(
            team_id=team, user_id=user, now=self._services.clock()
        )
        note = (
            f"{plural(queued, 'review')} on the way to your DMs."
            if queued
            else "No reviews were due: nothing was sent."
        )
        self._home.publish(team, user, note=note)

    def leaderboard_toggle(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        visible = action.get("action_id") == render_home.LEADERBOARD_SHOW
        self._services.leaderboards.set_visible(
            team_id=team, user_id=user, visible=visible, now=self._services.clock()
        )
        note = (
            "You're on leaderboards again."
            if visible
            else "You're hidden from leaderboards and digests."
        )
        self._home.publish(team, user, note=note)

    def drip_button(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        team, user = context.team_id or "", body["user"]["id"]
        verb = str(action["action_id"]).removeprefix("drip_")
        drip_id = whole_number(str(action.get("value", "")))
        if drip_id is None:
            raise Refused(OUT_OF_DATE)
        self._services.drips.change(
            team_id=team, lead_id=user, drip_id=drip_id, action=verb, now=self._services.clock()
        )
        self._home.publish(team, user)

    def schedule_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        team, user = context.team_id or "", body["user"]["id"]
        services = self._services
        # Before anything is looked up for the form; refused: the form says why.
        services.roles.require_lead(team, user, doing="schedule courses", now=services.clock())
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
        result = services.scheduling.schedule(
            team_id=team, lead_id=user, request=request, now=services.clock()
        )
        self._messenger.post(team, user, {"text": schedule_summary(result)})
        self._home.publish(team, user)

    def prefs_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        team, user = context.team_id or "", body["user"]["id"]
        prefs, errors = read_prefs_form((view.get("state") or {}).get("values"))
        if prefs is None:
            ack(response_action="errors", errors=errors)
            return
        ack()
        self._services.self_service.set_preferences(
            team_id=team, user_id=user, days=prefs.days, at=prefs.at, now=self._services.clock()
        )
        note = f"Lessons now come at {prefs.at:%H:%M} on the days you chose."
        self._home.publish(team, user, note=note)


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
            errors[block] = plain(str(refused))
    return errors
