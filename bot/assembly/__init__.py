"""The use cases assembled over one database: `build_services` and the groups it wires."""

from bot.assembly.core import Kick as Kick
from bot.assembly.services import build_services as build_services
