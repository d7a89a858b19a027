"""Installing the app in several workspaces with Slack's OAuth flow (Bolt's), over our database.

Bolt runs `/slack/install` and `/slack/oauth_redirect`; what it needs is adapted here to the
`Installations` use cases: an installation store (tokens in the app's own database, through the
storage layer), a state store (signed with SLACK_STATE_SECRET, and accepted once, whichever
replica issued it), and an authorize function that reads the stored installation without asking
Slack on every request (Bolt's own calls auth.test each time).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from logging import Logger
from typing import Any, Protocol
from urllib.parse import urljoin

from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from bot.services.installations import InstallationRecord, Installations

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

# The bot scopes the app asks for at install: those of deploy/slack-manifest.yaml (a test keeps
# the two equal).
BOT_SCOPES = (
    "chat:write",
    "im:write",
    "im:history",
    "commands",
    "users:read",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "reactions:read",
    "files:write",
)

# How long an install link stays good. Short, as slack_sdk advises for signed states; the replay
# guard that makes a state single-use remembers it for longer than this.
STATE_SECONDS = 300
_STATE_PREFIX = "oauth-state:"


class FirstUse(Protocol):
    """bot.services.replays.ReplayGuard: True the first time a value is seen, in any process."""

    def first_use(self, signature: str, timestamp: int) -> bool: ...


@dataclass(frozen=True)
class OAuthApp:
    """The app's OAuth credentials (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET)."""

    client_id: str
    client_secret: str
    state_secret: str
    api_url: str  # SLACK_API_URL: Slack's authorize page is beside its Web API

    @property
    def authorization_url(self) -> str:
        # https://slack.com/api/ → https://slack.com/oauth/v2/authorize (and so for a stand-in).
        return urljoin(self.api_url, "../oauth/v2/authorize")


class DatabaseInstallationStore(InstallationStore):
    """slack_sdk's InstallationStore over the Installations use cases (bot tokens only)."""

    def __init__(self, installations: Installations, *, clock: Callable[[], datetime]) -> None:
        self._installations = installations
        self._clock = clock

    @property
    def logger(self) -> Logger:
        return log

    def save(self, installation: Installation) -> None:
        if not installation.team_id or installation.is_enterprise_install:
            raise BoltError("microlearn installs in workspaces, not across an Enterprise Grid org")
        if not installation.bot_token:
            raise BoltError("Slack gave no bot token for this install")
        scopes = installation.bot_scopes
        record = InstallationRecord(
            team_id=installation.team_id,
            bot_token=installation.bot_token,
            bot_id=installation.bot_id or "",
            bot_user_id=installation.bot_user_id or "",
            team_name=installation.team_name or "",
            enterprise_id=installation.enterprise_id,
            app_id=installation.app_id or "",
            bot_scopes=scopes if isinstance(scopes, str) else ",".join(scopes or ()),
            installer_user_id=installation.user_id,
        )
        try:
            self._installations.record(record, now=self._clock())
        except ValueError as error:  # what Slack answered is not an installation we can use
            raise BoltError(str(error)) from error

    def save_bot(self, bot: Bot) -> None:
        pass  # `save` stores the bot token; there is nothing else to keep

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = self._installations.find(team_id or "")
        if found is None:
            return None
        installed = found.installed_at or self._clock()
        return Bot(
            app_id=found.app_id or None,
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            team_name=found.team_name,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            bot_scopes=found.bot_scopes,
            installed_at=installed.timestamp(),
        )

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id="",
            installed_at=bot.installed_at,
        )

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._installations.uninstall(team_id or "", now=self._clock())

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # a person's own token is never stored: only the bot's matters
            self._installations.uninstall(team_id or "", now=self._clock())


class OneTimeStates(OAuthStateStore):
    """An install link's state: random, signed with SLACK_STATE_SECRET, expiring, accepted once.

    The signature lets any replica check a state another issued, without storing it; the replay
    guard's table (shared by every replica) refuses it the second time. (slack_sdk's stateless
    store signs only the expiry: two links given out in the same second would be one state.)
    """

    def __init__(
        self, secret: str, guard: FirstUse, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._key = secret.encode("utf-8")
        self._guard = guard
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def logger(self) -> Logger:
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        expires = int(self._clock().timestamp()) + STATE_SECONDS
        claim = f"{expires}.{secrets.token_urlsafe(18)}"
        return f"{claim}.{self._sign(claim)}"

    def consume(self, state: str) -> bool:
        claim, _, signature = (state or "")[:200].rpartition(".")
        expires = claim.split(".", 1)[0]
        if not (
            _STATE.fullmatch(state or "")
            and hmac.compare_digest(signature, self._sign(claim))
            and int(expires) >= self._clock().timestamp()
        ):
            return False
        if not self._guard.first_use(_STATE_PREFIX + state, int(self._clock().timestamp())):
            log.warning("refused an install link's state used before")
            return False
        return True

    def _sign(self, claim: str) -> str:
        return hmac.new(self._key, claim.encode("ascii", "replace"), hashlib.sha256).hexdigest()


_STATE = re.compile(r"[0-9]{1,12}\.[A-Za-z0-9_-]{24}\.[0-9a-f]{64}")


class StoredAuthorize(Authorize):
    """Who the app is in the request's workspace, from its stored installation (no Slack call)."""

    def __init__(self, installations: Installations) -> None:
        self._installations = installations

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        found = self._installations.find(team_id or "")
        if found is None:
            log.warning("a request from workspace %s, which has not installed the app", team_id)
            return None
        return AuthorizeResult(
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            team=found.team_name or None,
            bot_user_id=found.bot_user_id,
            bot_id=found.bot_id,
            bot_token=found.bot_token,
            bot_scopes=found.bot_scopes,
            user_id=user_id,
        )


def oauth_settings(
    app: OAuthApp,
    installations: Installations,
    *,
    guard: FirstUse,
    clock: Callable[[], datetime],
) -> OAuthSettings:
    """Bolt's OAuth flow, storing installations through our use cases."""
    settings = OAuthSettings(
        client_id=app.client_id,
        client_secret=app.client_secret,
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=app.authorization_url,
        installation_store=DatabaseInstallationStore(installations, clock=clock),
        installation_store_bot_only=True,
        state_store=OneTimeStates(app.state_secret, guard, clock=clock),
        state_expiration_seconds=STATE_SECONDS,
        logger=log,
    )
    settings.authorize = StoredAuthorize(installations)
    return settings
