"""People's data through the stand-in and the `microlearn` command: export a person, forget
them (everything of theirs gone, nobody else's touched), stop lessons to an account Slack
deactivated, and delete answers and replies past the retention period."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.services import privacy
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.learners import LearnerRepository
from tests.standin import SlackStandIn
from tests.storage.people_scan import occurrences, row_counts
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: erasing, exporting and retention run SQL of their
# own that only these flows run on PostgreSQL.
REFUSALS = pytest.mark.sqlite_only("refusals and messages before anything is read or erased")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
TUESDAY_0930_BERLIN = MONDAY_0930_BERLIN + timedelta(days=1)


@pytest.fixture
def bot(standin: SlackStandIn, database_url: str, shipped_lessons: None) -> Iterator[Bot]:
    """Ben never answers here: with auto-pause on, his course would pause itself after three
    lessons (tests/flows/test_reminders.py); these tests follow his lessons to the end."""
    with running_bot(standin, database_url, env={"MICROLEARN_AUTO_PAUSE_AFTER": "0"}) as running:
        yield running


@pytest.fixture
def ana(standin: SlackStandIn) -> str:
    return standin.add_user("ana", real_name="Ana Silva", tz="Europe/Berlin")


@pytest.fixture
def ben(standin: SlackStandIn) -> str:
    return standin.add_user("ben", real_name="Ben Okafor", tz="Europe/Berlin")


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    capsys.readouterr()
    code = main(["--env-file", "/nonexistent", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def question(standin: SlackStandIn, user_id: str, number: int) -> dict[str, Any]:
    dm = standin.dm_channel(user_id)
    return [m for m in standin.messages(dm) if str(m["text"]).startswith(f"Question {number} of")][
        0
    ]


def answer(bot: Bot, user_id: str, number: int, action_id: str) -> None:
    dm = bot.standin.dm_channel(user_id)
    response = bot.driver.click(
        user_id, question(bot.standin, user_id, number), channel_id=dm, action_id=action_id
    )
    assert response.status == 200


def lessons_in(standin: SlackStandIn, user_id: str) -> list[str]:
    dm = standin.dm_channel(user_id)
    return [str(m["text"]) for m in standin.messages(dm) if str(m["text"]).startswith("New lesson")]


def posts_to(standin: SlackStandIn, user_id: str) -> int:
    """chat.postMessage calls the bot made to this person, whether Slack took them or not."""
    targets = (user_id, standin.dm_channel(user_id))
    return sum(
        1 for call in standin.calls("chat.postMessage") if call["params"].get("channel") in targets
    )


def everyone_learns(bot: Bot, ana: str, ben: str) -> str:
    """Ana and Ben take the first lesson with a discussion; Ana leads a drip of her own, joins a
    course alone and is mentioned by Ben. Returns the discussion channel."""
    standin = bot.standin
    learning = standin.add_channel("learning", members=[bot.lead, ana, ben])
    reply = bot.command(
        bot.lead, f"schedule security-basics to <@{ana}> <@{ben}> discuss in <#{learning}|learning>"
    )
    assert reply.startswith(":white_check_mark: Drip #1 scheduled"), reply
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ana)
    lesson = [m for m in standin.messages(dm) if str(m["text"]).startswith("New lesson")][0]
    bot.driver.click(ana, lesson, channel_id=dm, action_id="lesson_done")
    answer(bot, ana, 1, "answer_0")  # wrong: it comes back as a review
    answer(bot, ana, 3, "answer_1")
    answer(bot, ben, 1, "answer_1")
    thread_ts = str(standin.messages(learning)[0]["ts"])
    bot.driver.user_says(ana, learning, "I nearly fell for a fake invoice.", thread_ts=thread_ts)
    bot.driver.user_says(ben, learning, f"Same here, <@{ana}>!", thread_ts=thread_ts)
    assert bot.command(bot.lead, f"leads add <@{ana}|ana>") == f"<@{ana}> is now a lead."
    reply = bot.command(ana, f"schedule leading-people to <@{ben}>")
    assert reply.startswith(":white_check_mark: Drip #2 scheduled"), reply
    assert bot.command(ana, "join career-microlearning").startswith(":books: You're in")
    bot.tick()
    return learning


def test_export_then_forget_removes_everything_about_one_person_and_nothing_else(
    bot: Bot,
    ana: str,
    ben: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    everyone_learns(bot, ana, ben)
    team = bot.standin.team_id
    ben_before = bot.services.privacy.export(team_id=team, user_id=ben, now=bot.clock())

    target = tmp_path / "ana.json"
    code, out, err = cli(
        monkeypatch, capsys, database_url, "export-person", ana, "--out", str(target)
    )
    assert (code, out) == (0, "")
    assert target.stat().st_mode & 0o077 == 0  # one person's data: only its owner reads it
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert (exported["format"], exported["team_id"], exported["user_id"]) == (
        "microlearn-person/1",
        team,
        ana,
    )
    rows = exported["rows"]
    assert err == f"wrote {sum(map(len, rows.values()))} rows about {ana} to {target}\n"
    assert [r["name"] for r in rows["learner"]] == ["Ana Silva"]
    assert len(rows["lead"]) == 1
    assert {r["recipient"] for r in rows["enrolment"]} == {ana} and len(rows["enrolment"]) == 2
    assert [(r["choice"], r["correct"]) for r in rows["answer"]][:1] == [("0", False)]
    assert len(rows["answer"]) == 2 and len(rows["completion"]) >= 1
    assert len(rows["review_card"]) == 1
    assert [r["text"] for r in rows["thread_reply"]] == ["I nearly fell for a fake invoice."]
    assert rows["delivery"] and all(r["recipient"] == ana for r in rows["delivery"])
    assert {r["ref"] for r in rows["drip_target"]} == {ana}
    assert all(r["answered_at"].endswith("Z") for r in rows["answer"])
    assert len(exported["named_as_actor"]["drip.created_by"]) == 2  # her drip, and her own join
    assert exported["named_as_actor"]["enrolment.enrolled_by"]  # she enrolled Ben
    assert set(exported["mentioned_in_others_rows"]) == {"delivery", "thread_reply"}
    question_id = str(rows["answer"][0]["question_id"])
    assert "phishing link" in exported["context"]["questions"][question_id]["text"]

    code, stdout, err = cli(monkeypatch, capsys, database_url, "export-person", ana)
    assert code == 0 and json.loads(stdout)["rows"]["answer"] == rows["answer"]

    before = row_counts(bot.db)
    code, out, err = cli(monkeypatch, capsys, database_url, "forget", ana)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"forgot {ana} in {team}, in one transaction:"
    assert lines[1:] == [
        "  profile: 1 deleted",
        "  lead role: 1 deleted",
        "  enrolments: 2 deleted",
        f"  deliveries to their DM: {len(rows['delivery'])} deleted",
        "  answers: 2 deleted",
        f"  completions: {len(rows['completion'])} deleted",
        "  review cards: 1 deleted",
        "  discussion replies: 1 deleted",
        "  drip targets naming them: 2 deleted",
        "  drips left empty: 1 deleted",
        "  drips they created: 1 cleared of their id",
        "  enrolments they made for others: 1 cleared of their id",
        "  lead roles they granted: 0 cleared of their id",
        "  workspace installations they made: 0 cleared of their id",
        "  others' messages mentioning them: 2 cleared of their id",
    ]
    assert occurrences(bot.db, ana) == []  # not one text or JSON value anywhere names her
    after = row_counts(bot.db)
    assert before["learner"] - after["learner"] == 1
    assert before["answer"] - after["answer"] == 2
    assert after["drip"] == before["drip"] - 1  # her own join; the drip she led Ben in stays

    ben_after = bot.services.privacy.export(team_id=team, user_id=ben, now=bot.clock())
    for table in ("learner", "answer", "completion", "review_card", "delivery", "enrolment"):
        assert len(ben_after["rows"][table]) == len(ben_before["rows"][table]), table
    assert ben_after["rows"]["answer"] == ben_before["rows"]["answer"]
    assert [r["text"] for r in ben_after["rows"]["thread_reply"]] == ["Same here, a former member!"]

    code, out, err = cli(monkeypatch, capsys, database_url, "forget", ana)
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"microlearn: nothing is stored about {ana}: already forgotten, or never here"
    )

    # The drip Ana led goes on for Ben, with nobody named as its lead.
    bot.tick(TUESDAY_0930_BERLIN)
    assert len(lessons_in(bot.standin, ben)) == 3  # security-basics 1 and 2, leading-people 1
    welcome = [
        str(m["text"])
        for m in bot.standin.messages(bot.standin.dm_channel(ben))
        if "enrolled you in" in str(m["text"])
    ]
    assert welcome[-1].startswith(f":wave: <@{ana}> enrolled you")  # Slack keeps what it got


@REFUSALS
def test_forget_and_export_refuse_a_malformed_id_and_an_unknown_person(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(monkeypatch, capsys, database_url, "forget", "ana")
    assert (code, out) == (2, "")
    assert err.strip() == (
        "microlearn forget: USER_ID must be a Slack member id like U012ABCDEF, got 'ana' "
        "(in Slack: their profile → ⋮ → Copy member ID)"
    )
    code, _out, err = cli(monkeypatch, capsys, database_url, "export-person", "U0NOBODY")
    assert code == 1
    assert err.strip() == (
        "microlearn: nothing is stored about U0NOBODY: already forgotten, or never here"
    )
    code, _out, err = cli(monkeypatch, capsys, database_url, "forget", "U0NOBODY", "--team", "x")
    assert code == 2 and "--team must be a Slack team id like T012ABCDEF, got 'x'" in err


def test_a_person_in_two_workspaces_is_forgotten_in_the_one_named(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.storage.db import Database

    db = Database(database_url)
    try:
        repository = LearnerRepository(db)
        for team in ("T0000001", "T0000002"):
            repository.save_profile(
                team,
                "W0SHARED",
                name="Sam Grid",
                first_name="Sam",
                tz="UTC",
                is_admin=False,
                deactivated=False,
                now=MONDAY_0930_BERLIN,
            )
        code, out, err = cli(monkeypatch, capsys, database_url, "forget", "W0SHARED")
        assert (code, out) == (2, "")
        assert err.strip() == (
            "microlearn: W0SHARED is stored in several workspaces (T0000001, T0000002): "
            "choose one with --team"
        )
        code, out, _err = cli(
            monkeypatch, capsys, database_url, "forget", "W0SHARED", "--team", "T0000002"
        )
        assert code == 0 and "  profile: 1 deleted" in out.splitlines()
        assert repository.learner("T0000002", "W0SHARED") is None
        assert repository.learner("T0000001", "W0SHARED") is not None
        code, out, _err = cli(monkeypatch, capsys, database_url, "export-person", "W0SHARED")
        assert code == 0 and json.loads(out)["team_id"] == "T0000001"
    finally:
        db.dispose()


def test_a_person_deactivated_in_slack_gets_no_more_lessons_or_reviews(
    bot: Bot, ana: str, ben: str
) -> None:
    standin = bot.standin
    reply = bot.command(bot.lead, f"schedule security-basics to <@{ana}> <@{ben}>")
    assert reply.startswith(":white_check_mark: Drip #1 scheduled"), reply
    bot.tick(MONDAY_0930_BERLIN)
    answer(bot, ana, 1, "answer_0")  # wrong: a review is due on a later day
    assert len(lessons_in(standin, ana)) == 1
    # Tuesday's lessons are planned and waiting to go out when Slack says Ana's account is gone.
    bot.clock.set(TUESDAY_0930_BERLIN)
    bot.services.delivery.plan(now=TUESDAY_0930_BERLIN)
    sent_to_ana = len(standin.messages(standin.dm_channel(ana)))
    tried_ana = posts_to(standin, ana)

    response = bot.driver.user_changes(ana, deleted=True)
    assert response.status == 200
    again = bot.driver.event(response.request["event"], event_id=response.event_id, retry_num=1)
    assert again.status == 200  # Slack's retry changes nothing

    bot.tick(TUESDAY_0930_BERLIN)
    assert len(lessons_in(standin, ben)) == 2
    assert len(standin.messages(standin.dm_channel(ana))) == sent_to_ana  # not a lesson more
    assert posts_to(standin, ana) == tried_ana  # nor even an attempt that Slack refused
    told = [
        str(m["text"])
        for m in standin.messages(standin.dm_channel(bot.lead))
        if "can't get lessons any more" in str(m["text"])
    ]
    assert told == [
        f"<@{ana}> can't get lessons any more (their account is deactivated), so I stopped "
        "their lessons of *security-basics* (drip #1)."
    ]
    for day in range(2, 10):  # a week and more: no lesson, no review
        bot.tick(MONDAY_0930_BERLIN + timedelta(days=day))
    assert len(standin.messages(standin.dm_channel(ana))) == sent_to_ana
    assert posts_to(standin, ana) == tried_ana
    assert len(lessons_in(standin, ben)) == 6

    learner = LearnerRepository(bot.db).learner(standin.team_id, ana)
    assert learner is not None and learner.deactivated
    assert bot.driver.user_changes(ana, deleted=False).status == 200  # back in Slack
    learner = LearnerRepository(bot.db).learner(standin.team_id, ana)
    assert learner is not None and not learner.deactivated  # a lead can enrol her again
    [enrolment] = EnrolmentRepository(bot.db).enrolments(standin.team_id, recipient=ana)
    assert enrolment.status == "stopped"


@REFUSALS
def test_a_stranger_deactivated_in_slack_is_not_stored_and_a_malformed_change_is_refused(
    bot: Bot,
) -> None:
    stranger = bot.standin.add_user("stranger")
    assert bot.driver.user_changes(stranger, deleted=True).status == 200
    assert LearnerRepository(bot.db).learner(bot.standin.team_id, stranger) is None
    response = bot.driver.event({"type": "user_change", "user": stranger})  # not an object
    assert response.status == 400
    response = bot.driver.event({"type": "user_change", "user": {"id": stranger, "deleted": "1"}})
    assert response.status == 400


@pytest.fixture
def kept_30_days(standin: SlackStandIn, database_url: str) -> Iterator[Bot]:
    with running_bot(standin, database_url, env={"MICROLEARN_RETENTION_DAYS": "30"}) as bot:
        yield bot


def test_retention_deletes_answers_and_replies_older_than_the_period_only(
    kept_30_days: Bot, ana: str, ben: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = kept_30_days
    standin = bot.standin
    learning = standin.add_channel("learning", members=[bot.lead, ana, ben])
    bot.command(
        bot.lead, f"schedule security-basics to <@{ana}> <@{ben}> discuss in <#{learning}|learning>"
    )
    bot.tick(MONDAY_0930_BERLIN)
    thread_ts = str(standin.messages(learning)[0]["ts"])
    dm = standin.dm_channel(ana)
    lesson = [m for m in standin.messages(dm) if str(m["text"]).startswith("New lesson")][0]
    bot.driver.click(ana, lesson, channel_id=dm, action_id="lesson_done")
    answer(bot, ana, 1, "answer_1")
    answer(bot, ana, 3, "answer_1")
    bot.driver.user_says(ana, learning, "Old thoughts.", thread_ts=thread_ts)
    bot.driver.user_says(ana, learning, "More old thoughts.", thread_ts=thread_ts)
    bot.clock.set(MONDAY_0930_BERLIN + timedelta(days=20))
    answer(bot, ben, 1, "answer_1")
    bot.driver.user_says(ben, learning, "Newer thoughts.", thread_ts=thread_ts)

    def kept(user_id: str) -> dict[str, int]:
        rows = bot.services.privacy.export(
            team_id=standin.team_id, user_id=user_id, now=bot.clock()
        )
        return {
            table: len(rows["rows"][table]) for table in ("answer", "thread_reply", "completion")
        }

    assert kept(ana) == {"answer": 2, "thread_reply": 2, "completion": 1}
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=29))
    assert kept(ana) == {"answer": 2, "thread_reply": 2, "completion": 1}  # not old enough yet

    # One row of each per batch and one batch per tick: a big backlog goes a bit at a time.
    monkeypatch.setattr(privacy, "RETENTION_BATCH", 1)
    monkeypatch.setattr(privacy, "RETENTION_BATCHES", 1)
    day_31 = MONDAY_0930_BERLIN + timedelta(days=31)
    bot.tick(day_31)
    assert kept(ana) == {"answer": 1, "thread_reply": 1, "completion": 1}
    bot.tick(day_31)
    bot.tick(day_31)
    assert kept(ana) == {"answer": 0, "thread_reply": 0, "completion": 1}  # progress is kept
    assert kept(ben) == {"answer": 1, "thread_reply": 1, "completion": 0}
    bot.tick(day_31 + timedelta(hours=2))  # idempotent: nothing more to delete
    assert kept(ben) == {"answer": 1, "thread_reply": 1, "completion": 0}
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=51))  # Ben's, from day 20, are 31 days old
    assert kept(ben) == {"answer": 0, "thread_reply": 0, "completion": 0}


@pytest.mark.parametrize("value", ["0", "-3", "thirty", "1.5"])
def test_a_malformed_retention_period_stops_the_command_with_one_line(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("MICROLEARN_RETENTION_DAYS", value)
    code, out, err = cli(
        monkeypatch, capsys, f"sqlite:///{tmp_path / 'x.db'}", "forget", "U0NOBODY"
    )
    assert (code, out) == (2, "")
    assert err == (
        "microlearn: MICROLEARN_RETENTION_DAYS must be a whole number of days ≥ 1 (answers and "
        f"discussion replies older than that are deleted), got {value!r}; leave it unset to keep "
        "them\n"
    )


@REFUSALS
def test_forget_says_to_export_first_and_export_says_when_it_cannot_write(
    bot: Bot,
    ana: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["forget", "--help"])
    assert done.value.code == 0
    assert "first save what is stored with\n`microlearn export-person USER_ID --out FILE`" in (
        capsys.readouterr().out
    )
    bot.command(ana, "join security-basics")
    target = tmp_path / "missing" / "ana.json"
    code, out, err = cli(
        monkeypatch, capsys, database_url, "export-person", ana, "--out", str(target)
    )
    assert (code, out) == (1, "")
    assert err == f"microlearn: cannot write {target}: No such file or directory\n"
