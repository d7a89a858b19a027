"""Report and digest charts: valid PNGs a phone can read, honest with empty or hostile data."""

from __future__ import annotations

import io
import math
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy
import pytest
from PIL import Image

from bot.services.charts import (
    DPI,
    MAX_ROWS,
    RED,
    DigestChart,
    LessonRow,
    QuestionRow,
    ReportChart,
    WeekPoint,
    digest_figure,
    digest_filename,
    digest_png,
    report_figure,
    report_filename,
    report_png,
    safe_text,
)
from tests.support.process import ROOT

if TYPE_CHECKING:  # matplotlib is imported by the first chart, not when tests are collected
    from matplotlib.figure import Figure
    from matplotlib.text import Text

HOSTILE = r"Costs $\frac{}{}$ and $x^2$ — 🎉 $5"
SMALL = ReportChart(
    course_title="Security basics",
    lessons=(LessonRow("Spot phishing", 12, 9, 7, 3), LessonRow("Passwords", 10, 4, 5, 0)),
    questions=(QuestionRow("1.1 Which link?", 0.75, 8), QuestionRow("2.1 How long?", 0.4, 5)),
    subtitle="Lena's learners",
)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG, each CRC checked; fails on anything that is not a whole PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        offset += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    return chunks


def size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png_chunks(data)[0][1][:8])
    return width, height


def texts(figure: Figure) -> list[Text]:
    from matplotlib.text import Text

    return [t for t in figure.findobj(Text) if isinstance(t, Text) and t.get_text()]


def test_the_report_is_a_valid_png_at_least_1000_px_wide_and_always_the_same() -> None:
    data = report_png(SMALL)
    width, height = size(data)
    assert width >= 1000 and height > 1000  # three panels, one above the other
    metadata = b"".join(body for kind, body in png_chunks(data) if kind in (b"tEXt", b"iTXt"))
    assert b"matplotlib" not in metadata and b"Software" not in metadata
    assert report_png(SMALL) == data  # deterministic: nothing of the moment in the file
    assert report_filename("security-basics") == "security-basics-report.png"


def test_the_report_shows_the_funnel_accuracy_and_replies() -> None:
    shown = {t.get_text() for t in texts(report_figure(SMALL))}
    assert "Security basics\nLena's learners" in shown
    assert {"Spot phishing", "Passwords", "1.1 Which link?", "2.1 How long?"} <= shown
    assert {"  12 → 9 → 7", "  10 → 4 → 5"} <= shown  # delivered → done → answered
    assert {" 75 % of 8", " 40 % of 5  hardest", "  3"} <= shown


def test_the_hardest_question_is_highlighted_only_when_something_did_better() -> None:
    def red_bars(chart: ReportChart) -> int:
        accuracy = report_figure(chart).axes[1]
        return sum(1 for bar in accuracy.patches if bar.get_facecolor()[:3] == _rgb(RED))

    assert red_bars(SMALL) == 1
    tie = QuestionRow("2.2 Again?", 0.4, 5)
    assert red_bars(ReportChart("C", SMALL.lessons, (*SMALL.questions, tie))) == 2
    level = (QuestionRow("1.1", 1.0, 3), QuestionRow("1.2", 1.0, 3))
    assert red_bars(ReportChart("C", SMALL.lessons, level)) == 0


def test_empty_data_renders_a_no_data_yet_chart() -> None:
    empty = ReportChart("New course", (LessonRow("Not sent yet", 0, 0, 0, 0),))
    for chart in (empty, ReportChart("Nothing at all")):
        assert any("No data yet" in t.get_text() for t in texts(report_figure(chart)))
    width, height = size(report_png(empty))
    assert width >= 1000 and height < width
    no_replies = ReportChart("C", (LessonRow("Sent", 5, 2, 2, 0),))
    shown = {t.get_text() for t in texts(report_figure(no_replies))}
    assert {"No answers yet.", "No discussion replies yet."} <= shown


def test_long_titles_are_wrapped_then_cut_and_long_lists_summarised() -> None:
    long_title = "A course whose title goes on " * 6
    lessons = tuple(
        LessonRow(f"Lesson {n} " + "very " * 20 + "long", 9, 5, 4, 1) for n in range(30)
    )
    questions = tuple(QuestionRow(f"Q{n}", (n % 10) / 10, 10) for n in range(30))
    figure = report_figure(ReportChart(long_title, lessons, questions))
    title = figure.get_suptitle()
    assert title.endswith("…") and len(title.split("\n")) == 2
    assert all(len(line) <= 40 for line in title.split("\n"))
    funnel, accuracy, _ = figure.axes
    labels = [label.get_text() for label in funnel.get_yticklabels()]
    assert len(labels) == MAX_ROWS and labels[0] == "Lesson 0 very very very very…"
    assert funnel.get_title(loc="left").endswith("the first 20; 10 more in the CSV")
    shown = [label.get_text() for label in accuracy.get_yticklabels()]
    # The 20 hardest (accuracy 0.0 to 0.6 here), still in course order.
    assert shown == [f"Q{n}" for n in range(30) if n % 10 < 7][:MAX_ROWS]
    assert accuracy.get_title(loc="left").endswith("the 20 hardest of 30 questions")
    assert safe_text("word " * 3, 40) == "word word word"
    assert safe_text("line\nbreak\ttab", 40) == "line break tab"
    assert safe_text("abcdefghij" * 5, 10) == "abcdefghi…"


def test_untrusted_text_is_drawn_literally_never_as_mathtext() -> None:
    chart = ReportChart(
        HOSTILE,
        (LessonRow(HOSTILE, 3, 2, 1, 1),),
        (QuestionRow(HOSTILE, 0.5, 2),),
        subtitle=HOSTILE,
    )
    figure = report_figure(chart)
    literal = safe_text(HOSTILE, 32)
    assert literal.startswith(r"Costs $\frac{}{}$ and $x^2$")
    assert "🎉" not in literal and "□" in literal  # the font has no emoji: no warning either
    hostile = [t for t in texts(figure) if r"\frac" in t.get_text()]
    assert len(hostile) >= 4  # title, lesson labels twice (funnel and replies), question label
    assert all(not t.get_parse_math() for t in hostile)
    size(report_png(chart))  # renders without a mathtext error


def test_the_digest_chart_shows_eight_weeks_with_gaps_where_no_one_answered() -> None:
    start = date(2026, 2, 9)
    weeks = tuple(
        WeekPoint(start + timedelta(weeks=n), 5 + n, 10 + 3 * n, None if n == 2 else 0.5 + n / 20)
        for n in range(8)
    )
    data = digest_png(DigestChart(weeks))
    assert size(data)[0] >= 1000
    figure = digest_figure(DigestChart(weeks))
    # Drawn once and encoded by rgb_png, opaque: the very pixels matplotlib itself saves.
    saved = io.BytesIO()
    figure.savefig(saved, format="png", dpi=DPI)
    ours = Image.open(io.BytesIO(data))
    assert ours.mode == "RGB" and ours.tobytes() == Image.open(saved).convert("RGB").tobytes()
    counts, accuracy = figure.axes
    assert [label.get_text() for label in accuracy.get_xticklabels()][:3] == [
        "09 Feb",
        "16 Feb",
        "23 Feb",
    ]
    (line,) = accuracy.get_lines()
    rates = numpy.asarray(line.get_ydata(), dtype=float)
    assert rates[1] == pytest.approx(55.0) and math.isnan(rates[2])  # a gap, not a fall to 0
    assert digest_filename(date(2026, 3, 30)) == "digest-2026-03-30.png"
    quiet = DigestChart(tuple(WeekPoint(w.week, 0, 0, None) for w in weeks))
    assert any("No activity yet" in t.get_text() for t in texts(digest_figure(quiet)))
    assert size(digest_png(DigestChart(())))[0] >= 1000


def test_threads_render_at_once_without_sharing_state() -> None:
    start = date(2026, 2, 9)
    charts = [
        DigestChart(tuple(WeekPoint(start + timedelta(weeks=w), n + w, w, 0.5) for w in range(8)))
        for n in range(3)
    ]
    alone = [digest_png(chart) for chart in charts]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(digest_png, charts))
    assert together == alone
    assert len(set(alone)) == 3


def test_importing_the_module_does_not_load_matplotlib() -> None:
    """Processes that never draw a chart do not pay matplotlib's import time and memory."""
    code = "import sys, bot.services.charts; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "False"


def _rgb(colour: str) -> tuple[float, float, float]:
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return red, green, blue
