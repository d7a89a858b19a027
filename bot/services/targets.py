"""Who a lead means: @people, @groups, #channels and members of #channels, as Slack ids."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from bot.domain.schedule import Target, TargetKind
from bot.services.ports import ChannelInfo, Messenger, SlackError
from bot.services.refused import Refused

T = TypeVar("T")


@dataclass(frozen=True)
class Recipients:
    users: tuple[str, ...]
    channels: tuple[ChannelInfo, ...]
    labels: tuple[tuple[str, str, str], ...]  # (kind, ref, label) of each target


class Targets:
    def __init__(self, *, messenger: Messenger, bot_user_id: Callable[[str], str]) -> None:
        self._messenger = messenger
        self._bot_user_id = bot_user_id

    def resolve(self, team_id: str, targets: Iterable[Target]) -> Recipients:
        """Turn typed targets into user ids to DM and channels to post in."""
        users: dict[str, None] = {}
        channels: dict[str, ChannelInfo] = {}
        labels: list[tuple[str, str, str]] = []
        bot = self._bot_user_id(team_id)
        for target in targets:
            target = self._person_or_group(team_id, target)
            if target.kind is TargetKind.CHANNEL:
                info = self.channel(team_id, target, require_member=True)
                channels[info.id] = info
                labels.append((target.kind.value, info.id, info.name))
                continue
            ref, label, members = self._people_of(team_id, target)
            users.update((m, None) for m in members if m != bot)
            labels.append((target.kind.value, ref, label))
        if not users and not channels:
            raise Refused("Those targets have nobody in them (apart from me).")
        return Recipients(tuple(users), tuple(channels.values()), tuple(labels))

    def _person_or_group(self, team_id: str, target: Target) -> Target:
        """A plain @name may be a person or a user group."""
        if target.kind is not TargetKind.USER or target.id is not None:
            return target
        if self._messenger.find_user(team_id, target.name) is not None:
            return target
        group = self._messenger.find_usergroup(team_id, target.name)
        if group is None:
            raise Refused(
                f"I can't find anyone or any group called @{target.name} in this workspace."
            )
        return Target(TargetKind.USERGROUP, group, target.name)

    def _people_of(self, team_id: str, target: Target) -> tuple[str, str, list[str]]:
        """A person, group or channel's members target: its id and label, and its people."""
        if target.kind is TargetKind.USER:
            user_id = target.id or self._messenger.find_user(team_id, target.name)
            if user_id is None:
                raise Refused(f"I can't find anyone called @{target.name} in this workspace.")
            return user_id, target.name, [user_id]
        if target.kind is TargetKind.USERGROUP:
            group = target.id or self._messenger.find_usergroup(team_id, target.name)
            if group is None:
                raise Refused(f"I can't find a user group called @{target.name}.")
            members = _call(
                partial(self._messenger.usergroup_members, team_id, group),
                missing=f"I can't find the user group @{target.name or group}.",
            )
            return group, target.name, members
        info = self.channel(team_id, target, require_member=False)
        members = _call(
            partial(self._messenger.channel_members, team_id, info.id),
            missing=f"I can't see the members of <#{info.id}>: invite me there first.",
        )
        return info.id, info.name, members

    def channel(self, team_id: str, target: Target, *, require_member: bool) -> ChannelInfo:
        """The channel a target names, refused when it is missing, archived or (if required)
        the bot is not in it."""
        shown = f"#{target.name}" if target.name else f"<#{target.id}>"
        if target.id is None:
            found = self._messenger.find_channel(team_id, target.name)
            if found is None:
                raise Refused(
                    f"I can't find a channel called {shown}. If it's private, invite me "
                    f"to it first (`/invite @microlearn`)."
                )
            channel_id = found.id
        else:
            channel_id = target.id
        info = _call(
            lambda: self._messenger.channel(team_id, channel_id),
            missing=f"I can't find {shown}. If it's private, invite me to it first "
            "(`/invite @microlearn`).",
        )
        if info.is_archived:
            raise Refused(f"<#{info.id}> is archived.")
        if require_member and not info.is_member:
            raise Refused(
                f"I'm not in <#{info.id}> yet. Invite me with `/invite @microlearn` "
                f"in <#{info.id}>, then try again."
            )
        return info


def _call(call: Callable[[], T], *, missing: str) -> T:
    try:
        return call()
    except SlackError as error:
        if error.code in ("channel_not_found", "no_such_subteam", "not_in_channel"):
            raise Refused(missing) from error
        raise
