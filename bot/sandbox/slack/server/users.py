"""People and user groups: seeding them, and the users.* and usergroups.* Web API methods."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from .records import JSON, ApiError, UserRecord, clone, flag, text_of
from .state import StandInState


class UsersApi(StandInState):
    """Workspace members and user groups, and how users.* shows them."""

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Berlin",
        locale: str = "en-US",
        is_admin: bool = False,
        is_owner: bool = False,
        deleted: bool = False,
        is_bot: bool = False,
    ) -> str:
        """Add a workspace member; returns its id (``U0000001``…)."""
        ZoneInfo(tz)  # fail early on an unknown zone
        with self._changed:
            uid = user_id or self.new_id("U")
            if uid in self._users:
                raise ValueError(f"user {uid} exists")
            real = real_name or name.replace(".", " ").title()
            first, _, last = real.partition(" ")
            self._users[uid] = UserRecord(
                id=uid,
                name=name,
                real_name=real,
                display_name=display_name if display_name is not None else name,
                first_name=first,
                last_name=last,
                tz=tz,
                email=email if email is not None else f"{name}@{self.team_domain}.example",
                locale=locale,
                is_admin=is_admin,
                is_owner=is_owner,
                deleted=deleted,
                is_bot=is_bot,
            )
            self._touch()
            return uid

    def set_user(self, user_id: str, **changes: Any) -> None:
        """Change fields of a user (``tz``, ``deleted``, ``real_name``, ``is_admin``…)."""
        with self._changed:
            user = self._users[user_id]
            for key, value in changes.items():
                if not hasattr(user, key) or key == "id":
                    raise TypeError(f"unknown user field {key!r}")
                if key == "tz":
                    ZoneInfo(value)
                setattr(user, key, value)
            self._touch()

    def add_usergroup(self, handle: str, members: Iterable[str], *, name: str | None = None) -> str:
        """Add a user group (``S…``); returns its id."""
        with self._changed:
            sid = self.new_id("S")
            self._usergroups[sid] = {
                "id": sid,
                "handle": handle,
                "name": name or handle,
                "users": list(dict.fromkeys(members)),
            }
            self._touch()
            return sid

    def user(self, user_id: str) -> JSON:
        """The ``users.info`` object of a user."""
        with self._lock:
            return self._user_object(self._users[user_id])

    def usergroups(self) -> list[JSON]:
        """Every user group: id, handle, name, users."""
        with self._lock:
            return clone(list(self._usergroups.values()))

    def _user_object(self, user: UserRecord) -> JSON:
        local = self._wall_clock().astimezone(ZoneInfo(user.tz))
        offset = local.utcoffset()
        profile: JSON = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "team": self.team_id,
            "status_text": "",
            "status_emoji": "",
        }
        if user.is_bot and user.id == self.bot_user_id:
            profile["bot_id"] = self.bot_id
            profile["api_app_id"] = self.app_id
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": local.tzname() or user.tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "locale": user.locale,
            "profile": profile,
            "is_admin": user.is_admin,
            "is_owner": user.is_owner,
            "is_primary_owner": user.is_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }

    def _users_info(self, params: JSON) -> JSON:
        user = self._users.get(text_of(params.get("user")))
        if user is None:
            raise ApiError("user_not_found")
        shown = self._user_object(user)
        if not flag(params.get("include_locale")):
            shown.pop("locale")
        return {"user": shown}

    def _users_list(self, params: JSON) -> JSON:
        members = [self._user_object(u) for u in self._users.values()]
        if not flag(params.get("include_locale")):
            for member in members:
                member.pop("locale")
        page, cursor = self._paginate(members, params, default_limit=0)
        return {
            "members": page,
            "cache_ts": int(self.now()),
            "response_metadata": {"next_cursor": cursor},
        }

    def _usergroups_list(self, params: JSON) -> JSON:
        groups = []
        for group in self._usergroups.values():
            shown: JSON = {
                "id": group["id"],
                "team_id": self.team_id,
                "is_usergroup": True,
                "name": group["name"],
                "handle": group["handle"],
                "description": "",
                "date_delete": 0,
                "user_count": len(group["users"]),
            }
            if flag(params.get("include_users")):
                shown["users"] = list(group["users"])
            groups.append(shown)
        return {"usergroups": groups}

    def _usergroups_users_list(self, params: JSON) -> JSON:
        group = self._usergroups.get(text_of(params.get("usergroup")))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}
