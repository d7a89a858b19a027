"""A fake Messenger for service tests: people, channels and groups in memory; posts recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.services.ports import ChannelInfo, Message, Posted, Profile, SlackError

BOT = "UBOT"


@dataclass
class FakeMessenger:
    """Answers as Slack would for the people, channels and groups a test adds."""

    profiles_by_id: dict[str, Profile] = field(default_factory=dict)
    channels: dict[str, ChannelInfo] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # channel or group id -> users
    groups: dict[str, str] = field(default_factory=dict)  # handle -> group id
    posts: list[tuple[str, Message]] = field(default_factory=list)
    # (channel, delivery id, part) -> ts, from each post's metadata: what find_posted finds
    delivered: dict[tuple[str, Any, Any], str] = field(default_factory=dict)
    unreachable: bool = False  # every call fails as when Slack does not answer
    refusing: dict[str, SlackError] = field(default_factory=dict)  # posts to these fail

    def add_person(self, user_id: str, name: str, *, tz: str, is_admin: bool = False) -> str:
        self.profiles_by_id[user_id] = Profile(user_id, name, name.title(), tz, is_admin=is_admin)
        return user_id

    def add_channel(self, channel_id: str, name: str, members: list[str]) -> str:
        self.channels[channel_id] = ChannelInfo(channel_id, name, is_member=True)
        self.members[channel_id] = members
        return channel_id

    def bot_user_id(self, team_id: str) -> str:
        return BOT

    def _check(self) -> None:
        if self.unreachable:
            raise SlackError("fatal_error", permanent=False, uncertain=True)

    def post(
        self,
        team_id: str,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        self._check()
        if channel in self.refusing:
            raise self.refusing[channel]
        self.posts.append((channel, message))
        ts = f"{len(self.posts)}.000100"
        payload = (metadata or {}).get("event_payload") or {}
        if "delivery_id" in payload:  # what find_posted looks for, as Slack's history shows it
            self.delivered[(channel, payload["delivery_id"], payload.get("part"))] = ts
        return Posted(channel, ts)

    def update(self, team_id: str, channel: str, ts: str, message: Message) -> None:
        self._check()

    def post_ephemeral(self, team_id: str, channel: str, user_id: str, message: Message) -> None:
        self._check()

    def profile(self, team_id: str, user_id: str) -> Profile:
        self._check()
        if user_id not in self.profiles_by_id:
            raise SlackError("user_not_found", permanent=True)
        return self.profiles_by_id[user_id]

    def profiles(self, team_id: str) -> Iterator[Profile]:
        self._check()
        return iter(list(self.profiles_by_id.values()))

    def find_user(self, team_id: str, name: str) -> str | None:
        self._check()
        return next((p.user_id for p in self.profiles_by_id.values() if p.name == name), None)

    def channel(self, team_id: str, channel_id: str) -> ChannelInfo:
        self._check()
        if channel_id not in self.channels:
            raise SlackError("channel_not_found", permanent=True)
        return self.channels[channel_id]

    def find_channel(self, team_id: str, name: str) -> ChannelInfo | None:
        self._check()
        return next((c for c in self.channels.values() if c.name == name), None)

    def channel_members(self, team_id: str, channel_id: str) -> list[str]:
        self._check()
        return list(self.members.get(channel_id, []))

    def usergroup_members(self, team_id: str, group_id: str) -> list[str]:
        self._check()
        return list(self.members.get(group_id, []))

    def find_usergroup(self, team_id: str, handle: str) -> str | None:
        self._check()
        return self.groups.get(handle)

    def find_posted(
        self,
        team_id: str,
        channel: str,
        *,
        delivery_id: int,
        part: int,
        thread_ts: str | None = None,
    ) -> str | None:
        self._check()
        return self.delivered.get((channel, delivery_id, part))

    def find_upload(self, team_id: str, user_id: str, *, filename: str, title: str) -> bool:
        self._check()
        return False

    def permalink(self, team_id: str, channel: str, ts: str) -> str:
        self._check()
        return f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    def upload(
        self, team_id: str, user_id: str, *, filename: str, content: bytes, title: str, comment: str
    ) -> str | None:
        self._check()
        return None
