"""Lessons and questions → Block Kit messages, through the Jinja2 templates in templates/."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from bot.content.templating import BodyContext, TemplateProblem, render_body
from bot.domain.lesson import Catalog, Course, Lesson, Question, Source
from bot.services.ports import ContentProblem
from bot.slack import blockkit
from bot.slack.mrkdwn import Piece, escape, to_mrkdwn, to_pieces

Message = dict[str, Any]
Order = tuple[int, ...]

TEMPLATES = Path(__file__).with_name("templates")
SECTION_LIMIT = blockkit.SECTION_TEXT
HEAD_BLOCKS = 3  # header, context, and the quote from the last discussion
TAIL_BLOCKS = 3  # media links, practice, Done (images are counted one by one)
PREVIEW_NAME = "Alex"
# The longest name a check renders with, so a body that fits for it fits for everyone.
CHECK_NAME = "Maximiliane-Alexandra"
BUILDER_URL = "https://app.slack.com/block-kit-builder/#"
LETTERS = string.ascii_uppercase


class RenderProblem(ContentProblem):
    """Content that cannot be shown within Slack's limits; `line` is in the lesson file."""

    def __init__(self, source: Source | None, message: str) -> None:
        super().__init__(message)
        self.source = source
        self.message = message


@dataclass(frozen=True)
class Quote:
    """A peer's reply, shown in the next lesson of a drip."""

    text: str
    author: str


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,  # the templates ship with the code: no stat() on every render
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
    env.filters["md"] = to_mrkdwn
    env.filters["esc"] = escape
    return env


def warm_templates() -> None:
    """Compile every template now: a process about to fork its serving processes does, so that
    they share the compiled templates instead of each compiling them on its first answers."""
    env = _templates()
    for name in env.list_templates():
        env.get_template(name)


def _render(template: str, **context: Any) -> Message:
    message: Message = json.loads(_templates().get_template(template).render(**context))
    errors = blockkit.check_message(message)
    if errors:
        raise RenderProblem(None, "; ".join(errors))
    return message


def lesson_messages(
    lesson: Lesson,
    course: Course,
    *,
    first_name: str,
    done_value: str,
    quote: Quote | None = None,
) -> list[Message]:
    """The messages of one lesson, split at paragraph boundaries when it is long."""
    context = BodyContext(first_name, course.title, lesson.position, len(course.lessons))
    try:
        markdown = render_body(lesson.body, context)
    except TemplateProblem as problem:
        line = lesson.body_line + problem.line - 1
        source = Source(lesson.source.path, line) if lesson.source else None
        raise RenderProblem(source, problem.message) from None
    sections = _sections(to_pieces(markdown), lesson)
    images = sum(1 for item in lesson.media if item.kind == "image")
    parts = _split(sections, tail=TAIL_BLOCKS + images)
    media = [{"kind": m.kind.value, "url": m.url, "alt": m.alt} for m in lesson.media]
    messages = []
    for index, part in enumerate(parts):
        try:
            messages.append(
                _render(
                    "lesson.json.j2",
                    title=lesson.title,
                    minutes=lesson.minutes,
                    objective=lesson.objective,
                    part=index + 1,
                    parts=len(parts),
                    first=index == 0,
                    last=index == len(parts) - 1,
                    sections=part,
                    media=media,
                    practice=lesson.practice,
                    done_value=done_value,
                    quote={"text": quote.text, "author": quote.author} if quote else None,
                )
            )
        except RenderProblem as problem:
            raise RenderProblem(lesson.source, problem.message) from None
    return messages


def question_message(
    question: Question,
    lesson: Lesson,
    *,
    number: int,
    ref: str,
    review: bool = False,
    order: Order | None = None,
) -> Message:
    """One quiz question: buttons, checkboxes + Submit, or an Answer button for open questions.

    `order`: the option indexes in the order this learner sees them (default: file order).
    Buttons and checkboxes carry the option's index in the file, whatever its place.
    """
    return _question(
        question,
        title=lesson.title,
        total=len(lesson.quiz),
        number=number,
        ref=ref,
        review=review,
        order=_order(question, order),
    )


def _order(question: Question, order: Order | None) -> Order:
    """`order` when it is a permutation of the question's options, else the file order."""
    everything = tuple(range(len(question.options)))
    if order is None or sorted(order) != list(everything):
        return everything
    return tuple(order)


def _question(
    question: Question, *, title: str, total: int, number: int, ref: str, review: bool, order: Order
) -> Message:
    longest = max((len(option.text) for option in question.options), default=0)
    letters = longest > blockkit.BUTTON_TEXT
    options = [  # letters follow the order shown
        {"text": question.options[index].text, "label": LETTERS[place], "index": index}
        for place, index in enumerate(order)
    ]
    try:
        return _render(
            "question.json.j2",
            question={"text": question.text, "kind": question.kind.value},
            options=options,
            letters=letters,
            number=number,
            total=total,
            lesson_title=title,
            ref=ref,
            review=review,
        )
    except RenderProblem as problem:
        raise RenderProblem(question.source, problem.message) from None


def preview(lesson: Lesson, course: Course, *, first_name: str = PREVIEW_NAME) -> list[Message]:
    """Everything a learner receives for `lesson`, in order, each tagged with its kind."""
    messages = [
        {"kind": "lesson", **message}
        for message in lesson_messages(lesson, course, first_name=first_name, done_value="preview")
    ]
    for number, question in enumerate(lesson.quiz, start=1):
        message = question_message(question, lesson, number=number, ref=f"preview.{number}")
        messages.append({"kind": f"question:{question.kind.value}", **message})
    return messages


def builder_link(message: Message) -> str:
    """A Block Kit Builder URL showing `message`."""
    payload = json.dumps({"blocks": message["blocks"]}, separators=(",", ":"), ensure_ascii=False)
    return BUILDER_URL + quote(payload, safe="")


def check_catalog(catalog: Catalog) -> list[RenderProblem]:
    """Render every lesson and question as a learner gets them; report what Slack would refuse."""
    problems: list[RenderProblem] = []
    for course in catalog.courses:
        for lesson in course.lessons:
            try:
                lesson_messages(
                    lesson,
                    course,
                    first_name=CHECK_NAME,
                    done_value="x" * 40,
                    quote=Quote("q" * 500, "U00000000000"),
                )
            except RenderProblem as problem:
                problems.append(problem)
            except Exception as error:  # a template error at render time is a content problem
                problems.append(RenderProblem(lesson.source, f"cannot render the body: {error}"))
            for number, question in enumerate(lesson.quiz, start=1):
                try:
                    question_message(question, lesson, number=number, ref="x" * 40, review=True)
                    question_message(question, lesson, number=number, ref="x" * 40)
                except RenderProblem as problem:
                    problems.append(problem)
    return problems


def _sections(pieces: list[Piece], lesson: Lesson) -> list[str]:
    """Pack pieces into section texts of at most SECTION_LIMIT characters, never cutting one."""
    sections: list[str] = []
    current = ""
    for piece in pieces:
        if len(piece.text) > SECTION_LIMIT:
            line = lesson.body_line + piece.line
            source = Source(lesson.source.path, line) if lesson.source else None
            raise RenderProblem(
                source,
                f"this paragraph is {len(piece.text)} characters in Slack; at most "
                f"{SECTION_LIMIT} fit in one block: split it into shorter paragraphs",
            )
        joined = current + ("\n" if piece.joins_previous else "\n\n") + piece.text
        if current and len(joined) <= SECTION_LIMIT:
            current = joined
        else:
            if current:
                sections.append(current)
            current = piece.text
    if current:
        sections.append(current)
    return sections


def _split(sections: list[str], *, tail: int) -> list[list[str]]:
    """Spread sections over messages of at most MESSAGE_BLOCKS blocks (head and tail included)."""
    room_first = blockkit.MESSAGE_BLOCKS - HEAD_BLOCKS
    room_next = blockkit.MESSAGE_BLOCKS - 1  # the "part N of M" context line
    parts: list[list[str]] = [[]]
    for section in sections:
        room = room_first if len(parts) == 1 else room_next
        if len(parts[-1]) >= room:
            parts.append([])
        parts[-1].append(section)
    room = room_first if len(parts) == 1 else room_next
    if len(parts[-1]) + tail > room:
        parts.append([])
    return parts


def notice_message(text: str, *, button: dict[str, str] | None = None) -> Message:
    """A short message from the bot: one section, the text as fallback too, maybe a button."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if button is not None:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": button["text"]},
                        "action_id": button["action_id"],
                        "value": button["value"],
                        "style": "primary",
                    }
                ],
            }
        )
    message = {"text": text, "blocks": blocks}
    errors = blockkit.check_message(message)
    if errors:
        raise RenderProblem(None, "; ".join(errors))
    return message


class SlackComposer:
    """The Composer port: lessons, questions and notices as Block Kit messages."""

    def lesson(
        self,
        lesson: Lesson,
        course: Course,
        *,
        first_name: str,
        done_ref: str,
        quote: tuple[str, str] | None = None,
    ) -> list[Message]:
        return lesson_messages(
            lesson,
            course,
            first_name=first_name,
            done_value=done_ref,
            quote=Quote(*quote) if quote else None,
        )

    def question(
        self,
        question: Question,
        lesson: Lesson,
        *,
        number: int,
        ref: str,
        review: bool = False,
        order: Order | None = None,
    ) -> Message:
        return question_message(
            question, lesson, number=number, ref=ref, review=review, order=order
        )

    def notice(self, text: str, *, button: dict[str, str] | None = None) -> Message:
        return notice_message(text, button=button)

    def review(self, items: list[tuple[Question, Lesson, int, str, Order]]) -> list[Message]:
        from bot.slack.reviews import review_messages  # it builds on this module

        return review_messages(items)


def feedback_message(
    question: Question,
    *,
    choice: tuple[int, ...],
    text: str,
    correct: bool | None,
    already: bool,
    review: bool,
    distribution: dict[int, int] | None = None,
    cached: bool = True,
    order: Order | None = None,
) -> Message:
    """What a learner sees after answering: ✅ or ❌, the option's feedback, the explanation.

    Options are named in `order`, the order the learner was shown them (default: file order).
    """
    shown = _order(question, order)
    if cached and distribution is None and question.kind.value not in ("poll", "open"):
        # Graded feedback depends only on the question, the choice and the order: rendered once.
        message: Message = json.loads(
            _graded_feedback(question, choice, correct, already, review, shown)
        )
        return message
    verdict = _verdict(question, correct)
    picked = set(choice)
    chosen = [question.options[i] for i in shown if i in picked]
    answer = text if verdict == "open" else "; ".join(option.text for option in chosen)
    right = (
        [question.options[i].text for i in shown if question.options[i].correct]
        if verdict == "wrong"
        else []
    )
    poll = _poll(question, distribution, shown) if distribution is not None else []
    return _render(
        "feedback.json.j2",
        verdict=verdict,
        already=already,
        answer=answer,
        feedbacks=[option.feedback for option in chosen if option.feedback],
        right_answers=right,
        explanation=question.explanation,
        poll=poll,
        review=review,
    )


def _verdict(question: Question, correct: bool | None) -> str:
    if question.kind.value in ("poll", "open"):
        return str(question.kind.value)
    return "right" if correct else "wrong"


def _poll(question: Question, distribution: dict[int, int], shown: Order) -> list[dict[str, Any]]:
    """Votes per option so far, in the order the learner was shown them."""
    total = sum(distribution.values()) or 1
    return [
        {
            "text": question.options[index].text,
            "count": distribution.get(index, 0),
            "percent": round(100 * distribution.get(index, 0) / total),
        }
        for index in shown
    ]


@lru_cache(maxsize=4096)
def _graded_feedback(
    question: Question,
    choice: tuple[int, ...],
    correct: bool | None,
    already: bool,
    review: bool,
    order: Order,
) -> str:
    message = feedback_message(
        question,
        choice=choice,
        text="",
        correct=correct,
        already=already,
        review=review,
        cached=False,
        order=order,
    )
    return json.dumps(message)


def answered_question_message(
    question: Question,
    lesson: Lesson,
    *,
    number: int,
    review: bool,
    feedback: Message,
    order: Order | None = None,
) -> Message:
    """The question message as it reads once answered: the question, then the feedback.

    `order` as the question was shown, so listed options (A, B, C …) keep their letters.
    """
    original: Message = json.loads(
        _question_head(
            question, lesson.title, len(lesson.quiz), number, review, _order(question, order)
        )
    )
    text = f"{original['text']} {feedback['text']}"
    message = {"text": text, "blocks": [original["block"], *feedback["blocks"]]}
    errors = blockkit.check_message(message)
    if errors:
        raise RenderProblem(question.source, "; ".join(errors))
    return message


@lru_cache(maxsize=1024)
def _question_head(
    question: Question, title: str, total: int, number: int, review: bool, order: Order
) -> str:
    """The text and first block of a question message (JSON), rendered once per question."""
    original = _question(
        question,
        title=title,
        total=total,
        number=number,
        ref="answered",
        review=review,
        order=order,
    )
    return json.dumps({"text": original["text"], "block": original["blocks"][0]})
