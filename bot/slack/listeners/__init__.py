"""The whole Slack surface, in one place: each module registers the listeners of one surface."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from bot.slack.app_home import AppHome
from bot.slack.listeners import (
    actions,
    answers,
    commands,
    discussion,
    errors,
    events,
    gamify,
    guard,
    home,
    installs,
    messages,
    quiz,
    reminders,
)
from bot.slack.messenger import SlackMessenger
from bot.slack.refusals import Refusals
from bot.slack.responses import ResponseUrls
from bot.slack.settling import Settling
from bot.slack.throttle import Throttle


def register_listeners(
    app: App,
    services: Services,
    *,
    messenger: SlackMessenger,
    settling: Settling,
    throttle: Throttle | None = None,
) -> None:
    """Every listener; listeners reach Slack through `messenger`; `settling` does what follows
    an acknowledged answer; `throttle` paces updates of shared answer counters (by default at
    most one per message every 5 s)."""
    home_tab = AppHome(
        dashboard=services.dashboard,
        people=services.people,
        messenger=messenger,
        clock=services.clock,
    )
    errors.register(app, Refusals(home=home_tab, messenger=messenger), messenger)
    guard.register(app)  # before any other middleware or listener reads the payload
    # Quiz answers, the busiest requests, are taken by middleware before any listener is tried.
    clicks = answers.AnswerClicks(
        services,
        messenger=messenger,
        throttle=throttle or Throttle(),
        settling=settling,
        posts=ResponseUrls(),
    )
    answers.register(app, clicks)
    quiz.register(app, services, messenger=messenger, clicks=clicks)
    commands.register(app, services, messenger=messenger, home=home_tab)
    actions.register(app, services)
    events.register(app, services)
    home.register(app, services, home=home_tab, messenger=messenger)
    messages.register(app, services)
    if services.installations is not None:  # before discussion's, which only logs these events
        installs.register(app, services, services.installations)
    discussion.register(app, services)
    gamify.register(app, services)
    reminders.register(app, services)
