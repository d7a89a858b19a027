"""Runs before every listener, over HTTP and Socket Mode alike: a payload of the wrong shape is
refused with a 400, an acknowledgement, once given, stays given, and log lines carry the
request's team and user ids.

Bolt (1.30, `ThreadListenerRunner`) runs listeners on its executor while the request's thread
polls for the ack every 10 ms for up to 3 s. When a listener fails after its ack, Bolt's error
path sets `ack.response` back to None: if that happens before the next poll, the request thread
never sees the ack, waits the full 3 s and answers 404 ("unhandled request"). An ack that keeps
its first response closes that window; the error handler then apologises privately.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.services.logcontext import bind_only
from bot.slack import payloads

log = logging.getLogger(__name__)


class KeptAck(Ack):
    """An ack whose response, once set, is not unset by Bolt's error path."""

    _kept: BoltResponse | None = None

    @property
    def response(self) -> BoltResponse | None:
        return self._kept

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or self._kept is None:
            self._kept = value


# A plain Middleware, not `@app.middleware`: Bolt builds every keyword argument of a function
# middleware from the payload first (`body["actions"][0]`, `body["view"]["type"]`), which is
# exactly what fails on a payload of the wrong shape.
class Guard(Middleware):
    """Refuses a payload of the wrong shape; gives the request an ack that stays given."""

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt passes it by this name
    ) -> BoltResponse | None:
        wrong = payloads.problem(req.body)
        if wrong is not None:
            log.warning("refused %s", wrong)
            return BoltResponse(status=400, body="Malformed payload")
        req.context["ack"] = KeptAck()  # type: ignore[no-untyped-call]
        # Whatever is logged for this request says whose it is (listeners' threads copy it).
        # Bolt runs its middleware one after another, not nested: the ids stay bound until the
        # next request in this thread (bot.slack.http clears them when a request is done).
        bind_only(team_id=req.context.team_id, user_id=req.context.user_id)
        return next()


def register(app: App) -> None:
    """Register before any other middleware and listener of ours."""
    app.use(Guard())
