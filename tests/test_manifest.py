"""The Slack app manifest asks for no scope the bot does not use, and for every one it does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.support.process import ROOT

MANIFEST = ROOT / "deploy" / "slack-manifest.yaml"

# Slack's documented scopes per Web API method and event (any one of them will do: the history
# and channel reads need the scope of the conversation's kind). Methods needing no scope: ().
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": (),  # the app-level token's connections:write, not a bot scope
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "conversations.open": ("im:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.list": ("channels:read", "groups:read"),
    "conversations.members": ("channels:read", "groups:read"),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "views.open": (),
    "views.publish": (),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_uninstalled": (),
    "tokens_revoked": (),
    "member_joined_channel": ("channels:read", "groups:read"),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "reaction_added": ("reactions:read",),
    "reaction_removed": ("reactions:read",),
    "user_change": ("users:read",),
}
# slack_sdk's helpers, by the Web API methods they call.
SDK_HELPERS = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}

_LITERAL = re.compile(r"\"((?:auth|apps|chat|conversations|files|usergroups|users|views)\.\w+)\"")
_CLIENT_CALL = re.compile(
    r"\.((?:auth|apps|chat|conversations|files|usergroups|users|views)_\w+)\("
)


def _bot_code() -> list[Path]:
    """The bot's own modules: not bot/sandbox/, which plays Slack's side (its local Slack
    answers every method the bot calls, and more)."""
    return [p for p in (ROOT / "bot").rglob("*.py") if "sandbox" not in p.relative_to(ROOT).parts]


def methods_called() -> set[str]:
    """Every Web API method the bot's code calls: by name, or through a client method."""
    found: set[str] = set()
    for path in _bot_code():
        text = path.read_text(encoding="utf-8")
        found.update(_LITERAL.findall(text))
        for helper in _CLIENT_CALL.findall(text):
            found.update(SDK_HELPERS.get(helper) or (helper.replace("_", ".", 1),))
    return found


def _manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_scope_serves_a_method_the_code_calls_or_an_event_it_subscribes_to() -> None:
    manifest = _manifest()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    called = methods_called()
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"map these methods to their scopes in METHOD_SCOPES: {sorted(unknown)}"
    used = {scope for method in called for scope in METHOD_SCOPES[method]}
    used |= {scope for event in events for scope in EVENT_SCOPES[event]}
    if manifest["features"].get("slash_commands"):
        used.add("commands")
    assert scopes - used == set(), "scopes nothing uses"
    for need in [METHOD_SCOPES[m] for m in called] + [EVENT_SCOPES[e] for e in events]:
        assert not need or scopes & set(need), f"none of {need} is granted"


def test_every_subscribed_event_has_a_listener() -> None:
    events = set(_manifest()["settings"]["event_subscriptions"]["bot_events"])
    code = "\n".join(p.read_text(encoding="utf-8") for p in _bot_code())
    listened = set(re.findall(r"\bapp\.event\(\"(\w+)\"", code))
    assert {event.split(".")[0] for event in events} <= listened


def test_the_finder_sees_direct_and_helper_calls() -> None:
    assert {"chat.postMessage", "views.publish", "files.completeUploadExternal"} <= (
        methods_called()
    )


def test_an_oauth_install_asks_for_the_manifests_bot_scopes_and_redirects_to_our_path() -> None:
    from bot.slack.installations import BOT_SCOPES, REDIRECT_PATH

    oauth = _manifest()["oauth_config"]
    assert list(BOT_SCOPES) == oauth["scopes"]["bot"]
    assert [urlsplit(url).path for url in oauth["redirect_urls"]] == [REDIRECT_PATH]
