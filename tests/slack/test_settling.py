"""What follows an acknowledged answer runs on a few threads, with a bounded backlog."""

from __future__ import annotations

import logging
import threading
from functools import partial

import pytest
from slack_bolt import Ack, App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.server import _ReplyFirst
from bot.slack.settling import SETTLE_BACKLOG, Settling, after_reply


def test_when_the_settling_threads_fall_behind_the_listener_settles_its_own_answer() -> None:
    settling = Settling(1)
    release = threading.Event()
    done: list[int] = []

    def work(number: int) -> None:
        release.wait(timeout=10)
        done.append(number)

    queued = [settling.offer(partial(work, number)) for number in range(SETTLE_BACKLOG + 3)]
    # one running and SETTLE_BACKLOG waiting; the rest are handed back to their listeners
    assert queued == [True] * (SETTLE_BACKLOG + 1) + [False, False]
    assert not settling.wait_idle(timeout=0.01)
    release.set()
    assert settling.wait_idle(timeout=10)
    settling.close()
    assert sorted(done) == list(range(SETTLE_BACKLOG + 1))


def test_work_that_cannot_be_queued_is_settled_in_the_callers_thread() -> None:
    settling = Settling(1)
    release = threading.Event()
    threads: list[str] = []

    def block() -> None:
        release.wait(timeout=10)

    for _ in range(SETTLE_BACKLOG + 1):
        settling.settle(block)
    settling.settle(lambda: threads.append(threading.current_thread().name))
    assert threads == [threading.current_thread().name]  # done before settle returned
    release.set()
    settling.close()


def test_without_threads_everything_settles_in_the_callers_thread() -> None:
    settling = Settling(0)
    done: list[str] = []
    assert not settling.offer(lambda: None)
    settling.settle(lambda: done.append(threading.current_thread().name))
    assert done == [threading.current_thread().name]
    assert settling.wait_idle(timeout=0)


def test_a_failure_is_logged_and_frees_its_place(caplog: pytest.LogCaptureFixture) -> None:
    settling = Settling(1)

    def fail() -> None:
        raise RuntimeError("response URL down")

    for _ in range(3):  # three full backlogs, one after another: every place comes back
        assert all(settling.offer(fail) for _ in range(SETTLE_BACKLOG + 1))
        assert settling.wait_idle(timeout=10)
    settling.close()
    assert caplog.text.count("settling an answer failed") == 3 * (SETTLE_BACKLOG + 1)


def test_work_handed_over_before_the_reply_is_handed_over_after_it() -> None:
    settling = Settling(0)  # settles in the caller's thread: when it is handed over shows
    events: list[str] = []
    with after_reply():
        settling.settle(lambda: events.append("settled"))
        with after_reply():  # nested: handed over at the outer block's end
            settling.settle(lambda: events.append("settled again"))
        events.append("replied")
    assert events == ["replied", "settled", "settled again"]
    with pytest.raises(RuntimeError), after_reply():  # the reply failed: the answer is stored
        settling.settle(lambda: events.append("settled anyway"))
        raise RuntimeError("connection lost")
    assert events[-1] == "settled anyway"
    settling.settle(lambda: events.append("at once"))  # outside a block: at once
    assert events[-1] == "at once"


def test_socket_mode_writes_the_ack_before_the_answer_is_handed_over() -> None:
    settling = Settling(0)
    events: list[str] = []
    app = App(signing_secret="unused", authorize=_authorize)  # no call to Slack

    @app.middleware
    def answer(ack: Ack) -> BoltResponse:  # as answer clicks are taken, in the request's thread
        ack()
        settling.settle(lambda: events.append("settled"))
        return ack.response  # type: ignore[return-value]

    class Client:
        logger = logging.getLogger("test")

        def send_socket_mode_response(self, response: SocketModeResponse) -> None:
            events.append(f"ack {response.envelope_id}")

    handler = _ReplyFirst(app, "xapp-test", web_client=app.client)
    body = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "api_app_id": "A1",
        "token": "unused",
        "actions": [{"action_id": "answer_0", "block_id": "answer", "type": "button"}],
    }
    request = SocketModeRequest(type="interactive", envelope_id="E1", payload=body)
    handler.handle(Client(), request)  # type: ignore[arg-type]
    assert events == ["ack E1", "settled"]


def _authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-test",
        bot_id="B1",
        bot_user_id="UB",
    )
