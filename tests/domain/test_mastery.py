"""Mastery per skill from cards and first tries, and recommendations with their reasons."""

from __future__ import annotations

import pytest

from bot.domain.lesson import Catalog, Course, Lesson
from bot.domain.mastery import Evidence, Mastery, mastery
from bot.domain.recommend import Recommendation, recommend, weak_skills


def test_cards_count_their_retrievability_and_the_rest_their_first_try() -> None:
    found = mastery(
        [
            Evidence(1, ("phishing",), retrievability=0.5),
            Evidence(2, ("phishing",), retrievability=0.3, first_try_right=False),  # card wins
            Evidence(3, ("phishing", "Email"), first_try_right=True),
            Evidence(4, ("phishing",), first_try_right=False),
            Evidence(5, ("email",), first_try_right=True),
            Evidence(6, ("email",)),  # neither: a poll, says nothing
        ]
    )
    # phishing: (0.5 + 0.3 + 1 + 0) / 4 = 45 %; email (as first written): 2 of 2.
    assert found == (Mastery("Email", 100, 2), Mastery("phishing", 45, 4))


def test_rounding_is_half_up_and_a_question_counts_once_per_skill() -> None:
    halves = [Evidence(n, ("x",), first_try_right=n < 1) for n in range(8)]  # 1 of 8: 12.5 %
    assert mastery(halves) == (Mastery("x", 13, 8),)
    thirds = [Evidence(n, ("x",), first_try_right=n < 2) for n in range(3)]
    assert mastery(thirds) == (Mastery("x", 67, 3),)
    assert mastery([Evidence(1, ("x",), retrievability=0.285)]) == (Mastery("x", 29, 1),)
    twice = [
        Evidence(1, ("x", "X "), first_try_right=True),
        Evidence(1, ("x",), first_try_right=True),
    ]
    assert mastery(twice) == (Mastery("x", 100, 1),)
    assert mastery([]) == ()


def test_retrievability_outside_0_to_1_is_a_bug_not_data() -> None:
    with pytest.raises(ValueError, match="within 0..1"):
        Evidence(1, ("x",), retrievability=1.5)


def course(course_id: str, title: str, skills: tuple[str, ...], lessons: int = 3) -> Course:
    return Course(
        id=course_id,
        title=title,
        description="",
        skills=skills,
        lessons=tuple(
            Lesson(course_id, f"l{n}", n, f"Lesson {n}", "", 3, "") for n in range(1, lessons + 1)
        ),
    )


CATALOG = Catalog(
    (
        course("email-safety", "Email safety", ("phishing", "email")),
        course("leading-people", "Leading people", ("leadership",)),
        course("passwords", "Passwords", ("security",)),
        course("security-basics", "Security basics", ("Security", "phishing")),
        course("writing", "Writing well", ("writing",)),
    )
)


def summary(found: tuple[Recommendation, ...]) -> list[tuple[str, str]]:
    return [(r.lesson.key, r.reason) for r in found]


def test_the_goal_comes_first_with_the_first_lesson_not_done() -> None:
    done = frozenset({"passwords/l1", "passwords/l2"})
    found = recommend(CATALOG, done=done, goal="security", limit=2)
    assert summary(found) == [
        ("passwords/l3", "your goal: *security*"),
        ("security-basics/l1", "your goal: *security*"),
    ]


def test_without_a_goal_the_weakest_skill_with_enough_evidence() -> None:
    skills = [
        Mastery("phishing", 40, 5),
        Mastery("writing", 10, 2),  # too little evidence to call weak
        Mastery("leadership", 85, 9),  # not weak
        Mastery("email", 40, 3),  # ties with phishing at 40 %: by name, email first
    ]
    assert [m.skill for m in weak_skills(skills)] == ["email", "phishing"]
    found = recommend(CATALOG, done=frozenset({"email-safety/l1"}), mastery=skills)
    assert summary(found) == [
        ("email-safety/l2", "your *email* mastery is 40 %"),
        ("security-basics/l1", "your *phishing* mastery is 40 %"),
    ]


def test_then_what_peers_are_taking_that_the_learner_is_not() -> None:
    peers = {"writing": 1, "leading-people": 3, "passwords": 3, "email-safety": 7}
    found = recommend(CATALOG, done=frozenset(), peers=peers, enrolled=frozenset({"email-safety"}))
    assert summary(found) == [
        ("leading-people/l1", "3 people in your drips are taking *Leading people*"),
        ("passwords/l1", "3 people in your drips are taking *Passwords*"),
        ("writing/l1", "1 person in your drips is taking *Writing well*"),
    ]


def test_later_rules_fill_the_list_and_finished_courses_are_skipped() -> None:
    finished = frozenset({f"passwords/l{n}" for n in range(1, 4)})
    found = recommend(
        CATALOG,
        done=finished,
        goal="Security",
        mastery=[Mastery("phishing", 20, 4)],
        peers={"writing": 2},
        limit=5,
    )
    assert summary(found) == [
        ("security-basics/l1", "your goal: *Security*"),
        ("email-safety/l1", "your *phishing* mastery is 20 %"),
        ("writing/l1", "2 people in your drips are taking *Writing well*"),
    ]
    assert recommend(CATALOG, done=frozenset()) == ()  # nothing to go on: nothing made up
    assert recommend(CATALOG, done=frozenset(), goal="knitting") == ()
