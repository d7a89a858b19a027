"""The whole Slack surface, in one place: each module registers the listeners of one surface."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from bot.slack.listeners import actions, commands, discussion, errors, events, home, quiz


def register_listeners(app: App, services: Services) -> None:
    errors.register(app)
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)
    home.register(app, services)
    quiz.register(app, services)
    discussion.register(app, services)
