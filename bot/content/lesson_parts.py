"""A lesson's media and quiz read from its front matter, and the rules of each question kind."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.content.fields import Reporter, choice_field, text_field, unknown_keys
from bot.domain.lesson import OPTIONS_RANGE, Media, MediaKind, Option, Question, QuestionKind

MEDIA_KEYS = {"kind", "url", "alt"}
QUESTION_KEYS = {"question", "kind", "options", "explanation", "shuffle"}
OPTION_KEYS = {"text", "correct", "feedback"}
ALT_MAX = 2000
URL_MAX = 3000
TEXT_MAX = 3000


def media_field(report: Reporter, data: dict[str, Any]) -> tuple[Media, ...]:
    items = data.get("media")
    if items is None:
        return ()
    if not isinstance(items, list):
        report.key(("media",), "'media' must be a list of items with kind, url and alt")
        return ()
    media: list[Media] = []
    for index, item in enumerate(items):
        path: tuple[str | int, ...] = ("media", index)
        if not isinstance(item, dict):
            report.key(path, "each media item has kind, url and (for images) alt")
            continue
        unknown_keys(report, item, path, MEDIA_KEYS, "a media item")
        if "kind" not in item:
            report.key(path, "missing 'kind' (image | video | audio | link)")
        kind = choice_field(report, item, (*path, "kind"), MediaKind, MediaKind.LINK)
        url = text_field(report, item, (*path, "url"), required=True, limit=URL_MAX)
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.netloc):
            report.key(
                (*path, "url"), f"media URLs must start with https:// or http://, got {url!r}"
            )
        alt = text_field(report, item, (*path, "alt"), limit=ALT_MAX)
        if kind is MediaKind.IMAGE and not alt:
            report.key(path, "images need 'alt': a short description for screen readers")
        media.append(Media(kind=kind, url=url, alt=alt, source=report.source(*path)))
    return tuple(media)


def quiz_field(report: Reporter, data: dict[str, Any]) -> tuple[Question, ...]:
    items = data.get("quiz")
    if items is None:
        return ()
    if not isinstance(items, list):
        report.key(("quiz",), "'quiz' must be a list of questions")
        return ()
    return tuple(
        question
        for index, item in enumerate(items)
        if (question := _question(report, item, ("quiz", index))) is not None
    )


def _question(report: Reporter, item: Any, path: tuple[str | int, ...]) -> Question | None:
    if not isinstance(item, dict):
        report.key(path, "each quiz item has question, kind, options and explanation")
        return None
    before = report.count
    unknown_keys(report, item, path, QUESTION_KEYS, "a quiz question")
    text = text_field(report, item, (*path, "question"), required=True, limit=TEXT_MAX)
    kind = choice_field(report, item, (*path, "kind"), QuestionKind, QuestionKind.SINGLE)
    explanation = text_field(report, item, (*path, "explanation"), limit=TEXT_MAX)
    options = _options(report, item, path)
    _check_kind_rules(report, path, kind, options)
    shuffle = item.get("shuffle", True)
    if not isinstance(shuffle, bool):
        report.key(
            (*path, "shuffle"),
            f"'shuffle' must be true or false, got {shuffle!r}; 'shuffle: false' shows the "
            "options in file order",
        )
    if report.count > before:
        return None
    return Question(
        text=text,
        kind=kind,
        options=options,
        explanation=explanation,
        source=report.source(*path),
        shuffle=shuffle,
    )


def _options(
    report: Reporter, item: dict[str, Any], path: tuple[str | int, ...]
) -> tuple[Option, ...]:
    raw = item.get("options")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        report.key((*path, "options"), "'options' must be a list")
        return ()
    options: list[Option] = []
    for index, entry in enumerate(raw):
        option_path: tuple[str | int, ...] = (*path, "options", index)
        if isinstance(entry, str):
            entry = {"text": entry}
        if not isinstance(entry, dict):
            report.key(option_path, "each option has text, and optionally correct and feedback")
            continue
        unknown_keys(report, entry, option_path, OPTION_KEYS, "an option")
        text = text_field(report, entry, (*option_path, "text"), required=True, limit=TEXT_MAX)
        correct = entry.get("correct", False)
        if not isinstance(correct, bool):
            report.key(
                (*option_path, "correct"), f"'correct' must be true or false, got {correct!r}"
            )
            correct = False
        feedback = text_field(report, entry, (*option_path, "feedback"), limit=TEXT_MAX)
        options.append(Option(text, correct, feedback, source=report.source(*option_path)))
    return tuple(options)


def _check_kind_rules(
    report: Reporter, path: tuple[str | int, ...], kind: QuestionKind, options: tuple[Option, ...]
) -> None:
    at = (*path, "options") if (*path, "options") in report.doc.lines else path
    correct = sum(option.correct for option in options)
    low, high = OPTIONS_RANGE
    if kind is QuestionKind.OPEN:
        if options:
            report.key(at, "an 'open' question takes no options: people type their answer")
        return
    if not low <= len(options) <= high:
        report.key(
            at, f"a {kind.value!r} question needs {low}–{high} options, it has {len(options)}"
        )
    if kind is QuestionKind.TRUE_FALSE and len(options) != 2:
        report.key(at, "a 'true_false' question has exactly two options (True and False)")
    if kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and correct != 1:
        report.key(
            at, f"a {kind.value!r} question has exactly one correct option, it has {correct}"
        )
    if kind is QuestionKind.MULTIPLE and correct < 1:
        report.key(at, "a 'multiple' question needs at least one correct option")
    if kind is QuestionKind.POLL and correct:
        report.key(at, "a 'poll' has no correct option: remove 'correct: true'")
