"""Socket Mode's default deployment: several processes, one connection each, share the clicks;
every answer is stored once and gets its feedback once; a process that dies is replaced."""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from pathlib import Path

from bot.storage.answers import AnswerRepository
from bot.storage.db import Database
from tests.conftest import count_database_run
from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import bot_environment, start_bot, wait_until_connected
from tests.support.waiting import until

APP_TOKEN = "xapp-standin"


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listed:
        return [int(child) for child in listed.read().split()]


def test_two_processes_share_the_clicks_and_settle_each_answer_once(
    standin: SlackStandIn, e2e_database_url: str, tmp_path: Path
) -> None:
    count_database_run(e2e_database_url)
    env = bot_environment(
        api_url=standin.api_url,
        database_url=e2e_database_url,
        SLACK_APP_TOKEN=APP_TOKEN,
        MICROLEARN_SOCKET_PROCESSES="2",
    )
    bot = start_bot([], env, cwd=tmp_path)
    try:
        wait_until_connected(bot)
        assert standin.socket.open_connections() == 2
        driver = SlackDriver(standin, mode="socket")
        admin = standin.add_user("sam", tz="Europe/Berlin", is_admin=True)
        learners = [standin.add_user(f"sid{n}", tz="Europe/Berlin") for n in range(2)]
        mentions = " ".join(f"<@{learner}>" for learner in learners)
        driver.command(admin, f"send security-basics/use-mfa-safely to {mentions}")

        def questions(learner: str) -> list[dict[str, object]]:
            return [m for m in standin.messages(learner) if str(m["text"]).startswith("Question")]

        assert standin.wait_for(lambda: all(len(questions(u)) == 3 for u in learners), 20)
        envelopes_before = len(standin.socket.sent())
        urls = []
        for learner in learners:
            dm = standin.dm_channel(learner)
            for question in questions(learner):
                click = driver.click(learner, question, channel_id=dm, action_id="answer_1")
                assert click.status == 200
                # The same click again, as a double click arrives before the message changes:
                # it changes nothing, and says so to its own response URL.
                again = {
                    **click.request,
                    "response_url": standin.new_response_url(user_id=learner, channel_id=dm),
                }
                standin.socket_send("interactive", again)
                urls += [click.request["response_url"], again["response_url"]]
        clicks = standin.socket.sent()[envelopes_before:]
        took = Counter(standin.socket.sent_to()[envelope["envelope_id"]] for envelope in clicks)
        assert standin.wait_for(
            lambda: {r["url"] for r in standin.responses()} >= set(urls), timeout=20
        )
    finally:
        assert bot.stop() == 0

    assert len(took) == 2 and sum(took.values()) == 12  # both processes took clicks
    posted = Counter(r["url"] for r in standin.responses() if r["url"] in set(urls))
    assert posted == dict.fromkeys(urls, 1)  # feedback once per click, whoever took it
    db = Database(e2e_database_url)
    try:
        rows = AnswerRepository(db).answer_rows(standin.team_id, "security-basics")
    finally:
        db.dispose()
    stored = Counter((row.user_id, row.position) for row in rows)
    assert stored == {(learner, n): 1 for learner in learners for n in (1, 2, 3)}
    assert all(row.choice == "1" for row in rows)  # the first click of each question counts
    output = "".join(bot.output)
    assert "(2 processes, one connection each)" in output
    assert output.rstrip().endswith("microlearn: stopped")


def test_a_process_that_dies_is_replaced_and_stopping_ends_them_all(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    env = bot_environment(
        api_url=standin.api_url,
        database_url=f"sqlite:///{tmp_path / 'microlearn.db'}",
        SLACK_APP_TOKEN=APP_TOKEN,
        MICROLEARN_SOCKET_PROCESSES="2",
    )
    bot = start_bot([], env, cwd=tmp_path)
    try:
        wait_until_connected(bot)
        first, second = _children(bot.process.pid)
        connects = standin.socket.connects()
        os.kill(first, signal.SIGKILL)
        assert standin.wait_for_socket_client(timeout=30, connects=connects + 1)
        assert standin.wait_for(lambda: standin.socket.open_connections() == 2, timeout=10)
        now = _children(bot.process.pid)
        assert second in now and first not in now and len(now) == 2
        driver = SlackDriver(standin, mode="socket")
        lee = standin.add_user("lee")
        for _ in range(2):  # one envelope to each connection
            assert driver.command(lee, "help").payload()["response_type"] == "ephemeral"
    finally:
        code = bot.stop(timeout=15)
    assert code == 0
    for pid in now:
        assert not os.path.exists(f"/proc/{pid}") or _zombie_or_gone(pid)
    assert f"Socket Mode process {first} exited with code -9; starting another" in "".join(
        bot.output
    )


def _zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_processes_whose_watcher_is_killed_while_they_connect_stop_on_their_own(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    """kill -9 of the watching parent (the OOM killer, say) before its processes have
    connected: they must not go on holding connections to Slack with nobody to stop them."""
    env = bot_environment(
        api_url=standin.api_url,
        database_url=f"sqlite:///{tmp_path / 'microlearn.db'}",
        SLACK_APP_TOKEN=APP_TOKEN,
        MICROLEARN_SOCKET_PROCESSES="2",
    )
    bot = start_bot([], env, cwd=tmp_path)
    try:
        parent = bot.process.pid
        assert until(lambda: len(_children(parent)) == 2, timeout=60)
        children = _children(parent)
        os.kill(parent, signal.SIGKILL)
        bot.process.wait(timeout=10)
        gone = until(lambda: all(_zombie_or_gone(pid) for pid in children), timeout=60)
        assert gone, f"still running: {[pid for pid in children if not _zombie_or_gone(pid)]}"
    finally:
        bot.kill_hard()
    assert standin.wait_for(lambda: standin.socket.open_connections() == 0, timeout=10)


def test_each_process_freezes_what_it_built_before_it_serves(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    """The watcher freezes its start-up objects before forking, and each process freezes what
    it built itself (its app, pool, connection) before it serves: a full collection then walks
    only what came after, not everything the process holds while every click waits."""
    env = bot_environment(
        api_url=standin.api_url,
        database_url=f"sqlite:///{tmp_path / 'microlearn.db'}",
        SLACK_APP_TOKEN=APP_TOKEN,
        MICROLEARN_SOCKET_PROCESSES="2",
        MICROLEARN_LOG_LEVEL="DEBUG",
    )
    bot = start_bot([], env, cwd=tmp_path)
    try:
        wait_until_connected(bot)
        children = _children(bot.process.pid)
    finally:
        assert bot.stop() == 0
    frozen = {
        int(match[1]): int(match[2])
        for match in re.finditer(r"process (\d+) froze (\d+) start-up objects", "".join(bot.output))
    }
    assert bot.process.pid in frozen, "the watcher froze nothing before forking"
    watcher = frozen[bot.process.pid]
    assert watcher > 10_000  # modules, the catalog, the templates
    assert len(children) == 2
    for child in children:
        assert child in frozen, f"Socket Mode process {child} froze nothing before serving"
        assert frozen[child] > watcher  # and then its own app, pool and connection
