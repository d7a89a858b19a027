"""What is checked before serving or running a command: lessons, Slack credentials, the token.

StartupError says in one line what is wrong and what to do.
"""

from __future__ import annotations

import functools
import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.content.cues import find_cues
from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog, Source
from bot.slack import render

MANIFEST = "deploy/slack-manifest.yaml"


OAUTH_NEEDS_HTTP = (
    "installing in several workspaces (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET) "
    "needs HTTP mode: run `microlearn serve --http` (Slack's install redirect needs a public URL)"
)


class StartupError(Exception):
    """The bot cannot start; the message says why and what to do (one line)."""


class ContentProblems(StartupError):
    """The lessons folder has problems; serving would send broken lessons."""

    def __init__(self, problems: list[str], folder: Path) -> None:
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in {folder}; fix them before serving "
            f"(`microlearn lessons check {folder}` lists them)"
        )
        self.problems = problems


@dataclass
class ContentCheck:
    catalog: Catalog
    problems: list[str]
    warnings: list[str] = field(default_factory=list)  # giveaway cues: reported, never fatal

    def summary(self) -> str:
        catalog = self.catalog
        return ", ".join(
            counted(number, noun)
            for number, noun in (
                (len(catalog.courses), "course"),
                (catalog.lesson_count, "lesson"),
                (catalog.question_count, "question"),
            )
        )


def check_content(folder: Path) -> ContentCheck:
    """Load and check a lessons folder, render every lesson as Slack would, and look for cues."""
    loaded = load_catalog(folder)
    problems = [str(problem) for problem in loaded.problems]
    for problem in render.check_catalog(loaded.catalog):
        where = problem.source or Source(folder, 1)
        problems.append(f"{where}: {problem.message}")
    warnings = [str(cue) for cue in find_cues(loaded.catalog)]
    return ContentCheck(loaded.catalog, problems, warnings)


def missing_credentials(settings: Settings, *, http: bool) -> list[str]:
    # With OAuth the tokens come from each workspace's install, not from the environment.
    missing = [] if settings.slack_bot_token or settings.oauth else ["SLACK_BOT_TOKEN"]
    if http and not settings.slack_signing_secret:
        missing.append("SLACK_SIGNING_SECRET")
    if not http and not settings.socket_mode:
        missing.append("SLACK_APP_TOKEN")
    return missing


def credentials_guide(missing: list[str], *, http: bool) -> str:
    """One screen: what is missing and how to get it."""
    mode = "HTTP mode (`microlearn serve --http`)" if http else "Socket Mode (no public URL needed)"
    return f"""\
microlearn cannot start yet: it has no Slack credentials for {mode}.

Missing: {", ".join(missing)}

Get them in about five minutes:
  1. Open https://api.slack.com/apps → "Create New App" → "From a manifest", pick your workspace.
  2. Paste the contents of {MANIFEST} from this repository and create the app.
     (For HTTP mode, first set socket_mode_enabled: false and put your public URL + /slack/events
     in the three request URLs of the manifest.)
  3. "Install App" → "Install to Workspace" → copy the Bot User OAuth Token (xoxb-…)
     into SLACK_BOT_TOKEN.
  4. Socket Mode: "Basic Information" → "App-Level Tokens" → "Generate Token and Scopes", add the
     scope connections:write, and copy the token (xapp-…) into SLACK_APP_TOKEN.
     HTTP mode: "Basic Information" → "Signing Secret" → copy it into SLACK_SIGNING_SECRET.
  5. Put them in a .env file next to this README (start from .env.example: cp .env.example .env),
     then run `make run` again.

Every setting is described in .env.example and in the README's Configuration section."""


def check_slack(settings: Settings) -> str:
    """Call auth.test once before serving, so a bad token is one clear line, not a traceback."""
    if settings.oauth:
        return "the app of every workspace that installs it"
    quiet = logging.getLogger("microlearn.preflight")
    quiet.disabled = True  # the failure becomes one line below, not a log and a retry
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        logger=quiet,
        timeout=10,
        ssl=tls_context_for(settings.slack_api_url),
    )
    client.retry_handlers.clear()
    try:
        response = client.auth_test()
    except SlackApiError as error:
        reason = error.response.get("error", "unknown error")
        raise StartupError(
            f"Slack rejected SLACK_BOT_TOKEN ({reason}); copy the Bot User OAuth Token again from "
            'your app\'s "Install App" page'
        ) from error
    except OSError as error:
        raise StartupError(
            f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url} ({error}); "
            "check the network or the URL"
        ) from error
    return f"{response.get('user', '?')} in {response.get('team', '?')}"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context of this process (and of the processes it forks) for Slack's Web API
    and Socket Mode: the default one, which verifies certificates and host names as urllib's and
    slack_sdk's own do. Without it, each HTTPS call and each Socket Mode connection builds its
    own, and loading the system's CA certificates costs some 40 ms of CPU every time (measured).
    """
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])  # what urllib's own context offers
    return context


def tls_context_for(url: str) -> ssl.SSLContext | None:
    """tls_context() for an https:// URL; None for plain http (a local stand-in), which has no
    TLS to verify: nothing is built for it."""
    return tls_context() if url.lower().startswith("https://") else None


def warnings_note(content: ContentCheck, folder: Path) -> str:
    count = len(content.warnings)
    if not count:
        return ""
    them = "it" if count == 1 else "them"
    return f", {counted(count, 'warning')} (`microlearn lessons check {folder}` lists {them})"


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}@{host}"
    return url
