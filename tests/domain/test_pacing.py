"""Our pacing of Slack posts: the workspace bucket, the channel bucket and 429 pauses."""

from __future__ import annotations

from bot.services.pacing import Pacer


def _post_times(pacer: Pacer, channels: list[str], *, start: float) -> list[float]:
    """Reserve one post per channel in turn, each caller waiting as told; return when each goes."""
    now, times = start, []
    for channel in channels:
        now += pacer.reserve("T1", channel, now)
        times.append(round(now, 6))
    return times


def test_posts_go_out_at_the_rate_after_the_burst() -> None:
    pacer = Pacer(rate=10, burst=3)
    times = _post_times(pacer, [f"D{n}" for n in range(6)], start=100.0)
    assert times == [100.0, 100.0, 100.0, 100.1, 100.2, 100.3]


def test_after_a_429_pause_posts_resume_at_the_rate_not_in_a_burst() -> None:
    pacer = Pacer(rate=10, burst=5)
    _post_times(pacer, [f"D{n}" for n in range(5)], start=0.0)  # the burst is spent
    pacer.pause("T1", until=30.0)  # Retry-After: 30
    times = _post_times(pacer, [f"E{n}" for n in range(6)], start=1.0)
    assert times[0] >= 30.0
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.1 - 1e-9  # 10 a second from the first post on: no burst
    assert times[-1] <= 30.0 + 6 * 0.1 + 1e-9


def test_one_channel_gets_about_one_post_a_second_while_others_flow() -> None:
    pacer = Pacer(rate=100, burst=10)
    burst = [pacer.reserve("T1", "C1", 0.0) for _ in range(4)]
    assert burst == [0.0, 0.0, 0.0, 0.0]  # a lesson and its questions go out together
    assert pacer.reserve("T1", "D9", 0.0) == 0.0  # a DM is not held up by the busy channel
    assert pacer.reserve("T1", "C1", 0.0) == 1.0  # the channel's fifth post waits its second
    assert _post_times(pacer, ["C1", "C1"], start=1.0) == [2.0, 3.0]
