"""Charts for leads: a course report and a digest trend, from plain numbers to PNG bytes.

Rendered with matplotlib's Agg canvas on a Figure of their own (never pyplot's global state),
so several threads can render at once. Matplotlib is imported on first use: a process that never
draws a chart does not pay its import time and memory. Sized for a phone: 1280 px wide, large
type, one column of panels. Lesson titles and question texts are untrusted: they are drawn
literally (never as `$…$` mathtext), on one line, shortened with "…", and characters the
bundled font lacks become "□". The same data always gives the same bytes (no timestamp, no
software version in the PNG).

Panels are placed at fixed margins worked out from what they hold (lines of titles, the widest
row label as the font draws it), not by matplotlib's constrained layout: that measured every
text of the figure again on each draw, a third of a chart's CPU time, for the same result.
"""

from __future__ import annotations

import math
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

from bot.services.chart_png import new_figure, png

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

WIDTH_INCHES = 6.4
DPI = 160  # 1024 px wide
MAX_ROWS = 20  # bars per panel; the CSV files have the rest
LABEL_CHARS = 32
TITLE_CHARS = 40  # on each of two lines
ROW_INCHES = 0.34
PANEL_INCHES = 1.3  # a panel's title, axis and margins
EMPTY_INCHES = 3.0
POINT = 1 / 72  # inches
EDGE = 0.12  # inches of white above and below the figure's contents
SIDE = 0.04  # and left and right of them
TICKS = (3.5 + 3.5) * POINT  # a tick and its label's pad, matplotlib's defaults
TITLE_PAD = 6.0  # points between a panel's title and its axes
LEGEND_PAD = 30.0  # the funnel's: its legend sits between
LINE = 1.25  # a line of text, × its font size

FONT = 11
TITLE_FONT = 15
PANEL_FONT = 13
GREY, LIGHT, MID, DARK, RED = "#9aa5b1", "#c9d7f2", "#6b93d6", "#1f4e9c", "#d1453b"


@dataclass(frozen=True)
class LessonRow:
    """One lesson's numbers: people it reached, who pressed Done, who answered, thread replies."""

    title: str
    delivered: int
    done: int
    answered: int
    replies: int


@dataclass(frozen=True)
class QuestionRow:
    """One graded question: a short label (e.g. `2.1 Which link…`) and its first-try accuracy."""

    label: str
    accuracy: float | None  # 0..1; None before anyone answered
    answered: int


@dataclass(frozen=True)
class ReportChart:
    course_title: str
    lessons: tuple[LessonRow, ...] = ()
    questions: tuple[QuestionRow, ...] = ()
    subtitle: str = ""  # whose learners, since when


@dataclass(frozen=True)
class WeekPoint:
    """One week of a lead's drips: its first day, active learners, lessons done, accuracy."""

    week: date
    active: int
    done: int
    accuracy: float | None  # first-try accuracy 0..1; None in a week without answers


@dataclass(frozen=True)
class DigestChart:
    weeks: tuple[WeekPoint, ...]
    title: str = "Your drips, week by week"


def report_filename(course_id: str) -> str:
    return f"{course_id}-report.png"


def digest_filename(day: date) -> str:
    return f"digest-{day.isoformat()}.png"


def report_png(chart: ReportChart) -> bytes:
    """The report chart: lesson funnel, first-try accuracy per question, replies per lesson."""
    return png(report_figure(chart))


def digest_png(chart: DigestChart) -> bytes:
    """The digest chart: active learners and lessons done per week, and first-try accuracy."""
    return png(digest_figure(chart))


def report_figure(chart: ReportChart) -> Figure:
    """The report chart as a figure (see `report_png`)."""
    lessons = chart.lessons[:MAX_ROWS]
    graded = [q for q in chart.questions if q.accuracy is not None]
    questions = _hardest_in_order(graded, MAX_ROWS)
    if not any(row.delivered for row in chart.lessons) and not graded:
        return _empty(chart.course_title, "No data yet: the chart fills in as lessons go out.")
    heights = [_panel(len(lessons)), _panel(len(questions)), _panel(len(lessons))]
    figure = _figure(sum(heights) + 0.8)
    funnel, accuracy, replies = figure.subplots(3, 1)
    top = _title(figure, chart.course_title, chart.subtitle)
    _funnel(funnel, lessons, more=len(chart.lessons) - len(lessons))
    _accuracy(accuracy, questions, total=len(graded))
    _replies(replies, lessons)
    _stack(figure, [funnel, accuracy, replies], heights, top=top, pads=[LEGEND_PAD])
    return figure


def digest_figure(chart: DigestChart) -> Figure:
    """The digest chart as a figure (see `digest_png`)."""
    weeks = chart.weeks
    if not any(w.active or w.done or w.accuracy is not None for w in weeks):
        return _empty(chart.title, "No activity yet: the trend starts with the first lessons.")
    figure = _figure(7.5)
    counts, accuracy = figure.subplots(2, 1, sharex=True)
    top = _title(figure, chart.title, f"the last {len(weeks)} weeks")
    positions = list(range(len(weeks)))
    counts.bar(positions, [w.done for w in weeks], color=LIGHT, label="lessons done")
    active = [w.active for w in weeks]
    counts.plot(positions, active, color=DARK, marker="o", lw=2.5, label="active learners")
    counts.set_ylim(bottom=0)
    counts.legend(fontsize=FONT, loc="upper left", frameon=False)
    _whole_numbers(counts, axis="y")
    _panel_title(counts, "Active learners and lessons done")
    rates = [100 * w.accuracy if w.accuracy is not None else math.nan for w in weeks]
    accuracy.plot(positions, rates, color=RED, marker="o", lw=2.5)
    accuracy.set_ylim(0, 105)
    accuracy.set_xticks(positions, [f"{w.week:%d %b}" for w in weeks], rotation=45)
    accuracy.set_xlabel("week starting", fontsize=FONT)
    _panel_title(accuracy, "First-try accuracy, %")
    for axes in (counts, accuracy):
        _tidy(axes)
    # Below the accuracy panel: dates turned 45° (as tall as wide, at most), and the axis label.
    dates = TICKS + _widest(figure, accuracy.get_xticklabels()) + 2 * LINE * FONT * POINT
    _stack(figure, [counts, accuracy], [3.9, 3.1], top=top, last_below=dates)
    return figure


def _funnel(axes: Axes, lessons: Sequence[LessonRow], *, more: int) -> None:
    """Nested bars per lesson: delivered (wide, light), done, answered (narrow, dark)."""
    note = f"\nthe first {len(lessons)}; {more} more in the CSV" if more else ""
    _panel_title(axes, "Lessons: delivered → done → answered" + note, pad=LEGEND_PAD)
    if not any(row.delivered for row in lessons):
        _note(axes, "No lesson delivered yet.")
        return
    rows = range(len(lessons))
    for name, height, colour in (("delivered", 0.8, LIGHT), ("done", 0.5, MID)):
        values = [getattr(row, name) for row in lessons]
        axes.barh(rows, values, height=height, color=colour, label=name)
    axes.barh(rows, [r.answered for r in lessons], height=0.22, color=DARK, label="answered")
    for y, row in enumerate(lessons):
        figures = f"  {row.delivered} → {row.done} → {row.answered}"
        axes.text(
            max(row.delivered, row.done, row.answered), y, figures, va="center", fontsize=FONT
        )
    _labels(axes, [row.title for row in lessons])
    axes.legend(
        fontsize=FONT,
        loc="lower left",
        bbox_to_anchor=(0, 1),
        frameon=False,
        ncols=3,
        borderpad=0,
        columnspacing=1.2,
    )
    _whole_numbers(axes, axis="x")
    _tidy(axes, room=1.6)


def _accuracy(axes: Axes, questions: Sequence[QuestionRow], *, total: int) -> None:
    """First-try accuracy per question, the hardest in red."""
    if not questions:
        _note(axes, "No answers yet.")
        _panel_title(axes, "First-try accuracy")
        return
    rates = [100 * (q.accuracy or 0.0) for q in questions]
    # The hardest are those at the lowest rate, when some question did better.
    lowest = min(rates) if min(rates) < max(rates) else None
    colours = [RED if rate == lowest else MID for rate in rates]
    axes.barh(range(len(questions)), rates, height=0.7, color=colours)
    for y, (rate, question) in enumerate(zip(rates, questions, strict=True)):
        hint = "  hardest" if rate == lowest else ""
        axes.text(
            rate, y, f" {rate:.0f} % of {question.answered}{hint}", va="center", fontsize=FONT
        )
    _labels(axes, [q.label for q in questions])
    axes.set_xlim(0, 140)
    axes.set_xticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100 %"], fontsize=FONT)
    shown = f"\nthe {len(questions)} hardest of {total} questions" if total > len(questions) else ""
    _panel_title(axes, "First-try accuracy" + shown)
    _tidy(axes, xticks=False)


def _replies(axes: Axes, lessons: Sequence[LessonRow]) -> None:
    """Discussion replies per lesson."""
    if not any(row.replies for row in lessons):
        _note(axes, "No discussion replies yet.")
    else:
        axes.barh(range(len(lessons)), [row.replies for row in lessons], height=0.7, color=GREY)
        for y, row in enumerate(lessons):
            axes.text(row.replies, y, f"  {row.replies}", va="center", fontsize=FONT)
        _labels(axes, [row.title for row in lessons])
        _whole_numbers(axes, axis="x")
        _tidy(axes, room=1.15)
    _panel_title(axes, "Discussion replies")


def _hardest_in_order(questions: Sequence[QuestionRow], limit: int) -> list[QuestionRow]:
    """At most `limit` questions, the lowest accuracy kept, shown in course order."""
    if len(questions) <= limit:
        return list(questions)
    ranked = sorted(range(len(questions)), key=lambda i: (questions[i].accuracy or 0.0, i))
    return [questions[i] for i in sorted(ranked[:limit])]


def _panel(rows: int) -> float:
    return PANEL_INCHES + ROW_INCHES * max(rows, 2)


def _figure(height: float) -> Figure:
    return new_figure(WIDTH_INCHES, height, DPI)


def _empty(title: str, message: str) -> Figure:
    figure = _figure(EMPTY_INCHES)
    top = _title(figure, title, "")
    axes = figure.subplots()
    _note(axes, message)
    _stack(figure, [axes], [1.0], top=top)
    return figure


def _title(figure: Figure, title: str, subtitle: str) -> float:
    """The figure's title, at its top; the inches it takes there."""
    text = safe_text(title, TITLE_CHARS, lines=2)
    if subtitle:
        text += "\n" + safe_text(subtitle, TITLE_CHARS + 10)
    figure.suptitle(
        text, fontsize=TITLE_FONT, fontweight="bold", parse_math=False, y=1 - EDGE / _height(figure)
    )
    return EDGE + _lines(text) * LINE * TITLE_FONT * POINT


def _stack(
    figure: Figure,
    panels: Sequence[Axes],
    heights: Sequence[float],
    *,
    top: float,
    pads: Sequence[float] = (),
    last_below: float | None = None,
) -> None:
    """Panels one above the other under `top` inches of title, each in a band of its height:
    room for its own title above, its tick labels below, and the widest row label on the left
    (the same for all, so that their axes line up). `pads`: points between each panel and
    its title, when not TITLE_PAD."""
    width, height = figure.get_size_inches()
    left = SIDE + max((_label_width(figure, axes) for axes in panels), default=0.0)
    # The last x tick label is centred on the axes' right end: half of it sticks out.
    right = SIDE + max((_widest(figure, _x_labels(axes)) / 2 for axes in panels), default=0.0)
    y = height - top
    scale = (y - EDGE) / sum(heights)  # the bands fill what the title leaves, to EDGE
    for index, (axes, band) in enumerate(zip(panels, [h * scale for h in heights], strict=True)):
        above = _title_room(axes, pads[index] if index < len(pads) else TITLE_PAD)
        below = _tick_room(axes)
        if last_below is not None and index == len(panels) - 1:
            below = last_below
        gap = 0.0 if index == len(panels) - 1 else 0.1
        bottom = y - band + below + gap
        axes.set_position(
            (
                left / width,
                bottom / height,
                (width - left - right) / width,
                max(y - above - bottom, 0.1) / height,
            )
        )
        y -= band


def _title_room(axes: Axes, pad: float) -> float:
    """Inches above the axes for its title (set with `_panel_title`), `pad` points over it."""
    text = axes.get_title(loc="left")
    if not text:
        return 0.0
    return (_lines(text) * LINE * PANEL_FONT + pad + 2) * POINT


def _tick_room(axes: Axes) -> float:
    """Inches below the axes for its x tick labels (none on an axes with its axis off)."""
    if not _x_labels(axes):
        return 0.05
    return TICKS + LINE * FONT * POINT


def _x_labels(axes: Axes) -> list[Text]:
    """The x tick labels drawn (none with the axis off, or hidden under a shared axis)."""
    if not axes.axison:
        return []
    return [label for label in axes.get_xticklabels() if label.get_visible()]


def _label_width(figure: Figure, axes: Axes) -> float:
    """Inches left of the axes for its y tick labels, as wide as the widest draws."""
    if not axes.axison:
        return 0.0
    return _widest(figure, axes.get_yticklabels()) + TICKS


def _widest(figure: Figure, labels: Sequence[Text]) -> float:
    """Inches: the width of the widest of `labels` as the font draws it."""
    from matplotlib.font_manager import FontProperties

    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    font = FontProperties(size=FONT)
    widest = 0.0
    for label in labels:
        if text := label.get_text():
            width, _, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
            widest = max(widest, width)
    return widest / figure.dpi


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _height(figure: Figure) -> float:
    return float(figure.get_size_inches()[1])


def _panel_title(axes: Axes, text: str, *, pad: float = TITLE_PAD) -> None:
    axes.set_title(text, fontsize=PANEL_FONT, loc="left", pad=pad, parse_math=False)


def _labels(axes: Axes, texts: Sequence[str]) -> None:
    labels = [safe_text(text, LABEL_CHARS) for text in texts]
    axes.set_yticks(range(len(texts)), labels, fontsize=FONT, parse_math=False)
    axes.invert_yaxis()  # the first lesson on top


def _note(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=PANEL_FONT, color=GREY)
    axes.set_axis_off()


def _whole_numbers(axes: Axes, *, axis: str) -> None:
    """Ticks on whole numbers only: these are counts of people and lessons."""
    from matplotlib.ticker import MaxNLocator

    scale = axes.yaxis if axis == "y" else axes.xaxis
    scale.set_major_locator(MaxNLocator(integer=True))


def _tidy(axes: Axes, *, room: float = 0.0, xticks: bool = True) -> None:
    """Light frame, ticks at readable size, and `room` × the data's width for end labels."""
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if xticks:
        axes.tick_params(labelsize=FONT)
    if room:
        left, right = axes.get_xlim()
        axes.set_xlim(left, max(right * room, 1.0))


def safe_text(text: str, limit: int, *, lines: int = 1) -> str:
    """`text` wrapped to `lines` lines of at most `limit` characters, "…" where cut, drawable."""
    wrapped = textwrap.wrap(" ".join(text.split()), width=limit) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: limit - 1].rstrip() + "…"
    return "\n".join("".join(_drawable(char) for char in line) for line in wrapped)


def _drawable(char: str) -> str:
    """The character if the font has it; else nothing for marks and joiners, "□" for the rest."""
    if ord(char) in _glyphs():
        return char
    return "" if unicodedata.category(char) in ("Mn", "Me", "Cf") else "□"


@cache
def _glyphs() -> frozenset[int]:
    """Code points the default font draws (matplotlib warns about any other)."""
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties())
    return frozenset(font_manager.get_font(path).get_charmap())
