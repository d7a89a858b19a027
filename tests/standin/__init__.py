"""A local Slack stand-in for tests: Web API, Socket Mode and a driver that plays Slack."""

from .blockkit import validate_message, validate_view
from .driver import DriverError, DriverResponse, SlackDriver
from .server import SlackStandIn
from .socket_mode import SocketAckTimeoutError, SocketNotConnectedError

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
