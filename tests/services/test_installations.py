"""The installations of many workspaces, one database: record, find the token, let one go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.installations import CACHE_SECONDS, InstallationRecord, Installations
from bot.services.replays import ReplayGuard
from bot.storage.db import Database
from bot.storage.installations import InstallationRepository
from bot.storage.requests import AcceptedRequests

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def installations(db: Database) -> Installations:
    return Installations(InstallationRepository(db), once=ReplayGuard(AcceptedRequests(db)))


def record(team_id: str, token: str) -> InstallationRecord:
    return InstallationRecord(
        team_id=team_id, bot_token=token, bot_id="B1", bot_user_id="UBOT", team_name=team_id
    )


def test_each_workspace_has_its_own_token_and_a_reinstall_replaces_it(db: Database) -> None:
    store = installations(db)
    store.record(record("T1", "xoxb-one"), now=NOW)
    store.record(record("T2", "xoxb-two"), now=NOW)
    assert (store.token("T1"), store.token("T2"), store.token("T3")) == (
        "xoxb-one",
        "xoxb-two",
        None,
    )
    store.record(record("T1", "xoxb-one-again"), now=NOW + timedelta(days=1))
    found = store.find("T1")
    assert found is not None
    assert (found.bot_token, found.installed_at) == ("xoxb-one-again", NOW + timedelta(days=1))
    assert store.teams() == ["T1", "T2"]
    assert store.token("") is None


def test_uninstalling_forgets_only_that_workspaces_token_and_can_happen_twice(
    db: Database,
) -> None:
    store = installations(db)
    store.record(record("T1", "xoxb-one"), now=NOW)
    store.record(record("T2", "xoxb-two"), now=NOW)
    assert store.uninstall("T2", now=NOW) == 0  # no drips to pause
    assert store.uninstall("T2", now=NOW) == 0  # Slack sends app_uninstalled and tokens_revoked
    assert (store.token("T1"), store.token("T2")) == ("xoxb-one", None)


@pytest.mark.parametrize("token", ["", "xoxp-a-person", "xapp-1"])
def test_only_a_bot_token_is_recorded(db: Database, token: str) -> None:
    store = installations(db)
    with pytest.raises(ValueError):
        store.record(record("T1", token), now=NOW)
    assert store.find("T1") is None


def test_an_install_state_is_accepted_once_across_processes(db: Database) -> None:
    first, second = installations(db), installations(db)
    stamp = int(NOW.timestamp())
    assert first.first_use("oauth-state:abc", stamp)
    assert not second.first_use("oauth-state:abc", stamp)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_found_token_is_kept_briefly_and_this_processs_own_changes_show_at_once(
    db: Database,
) -> None:
    ticks = Ticks()
    here = Installations(
        InstallationRepository(db), once=ReplayGuard(AcceptedRequests(db)), ticks=ticks
    )
    elsewhere = installations(db)  # another replica on the same database
    assert here.token("T1") is None
    elsewhere.record(record("T1", "xoxb-one"), now=NOW)
    assert here.token("T1") == "xoxb-one"  # an absent workspace is not remembered as absent
    elsewhere.uninstall("T1", now=NOW)
    ticks.now = CACHE_SECONDS - 0.5
    assert here.token("T1") == "xoxb-one"  # another replica's uninstall: seen a little later
    ticks.now = CACHE_SECONDS + 0.5
    assert here.token("T1") is None
    here.record(record("T1", "xoxb-two"), now=NOW)
    assert here.token("T1") == "xoxb-two"
    here.uninstall("T1", now=NOW)
    assert here.token("T1") is None  # its own changes: at once
