"""Points, milestones, mastery and recommendations as services, on both databases, with
synthetic learning histories written the way the answer path writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.content.loader import load_catalog
from bot.domain import points
from bot.services.catalog import CatalogService
from bot.services.gamify import GamifyService
from bot.services.refused import Refused
from bot.services.reviews import ReviewService
from bot.services.skills import SkillService
from bot.storage.answers import AnswerRepository, QuestionRef
from bot.storage.cards import CardRepository
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.gamify import GamifyRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox
from bot.storage.review_load import ReviewLoadRepository
from tests.support.concurrency import side_by_side

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
TEAM = "T1"
ANN = "U1"


@dataclass
class World:
    db: Database
    outbox: Outbox
    answers: AnswerRepository
    game: GamifyRepository
    gamify: GamifyService
    skills: SkillService
    reviews: ReviewService


@pytest.fixture
def world(db: Database) -> World:
    catalog = load_catalog(Path("lessons")).catalog
    catalog_service = CatalogService(catalog, ContentRepository(db))
    catalog_service.sync(now=NOW)
    outbox, answers, game, learners = (
        Outbox(db),
        AnswerRepository(db),
        GamifyRepository(db),
        LearnerRepository(db),
    )
    return World(
        db=db,
        outbox=outbox,
        answers=answers,
        game=game,
        gamify=GamifyService(
            repository=game,
            learners=learners,
            enrolments=EnrolmentRepository(db),
            catalog=catalog_service,
        ),
        skills=SkillService(
            repository=game, catalog=catalog_service, outbox=outbox, enrolled=lambda _t, _u: set()
        ),
        reviews=ReviewService(
            cards=CardRepository(db),
            learners=learners,
            outbox=outbox,
            load=ReviewLoadRepository(db),
        ),
    )


def sent(
    world: World, lesson: str, position: int, *, attempt: int = 1, tag: str = ""
) -> QuestionRef:
    """A delivery of a lesson (attempt 1) or a review of one of its questions, as the drain sends."""
    course, _, lesson_id = lesson.partition("/")
    world.outbox.enqueue(
        team_id=TEAM,
        dedupe_key=f"test:{ANN}:{lesson}:{position}:{attempt}:{tag}",
        kind="lesson" if attempt == 1 else "review",
        recipient=ANN,
        recipient_kind="dm",
        due_at=NOW,
        now=NOW,
        lesson=(course, lesson_id),
        question_position=None if attempt == 1 else position,
        payload={"attempt": attempt},
    )
    delivery = max(d.id for d in world.outbox.deliveries())
    ref = world.answers.question(delivery, position)
    assert ref is not None
    return ref


def answer(world: World, ref: QuestionRef, *, correct: bool, db: Database | None = None) -> bool:
    """Store an answer with its points, as QuizService.answer does."""
    _, recorded = AnswerRepository(db or world.db).record(
        team_id=TEAM,
        user_id=ANN,
        ref=ref,
        choice="1" if correct else "0",
        correct=correct,
        channel_id="D1",
        message_ts="1.0",
        now=NOW,
        award=points.for_answer(question=ref.question_id, attempt=ref.attempt, correct=correct),
    )
    return recorded


def complete(world: World, lesson: str) -> None:
    ref = sent(world, lesson, 1, tag="done")
    world.answers.complete(
        team_id=TEAM,
        user_id=ANN,
        lesson_id=ref.lesson_id,
        delivery_id=ref.delivery_id,
        now=NOW,
        award=points.for_lesson_done(delivery=ref.delivery_id),
        course=ref.course,
    )


def test_an_answer_clicked_twice_at_once_counts_its_points_once(
    world: World, database_url: str
) -> None:
    ref = sent(world, "security-basics/spot-phishing", 1)
    recorded: list[bool] = []
    side_by_side(database_url, lambda db: recorded.append(answer(world, ref, correct=True, db=db)))
    assert sorted(recorded) == [False, True]
    assert world.game.entries(TEAM, ANN) == [(f"answer:{ref.question_id}:1", "right_first_try", 10)]
    assert world.gamify.points(team_id=TEAM, user_id=ANN) == 10


SECURITY = [f"security-basics/{lesson}" for lesson in ("spot-phishing", "passwords-and-passkeys")]
SECURITY += ["security-basics/use-mfa-safely", "security-basics/share-files-safely"]


def test_sticky_memory_is_celebrated_once_when_checked_side_by_side(
    world: World, database_url: str
) -> None:
    reviews = [sent(world, lesson, p, attempt=2) for lesson in SECURITY for p in (1, 2, 3)][:10]
    for ref in reviews[:9]:
        answer(world, ref, correct=True)
    assert world.gamify.check_milestones(team_id=TEAM, user_id=ANN, now=NOW) == []
    answer(world, reviews[9], correct=True)
    reached: list[str] = []

    def check(db: Database) -> None:
        game = GamifyRepository(db)
        catalog = CatalogService(load_catalog(Path("lessons")).catalog, ContentRepository(db))
        service = GamifyService(
            repository=game,
            learners=LearnerRepository(db),
            enrolments=EnrolmentRepository(db),
            catalog=catalog,
        )
        reached.extend(m.key for m in service.check_milestones(team_id=TEAM, user_id=ANN, now=NOW))

    side_by_side(database_url, check, workers=3)
    assert reached == ["sticky"]
    assert world.gamify.check_milestones(team_id=TEAM, user_id=ANN, now=NOW) == []
    assert [b.title for b in world.gamify.badges(team_id=TEAM, user_id=ANN)] == ["Sticky memory"]
    notices = [d for d in world.outbox.deliveries() if d.kind == "notice"]
    assert len(notices) == 1 and notices[0].recipient == ANN
    # 10 reviews answered right: 2 points each, never a first-try 10
    assert world.gamify.points(team_id=TEAM, user_id=ANN) == 20


def test_mastery_takes_fsrs_retrievability_where_a_card_exists_else_the_first_try(
    world: World,
) -> None:
    refs = [sent(world, "security-basics/spot-phishing", p) for p in (1, 2, 3)]
    for ref, correct in zip(refs, (False, False, True), strict=True):
        answer(world, ref, correct=correct)
    [security] = [
        m for m in world.skills.mastery(team_id=TEAM, user_id=ANN, now=NOW) if m.skill == "security"
    ]
    assert (security.percent, security.questions) == (33, 3)
    # The first missed question gets its FSRS card: right after a review it is fully recalled.
    world.reviews.on_answer(
        team_id=TEAM,
        user_id=ANN,
        question_id=refs[0].question_id,
        correct=False,
        attempt=1,
        now=NOW,
    )
    now = {m.skill: m for m in world.skills.mastery(team_id=TEAM, user_id=ANN, now=NOW)}
    assert (now["security"].percent, now["security"].questions) == (67, 3)
    later = {
        m.skill: m
        for m in world.skills.mastery(team_id=TEAM, user_id=ANN, now=NOW + timedelta(days=60))
    }
    assert 33 < later["security"].percent < 67  # recall fades as FSRS predicts


def test_recommendations_follow_the_goal_then_the_weakest_skill(world: World) -> None:
    assert world.skills.recommendations(team_id=TEAM, user_id=ANN, now=NOW) == ()
    for position in (1, 2, 3):
        answer(world, sent(world, "leading-people/sbi-feedback", position), correct=False)
    for position in (1, 2):  # strong in career skills: not weak, not recommended
        answer(
            world, sent(world, "career-microlearning/set-specific-goals", position), correct=True
        )
    [first] = world.skills.recommendations(team_id=TEAM, user_id=ANN, now=NOW)
    assert first.lesson.key == "leading-people/sbi-feedback"
    assert first.reason == "your *communication* mastery is 0 %"
    complete(world, "leading-people/sbi-feedback")
    [first] = world.skills.recommendations(team_id=TEAM, user_id=ANN, now=NOW)
    assert first.lesson.key == "leading-people/one-on-ones"

    assert (
        world.skills.set_goal(team_id=TEAM, user_id=ANN, skill=" SECURITY ", now=NOW) == "security"
    )
    found = world.skills.recommendations(team_id=TEAM, user_id=ANN, now=NOW)
    assert [(r.lesson.key, r.reason) for r in found] == [
        ("security-basics/spot-phishing", "your goal: *security*"),
        ("leading-people/one-on-ones", "your *communication* mastery is 0 %"),
    ]
    complete(world, "security-basics/spot-phishing")
    found = world.skills.recommendations(team_id=TEAM, user_id=ANN, now=NOW)
    assert found[0].lesson.key == "security-basics/passwords-and-passkeys"
    with pytest.raises(Refused, match="no skill `knitting`"):
        world.skills.set_goal(team_id=TEAM, user_id=ANN, skill="knitting", now=NOW)
    assert world.skills.clear_goal(team_id=TEAM, user_id=ANN, now=NOW)
    assert world.skills.goal(team_id=TEAM, user_id=ANN) is None


@pytest.mark.parametrize("stored", [True, False], ids=["learner-stored", "learner-not-stored"])
def test_a_streak_counts_lessons_done_on_the_learners_own_days(world: World, stored: bool) -> None:
    # Done at 23:59, 00:00 and 00:30 in Auckland (UTC+13): three days there, two in UTC.
    done = [
        datetime(2026, 11, 20, 10, 59, tzinfo=UTC),
        datetime(2026, 11, 20, 11, 0, tzinfo=UTC),
        datetime(2026, 11, 21, 11, 30, tzinfo=UTC),
    ]
    if stored:
        LearnerRepository(world.db).save_profile(
            TEAM,
            ANN,
            name="ann",
            first_name="Ann",
            tz="Pacific/Auckland",
            is_admin=False,
            deactivated=False,
            now=NOW,
        )
    for lesson, at in zip(SECURITY, done, strict=False):
        ref = sent(world, lesson, 1, tag="done")
        world.answers.complete(
            team_id=TEAM,
            user_id=ANN,
            lesson_id=ref.lesson_id,
            delivery_id=ref.delivery_id,
            now=at,
            award=points.for_lesson_done(delivery=ref.delivery_id),
            course=ref.course,
        )
    reached = world.gamify.check_milestones(team_id=TEAM, user_id=ANN, now=done[-1])
    # Not stored, the learner's zone is not known: UTC's two days make no streak.
    assert [m.key for m in reached] == (["streak:3"] if stored else [])
    assert world.gamify.check_milestones(team_id=TEAM, user_id=ANN, now=done[-1]) == []
