"""The suite's Slack stand-in is the sandbox's local Slack (bot/sandbox/slack); tests import it here."""

from bot.sandbox.slack import *  # noqa: F403
from bot.sandbox.slack import __all__ as __all__
