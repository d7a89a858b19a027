"""A local Slack: Web API, Socket Mode, Block Kit checks and a driver that plays Slack's side.

The test suite and the sandbox share it, so every improvement serves both.
"""

from .blockkit import validate_message, validate_view
from .delivery import DriverResponse
from .driver import SlackDriver
from .elements import DriverError
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
