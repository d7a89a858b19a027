"""Buttons in lesson messages that need no more than an acknowledgement."""

from __future__ import annotations

import re

from slack_bolt import Ack, App

from bot.services import Services


def register(app: App, services: Services) -> None:
    # Link buttons open their URL in the browser; Slack still sends the click, which must be acked.
    @app.action(re.compile(r"^open_media_\d+$"))
    def open_media(ack: Ack) -> None:
        ack()
