"""The suite's Slack stand-in is the sandbox's local Slack (bot/sandbox/slack); tests import it here."""

from bot.sandbox.slack import (
    DriverError,
    DriverResponse,
    SlackDriver,
    SlackStandIn,
    SocketAckTimeoutError,
    SocketNotConnectedError,
    validate_message,
    validate_view,
)

__all__ = [
    "DriverError",
    "DriverResponse",
    "SlackDriver",
    "SlackStandIn",
    "SocketAckTimeoutError",
    "SocketNotConnectedError",
    "validate_message",
    "validate_view",
]
