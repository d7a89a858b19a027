"""The whole Slack surface, in one place: each module registers the listeners of one surface."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from bot.slack.listeners import (
    actions,
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
from bot.slack.throttle import Throttle


def register_listeners(
    app: App, services: Services, *, counter_interval: float = 5.0, settle_threads: int = 0
) -> None:
    """Every listener; `counter_interval` paces updates of shared answer counters (seconds);
    `settle_threads` do what follows an acknowledged answer (0: the request's own thread)."""
    errors.register(app)
    guard.register(app)  # before any other middleware or listener reads the payload
    # Quiz answers, the busiest requests, are taken by middleware before any listener is tried.
    quiz.register(
        app,
        services,
        throttle=Throttle(per_message=counter_interval),
        settle_threads=settle_threads,
    )
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)
    home.register(app, services)
    messages.register(app, services)
    if services.installations is not None:  # before discussion's, which only logs these events
        installs.register(app, services, services.installations)
    discussion.register(app, services)
    gamify.register(app, services)
    reminders.register(app, services)
