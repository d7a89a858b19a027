"""Installing the app: OAuth's authorize page, oauth.v2.access, uninstalling, auth.test."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from .plumbing import Reply, basic_credentials, parse_params
from .records import JSON, ApiError, clone, text_of
from .state import StandInState

if TYPE_CHECKING:
    from .standin import SlackStandIn


class Installs(StandInState):
    """The app's installs: codes traded for bot tokens, revoked tokens."""

    def workspace(self, team_id: str) -> SlackStandIn:
        for candidate in self._workspaces:
            if candidate.team_id == team_id:
                return candidate
        raise KeyError(team_id)

    def uninstall(self) -> None:
        """The workspace removes the app: its bot token stops working (``token_revoked``)."""
        with self._changed:
            self.revoked = True
            self._touch()

    def authorize_url(self) -> str:
        """Where Slack's "Add to Slack" page lives on this stand-in."""
        return f"{self.base_url}/oauth/v2/authorize"

    def _oauth_authorize(self, query: str) -> Reply:
        """The person clicks "Allow" on Slack's install page: back to the app with a code."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        if params.get("client_id") != self.client_id:
            return Reply(400, {"Content-Type": "text/plain"}, b"invalid_client_id\n")
        try:
            workspace = self.workspace(params.get("team") or self.team_id)
        except KeyError:
            return Reply(400, {"Content-Type": "text/plain"}, b"unknown team\n")
        target = params.get("redirect_uri") or self.oauth_redirect_url
        if not target:
            return Reply(400, {"Content-Type": "text/plain"}, b"no redirect URL configured\n")
        with self._changed:
            code = f"code-{self.new_id('oauth')}"
            installer = next(
                (u.id for u in workspace._users.values() if u.is_admin and not u.is_bot), None
            )
            self._codes[code] = {
                "team_id": workspace.team_id,
                "scope": params.get("scope", ""),
                "redirect_uri": params.get("redirect_uri"),
                "installer": installer,
            }
        query_back = urlencode({"code": code, "state": params.get("state", "")})
        separator = "&" if "?" in target else "?"
        return Reply(302, {"Location": f"{target}{separator}{query_back}"}, b"")

    def _oauth_access(self, query: str, headers: dict[str, str], body: bytes) -> Reply:
        """oauth.v2.access: the app trades a code for the workspace's bot token."""
        try:
            params = parse_params(headers.get("content-type", ""), query, body)
        except ApiError as error:
            params, status, payload = {}, error.status, {"ok": False, "error": error.error}
        else:
            client_id, client_secret = basic_credentials(headers) or (
                text_of(params.get("client_id")),
                text_of(params.get("client_secret")),
            )
            with self._changed:
                grant = self._codes.pop(text_of(params.get("code")), None)
            status = 200
            if client_id != self.client_id:
                payload = {"ok": False, "error": "invalid_client_id"}
            elif client_secret != self.client_secret:
                payload = {"ok": False, "error": "bad_client_secret"}
            elif grant is None:
                payload = {"ok": False, "error": "invalid_code"}
            elif grant["redirect_uri"] != (text_of(params.get("redirect_uri")) or None):
                payload = {"ok": False, "error": "bad_redirect_uri"}
            else:
                workspace = self.workspace(grant["team_id"])
                with workspace._changed:
                    workspace.revoked = False  # installing again gives the token back
                    workspace._touch()
                payload = {
                    "ok": True,
                    "app_id": workspace.app_id,
                    "authed_user": {"id": grant["installer"]},
                    "scope": grant["scope"],
                    "token_type": "bot",
                    "access_token": workspace.bot_token,
                    "bot_user_id": workspace.bot_user_id,
                    "team": {"id": workspace.team_id, "name": workspace.team_name},
                    "enterprise": None,
                    "is_enterprise_install": False,
                }
        with self._changed:
            safe = {k: v for k, v in params.items() if k != "client_secret"}
            self._calls.append(
                {
                    "method": "oauth.v2.access",
                    "params": safe,
                    "headers": {k: v for k, v in headers.items() if k != "authorization"},
                    "token": None,
                    "token_type": None,
                    "status": status,
                    "response": clone(payload),
                }
            )
            self._touch()
        return Reply.json(status, payload)

    def _auth_test(self, params: JSON) -> JSON:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }
