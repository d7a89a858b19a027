"""What the use cases need from Slack, as ports: the Slack adapter implements them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.lesson import Course, Lesson, Question

Message = dict[str, Any]
"""An opaque, ready-to-send message (text and blocks) made by a Composer."""


class SlackError(Exception):
    """A Slack call failed. `permanent` errors are never retried; others wait `retry_after`.

    `uncertain`: Slack may have done it anyway (no answer came, or a server error after the
    request arrived), so a post must be looked for before it is sent again.
    """

    def __init__(
        self,
        code: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after
        self.uncertain = uncertain


class ContentProblem(Exception):
    """A lesson or question the Composer cannot turn into messages; sending it again won't help."""


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


@dataclass(frozen=True)
class Profile:
    user_id: str
    name: str
    first_name: str
    tz: str
    is_admin: bool = False
    deleted: bool = False
    is_bot: bool = False


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    name: str
    is_member: bool
    is_archived: bool = False
    is_private: bool = False
    is_im: bool = False


class Messenger(Protocol):
    """The one way out to Slack. Every method may raise SlackError."""

    def post(
        self,
        team_id: str,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Posted: ...

    def update(self, team_id: str, channel: str, ts: str, message: Message) -> None: ...

    def post_ephemeral(
        self, team_id: str, channel: str, user_id: str, message: Message
    ) -> None: ...

    def profile(self, team_id: str, user_id: str) -> Profile: ...

    def profiles(self, team_id: str) -> Iterator[Profile]:
        """Every member of the workspace (users.list, paginated)."""
        ...

    def find_user(self, team_id: str, name: str) -> str | None: ...

    def channel(self, team_id: str, channel_id: str) -> ChannelInfo: ...

    def find_channel(self, team_id: str, name: str) -> ChannelInfo | None: ...

    def channel_members(self, team_id: str, channel_id: str) -> list[str]: ...

    def usergroup_members(self, team_id: str, group_id: str) -> list[str]: ...

    def find_usergroup(self, team_id: str, handle: str) -> str | None: ...

    def find_posted(
        self,
        team_id: str,
        channel: str,
        *,
        delivery_id: int,
        part: int,
        thread_ts: str | None = None,
    ) -> str | None:
        """The ts of a message we already posted for this delivery part, among the latest ones
        (in the thread `thread_ts`, when given)."""
        ...

    def find_upload(self, team_id: str, user_id: str, *, filename: str, title: str) -> bool:
        """Whether a file of this name and title was already shared in someone's DM with the
        bot, among the latest messages (to recover from an upload whose outcome was unknown)."""
        ...

    def permalink(self, team_id: str, channel: str, ts: str) -> str: ...

    def upload(
        self, team_id: str, user_id: str, *, filename: str, content: bytes, title: str, comment: str
    ) -> str | None:
        """Share a file in someone's DM with the bot; the file's id when Slack says it."""
        ...


class Homes(Protocol):
    """People's App Home, kept current by the Slack adapter."""

    def refresh(self, team_id: str, user_id: str) -> None:
        """Re-publish a person's Home if it is on screen; never raises."""
        ...


class Composer(Protocol):
    """Turns lessons, questions and notices into messages (Block Kit lives behind this port)."""

    def lesson(
        self,
        lesson: Lesson,
        course: Course,
        *,
        first_name: str,
        done_ref: str,
        quote: tuple[str, str] | None = None,
    ) -> list[Message]: ...

    def question(
        self,
        question: Question,
        lesson: Lesson,
        *,
        number: int,
        ref: str,
        review: bool = False,
        order: tuple[int, ...] | None = None,
    ) -> Message:
        """`order`: option indexes in the order the recipient sees them (default: file order)."""
        ...

    def review(
        self, items: list[tuple[Question, Lesson, int, str, tuple[int, ...]]]
    ) -> list[Message]:
        """A day's review questions (question, lesson, its position, answer ref, option order)
        as one message (more only past what a message holds)."""
        ...

    def notice(self, text: str, *, button: dict[str, str] | None = None) -> Message:
        """A short message; `button` (text, action_id, value) adds one button under it."""
        ...
