"""What the page shows one person: sidebar, a conversation or App Home, a thread, a modal."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.blocks import Choices, Context, render_blocks
from bot.sandbox.client import Container, PersonClient, Refusal
from bot.sandbox.markup import (
    EMOJI,
    Viewer,
    mrkdwn,
    offset_label,
    plain,
    ts_instant,
    when,
)
from bot.sandbox.world import PEOPLE, World

JSON = dict[str, Any]
HOME = "home"


@dataclass(frozen=True)
class Where:
    """What the person has open: a conversation id (or `home`), and maybe a thread in it."""

    user: str
    conversation: str
    thread: str | None = None


class PageState:
    """Builds the page's JSON from the local Slack, the bot's database and the lessons folder."""

    def __init__(self, world: World, client: PersonClient) -> None:
        self._world = world
        self._client = client

    def build(self, where: Where) -> JSON:
        world = self._world
        standin = world.standin
        person = standin.user(where.user)
        viewer = self._viewer(person["tz"])
        dm = standin.dm_channel(where.user)
        conversation = dm if where.conversation in ("", "dm") else where.conversation
        state: JSON = {
            "version": standin.version,
            "team": standin.team_name,
            "as": where.user,
            "dm": dm,
            "people": self._people(viewer),
            "channels": [
                {"id": c["id"], "name": c["name"], "member": where.user in c["members"]}
                for c in standin.channels()
            ],
            "clock": self._clock(viewer),
            "lessons": self._lessons(),
            "files": self._files(where.user),
            "modal": self._modal(where.user, viewer),
            "thread": None,
        }
        if conversation == HOME:
            state["main"] = self._home(where.user, viewer)
        else:
            state["main"] = self._conversation(where.user, conversation, viewer)
            if where.thread:
                state["thread"] = self._thread(where.user, conversation, where.thread, viewer)
        return state

    # -- pieces -----------------------------------------------------------------------------

    def _viewer(self, tz: str) -> Viewer:
        standin = self._world.standin
        users = {p.user_id: p.real_name for p in PEOPLE}
        users[standin.bot_user_id] = standin.bot_name
        return Viewer(
            users=users,
            channels={c["id"]: c["name"] for c in standin.channels()},
            usergroups={g["id"]: g["handle"] for g in standin.usergroups()},
            tz=tz,
            now=self._world.clock(),
            team_domain=standin.team_domain,
        )

    def _people(self, viewer: Viewer) -> list[JSON]:
        now = viewer.now
        return [
            {
                "id": p.user_id,
                "name": p.real_name,
                "handle": p.handle,
                "tz": p.tz,
                "role": p.role,
                "local_time": f"{now.astimezone(ZoneInfo(p.tz)):%H:%M}",
            }
            for p in PEOPLE
        ]

    def _clock(self, viewer: Viewer) -> JSON:
        world = self._world
        due = world.next_due()
        return {
            "now": viewer.now.isoformat(),
            "label": f"{when(viewer.now, viewer.tz)} ({viewer.tz})",
            "offset": offset_label(world.clock.offset),
            "next_due": when(due, viewer.tz) if due else None,
        }

    def _lessons(self) -> JSON:
        watcher = self._world.lessons
        if watcher is None:
            return {"folder": "", "summary": "", "problems": [], "serving_last_good": False}
        status = watcher.status()
        return {
            "folder": status.folder,
            "summary": status.summary,
            "problems": list(status.problems),
            "serving_last_good": status.serving_last_good,
            "reloads": status.reloads,
        }

    def _files(self, user: str) -> list[JSON]:
        standin = self._world.standin
        visible = {standin.dm_channel(user)} | {
            c["id"] for c in standin.channels() if user in c["members"]
        }
        return [
            {
                "id": f["id"],
                "name": f["name"],
                "title": f["title"],
                "size": len(f["bytes"] or b""),
                "url": f"/files/{f['id']}",
                "channel": f["channel"],
            }
            for f in standin.files()
            if visible & set(f["channels"])
        ]

    def _context(self, user: str, container: Container, viewer: Viewer) -> Context:
        channels = [(c["id"], c["name"]) for c in self._world.standin.channels()]
        people = [(p.user_id, p.real_name) for p in PEOPLE]
        return Context(
            viewer=viewer,
            choices=Choices(people=people, channels=channels),
            state=lambda block, action: self._client.element_state(user, container, block, action),
        )

    def _conversation(self, user: str, channel: str, viewer: Viewer) -> JSON:
        standin = self._world.standin
        info = standin.conversation(channel)
        messages = standin.messages(channel)
        ephemerals = [e for e in standin.ephemerals(channel, user) if not e.get("thread_ts")]
        items = sorted(
            [(m["ts"], self._message(user, channel, m, viewer)) for m in messages]
            + [
                (e["ts"], self._message(user, channel, e, viewer, ephemeral=True))
                for e in ephemerals
            ]
        )
        is_dm = bool(info.get("is_im"))
        members: list[str] = next(
            (c["members"] for c in standin.channels() if c["id"] == info["id"]), []
        )
        if is_dm and info.get("user") != user:
            raise Refusal("That is someone else's DM.")
        return {
            "kind": "dm" if is_dm else "channel",
            "id": info["id"],
            "title": standin.bot_name if is_dm else f"#{info['name']}",
            "member": is_dm or user in members,
            "html": "".join(html_ for _, html_ in items),
        }

    def _thread(self, user: str, channel: str, ts: str, viewer: Viewer) -> JSON | None:
        standin = self._world.standin
        parent = standin.find_message(channel, ts)
        if parent is None:
            return None
        replies = standin.thread(channel, ts)
        ephemerals = [e for e in standin.ephemerals(channel, user) if e.get("thread_ts") == ts]
        items = sorted(
            [(m["ts"], self._message(user, channel, m, viewer, in_thread=True)) for m in replies]
            + [
                (e["ts"], self._message(user, channel, e, viewer, ephemeral=True, in_thread=True))
                for e in ephemerals
            ]
        )
        head = self._message(user, channel, parent, viewer, in_thread=True)
        return {
            "channel": standin.conversation(channel)["id"],
            "ts": ts,
            "html": head + '<div class="thread-replies">' + "".join(h for _, h in items) + "</div>",
        }

    def _home(self, user: str, viewer: Viewer) -> JSON:
        home = self._world.standin.home(user)
        if home is None:
            body = '<p class="empty">Opening App Home…</p>'
        else:
            container = Container(kind="view", view_id=str(home["id"]))
            body = (
                f'<div class="view" data-container="view" data-view="{html.escape(home["id"])}">'
                f"{render_blocks(home.get('blocks') or [], self._context(user, container, viewer))}"
                "</div>"
            )
        return {"kind": "home", "id": HOME, "title": "Home", "member": True, "html": body}

    def _modal(self, user: str, viewer: Viewer) -> JSON | None:
        stack = self._world.standin.open_views(user)
        if not stack:
            return None
        view = stack[-1]
        container = Container(kind="view", view_id=str(view["id"]))
        context = self._context(user, container, viewer)
        return {
            "view_id": view["id"],
            "title": plain((view.get("title") or {}).get("text")),
            "submit": plain((view.get("submit") or {}).get("text")) if view.get("submit") else "",
            "close": plain((view.get("close") or {}).get("text") or "Cancel"),
            "html": render_blocks(view.get("blocks") or [], context),
        }

    def _message(
        self,
        user: str,
        channel: str,
        message: JSON,
        viewer: Viewer,
        *,
        ephemeral: bool = False,
        in_thread: bool = False,
    ) -> str:
        ts = str(message.get("message_ts") or message["ts"])
        container = Container(kind="ephemeral" if ephemeral else "message", channel=channel, ts=ts)
        context = self._context(user, container, viewer)
        from_bot = bool(message.get("bot_id")) or ephemeral
        author = viewer.users.get(str(message.get("user")), str(message.get("user", "")))
        name = self._world.standin.bot_name if from_bot else author
        blocks = message.get("blocks") or []
        body = render_blocks(blocks, context) if blocks else mrkdwn(message.get("text"), viewer)
        tags = '<span class="tag">APP</span>' if from_bot else ""
        edited = '<span class="edited">(edited)</span>' if message.get("edited") else ""
        note = '<div class="only-you">👁 Only visible to you</div>' if ephemeral else ""
        classes = "msg" + (" ephemeral" if ephemeral else "") + (" from-bot" if from_bot else "")
        footer = "" if ephemeral else self._footer(message, in_thread=in_thread)
        return (
            f'<article class="{classes}" data-container="{container.kind}" '
            f'data-channel="{html.escape(channel)}" data-ts="{html.escape(ts)}">'
            f'<div class="avatar">{html.escape(name[:1].upper())}</div><div class="content">'
            f'<div class="meta"><b class="author">{html.escape(name)}</b>{tags}'
            f"<time>{when(ts_instant(ts), viewer.tz)}</time>{edited}</div>{note}"
            f'<div class="blocks">{body}</div>{self._attachments(message)}{footer}</div></article>'
        )

    @staticmethod
    def _attachments(message: JSON) -> str:
        parts = []
        for item in message.get("files") or []:
            size = int(item.get("size") or 0)
            parts.append(
                f'<a class="file" href="/files/{html.escape(str(item["id"]))}" download>'
                f"📄 {html.escape(str(item.get('title') or item.get('name')))}"
                f' <span class="size">{size:,} bytes</span></a>'
            )
        reactions = []
        for reaction in message.get("reactions") or []:
            name = str(reaction["name"])
            shown = EMOJI.get(name) or html.escape(f":{name}:")
            reactions.append(
                f'<span class="reaction">{shown} {int(reaction.get("count", 0))}</span>'
            )
        if reactions:
            parts.append(f'<div class="reactions">{"".join(reactions)}</div>')
        return "".join(parts)

    @staticmethod
    def _footer(message: JSON, *, in_thread: bool) -> str:
        if in_thread:
            return ""
        ts = html.escape(str(message["ts"]))
        count = int(message.get("reply_count") or 0)
        label = f"{count} repl{'y' if count == 1 else 'ies'}" if count else "Reply in thread"
        classes = "thread-link" + (" has-replies" if count else "")
        return f'<button type="button" class="{classes}" data-open-thread="{ts}">{label}</button>'
