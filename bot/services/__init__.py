"""Use cases. They talk to Slack only through the ports they define, never through Slack's SDK."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.catalog import CatalogService


@dataclass(frozen=True)
class Services:
    """The use cases the Slack adapter and the scheduler call; built in bot.app."""

    catalog: CatalogService
