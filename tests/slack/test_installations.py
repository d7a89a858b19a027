"""An install link's state: signed, expiring, and accepted once, whichever replica sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.slack.installations import STATE_SECONDS, OAuthApp, OneTimeStates

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SECRET = "a-state-secret-for-the-tests-0123456789"


class Seen:
    """The replay guard's memory, shared by every replica (here: one set)."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def first_use(self, signature: str, timestamp: int) -> bool:
        if signature in self.values:
            return False
        self.values.add(signature)
        return True


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_a_state_is_accepted_once_by_any_replica_sharing_the_secret() -> None:
    seen, clock = Seen(), Clock()
    one, other = OneTimeStates(SECRET, seen, clock=clock), OneTimeStates(SECRET, seen, clock=clock)
    state = one.issue()
    assert other.consume(state)
    assert not one.consume(state)
    assert not other.consume(state)


def test_two_links_given_out_in_the_same_second_are_different_states() -> None:
    states = OneTimeStates(SECRET, Seen(), clock=Clock())
    first, second = states.issue(), states.issue()
    assert first != second
    assert states.consume(first) and states.consume(second)


def test_an_expired_forged_or_foreign_state_is_refused() -> None:
    clock = Clock()
    states = OneTimeStates(SECRET, Seen(), clock=clock)
    stale = states.issue()
    clock.now += timedelta(seconds=STATE_SECONDS + 1)
    assert not states.consume(stale)
    fresh = states.issue()
    expires, nonce, signature = fresh.split(".")
    assert not states.consume(f"{int(expires) + 600}.{nonce}.{signature}")  # a longer life
    assert not states.consume(f"{expires}.{nonce}.{'0' * 64}")
    foreign = OneTimeStates("another-apps-secret-0123456789", Seen(), clock=clock).issue()
    assert not states.consume(foreign)
    for junk in ("", "x", "1.2.3", "." * 5000, fresh + "\n"):
        assert not states.consume(junk)
    assert states.consume(fresh)


def test_slacks_authorize_page_is_found_beside_its_web_api() -> None:
    def authorize(api_url: str) -> str:
        return OAuthApp("1.2", "s", SECRET, api_url).authorization_url

    assert authorize("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"
    assert authorize("http://127.0.0.1:8080/api/") == "http://127.0.0.1:8080/oauth/v2/authorize"
