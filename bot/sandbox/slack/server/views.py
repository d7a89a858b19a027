"""Modals and App Home: trigger ids, view stacks, and the views.* Web API methods."""

from __future__ import annotations

import hashlib

from bot.sandbox.slack import blockkit

from .messages import MessageStore
from .records import JSON, ApiError, clone, flag, text_of

TRIGGER_LIFETIME_SECONDS = 3.0
MAX_VIEW_STACK = 3


class ViewsApi(MessageStore):
    """Views by id, each person's modal stack and App Home."""

    def views(self, user: str | None = None) -> list[JSON]:
        """Every modal ever opened or pushed (current version), oldest first."""
        with self._lock:
            return [
                clone(self._views[vid])
                for vid in self._view_order
                if self._views[vid]["type"] != "home"
                and (user is None or self._view_users[vid] == user)
            ]

    def open_views(self, user: str) -> list[JSON]:
        """The user's modal stack, root first (empty when no modal is open)."""
        with self._lock:
            return [clone(self._views[vid]) for vid in self._stacks.get(user, [])]

    def get_view(self, view_id: str) -> JSON:
        with self._lock:
            return clone(self._views[view_id])

    def home(self, user: str) -> JSON | None:
        """The App Home view last published for ``user``."""
        with self._lock:
            vid = self._homes.get(user)
            return clone(self._views[vid]) if vid else None

    def issue_trigger_id(self, user_id: str) -> str:
        """A trigger_id ``views.open``/``views.push`` accept once within 3 seconds."""
        with self._changed:
            number = self.new_id("trigger")[len("trigger") :]
            digest = hashlib.sha1(number.encode()).hexdigest()[:24]
            trigger = f"{int(number)}.{self.team_id[1:] or '1'}.{digest}"
            self._triggers[trigger] = {"user": user_id, "issued": self._clock(), "used": False}
            return trigger

    def apply_view_response(self, view_id: str, body: JSON | None) -> None:
        """Apply a view_submission ack: close, ``update``, ``push``, ``clear`` or ``errors``."""
        with self._changed:
            user = self._view_users[view_id]
            stack = self._stacks.get(user, [])
            reply = body or {}
            action = reply.get("response_action")
            new_view = reply.get("view")
            if action in ("update", "push") and (
                not isinstance(new_view, dict) or blockkit.validate_view(new_view)
            ):
                return  # Slack shows the user an error and leaves the modal as it was
            if action == "errors":
                return
            if action == "clear":
                self._close_from(user, stack, 0)
            elif action == "update" and isinstance(new_view, dict):
                old = self._views[view_id]
                self._views[view_id] = self._build_view(
                    new_view,
                    view_id=view_id,
                    root=old["root_view_id"],
                    previous=old["previous_view_id"],
                )
            elif action == "push" and isinstance(new_view, dict):
                self._push_on_submit(user, stack, view_id, new_view)
            elif view_id in stack:
                # No response_action: Slack closes the submitted view.
                self._close_from(user, stack, stack.index(view_id))
            self._touch()

    def _close_from(self, user: str, stack: list[str], index: int) -> None:
        """Close the views of ``user``'s stack from ``index`` up."""
        for vid in stack[index:]:
            self._view_open[vid] = False
        self._stacks[user] = stack[:index]

    def _push_on_submit(self, user: str, stack: list[str], view_id: str, new_view: JSON) -> None:
        vid = self.new_id("V")
        root = stack[0] if stack else vid
        self._store_view(
            self._build_view(new_view, view_id=vid, root=root, previous=view_id),
            user,
        )
        self._stacks.setdefault(user, []).append(vid)

    def _view_param(self, params: JSON, *, kind: str) -> JSON:
        view = params.get("view")
        if not isinstance(view, dict):
            raise ApiError(
                "invalid_arguments",
                extra={"response_metadata": {"messages": ["[ERROR] view: must be a JSON object"]}},
            )
        errors = blockkit.validate_view(view)
        if not errors and view.get("type") != kind:
            errors = [f"view.type: must be '{kind}' for this method"]
        if errors:
            raise ApiError(
                "invalid_arguments",
                extra={"response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}},
            )
        return view

    def _build_view(
        self, view: JSON, *, view_id: str, root: str | None, previous: str | None
    ) -> JSON:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": self._fill_ids(list(view.get("blocks") or [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{self._ts_micros // 1_000_000}.{self._short_id()}",
            "title": clone(view.get("title")),
            "close": clone(view.get("close")),
            "submit": clone(view.get("submit")),
            "clear_on_close": flag(view.get("clear_on_close")),
            "notify_on_close": flag(view.get("notify_on_close")),
            "previous_view_id": previous,
            "root_view_id": root,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _store_view(self, view: JSON, user: str) -> None:
        vid = view["id"]
        if vid not in self._views:
            self._view_order.append(vid)
        self._views[vid] = view
        self._view_users[vid] = user
        self._view_open[vid] = True

    def _take_trigger(self, params: JSON) -> str:
        """Check a trigger_id (issued, unused, under 3 s old); returns its user."""
        trigger = self._triggers.get(text_of(params.get("trigger_id")))
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger["used"]:
            raise ApiError("exchanged_trigger_id")
        if self._clock() - trigger["issued"] > TRIGGER_LIFETIME_SECONDS:
            raise ApiError("expired_trigger_id")
        return str(trigger["user"])

    def _views_publish(self, params: JSON) -> JSON:
        user_id = text_of(params.get("user_id"))
        if user_id not in self._users:
            raise ApiError("user_not_found")
        view = self._view_param(params, kind="home")
        existing = self._homes.get(user_id)
        if existing and params.get("hash") and params["hash"] != self._views[existing]["hash"]:
            raise ApiError("hash_conflict")
        vid = existing or self.new_id("V")
        stored = self._build_view(view, view_id=vid, root=None, previous=None)
        self._store_view(stored, user_id)
        self._homes[user_id] = vid
        return {"view": clone(stored)}

    def _views_open(self, params: JSON) -> JSON:
        user = self._take_trigger(params)
        view = self._view_param(params, kind="modal")
        self._triggers[text_of(params.get("trigger_id"))]["used"] = True
        vid = self.new_id("V")
        stored = self._build_view(view, view_id=vid, root=vid, previous=None)
        for old in self._stacks.get(user, []):
            self._view_open[old] = False
        self._store_view(stored, user)
        self._stacks[user] = [vid]
        return {"view": clone(stored)}

    def _views_update(self, params: JSON) -> JSON:
        vid = text_of(params.get("view_id"))
        external = text_of(params.get("external_id"))
        if not vid and external:
            vid = next((v for v, s in self._views.items() if s["external_id"] == external), "")
        old = self._views.get(vid)
        if old is None:
            raise ApiError("not_found")
        if params.get("hash") and params["hash"] != old["hash"]:
            raise ApiError("hash_conflict")
        view = self._view_param(params, kind=str(old["type"]))
        stored = self._build_view(
            view, view_id=vid, root=old["root_view_id"], previous=old["previous_view_id"]
        )
        self._views[vid] = stored
        return {"view": clone(stored)}

    def _views_push(self, params: JSON) -> JSON:
        user = self._take_trigger(params)
        view = self._view_param(params, kind="modal")
        stack = self._stacks.get(user, [])
        if not stack:
            raise ApiError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        self._triggers[text_of(params.get("trigger_id"))]["used"] = True
        vid = self.new_id("V")
        stored = self._build_view(view, view_id=vid, root=stack[0], previous=stack[-1])
        self._store_view(stored, user)
        stack.append(vid)
        return {"view": clone(stored)}
