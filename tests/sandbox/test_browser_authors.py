"""Authors in the sandbox: edits show on the next send without a restart, problems show with
path:line, and nothing anyone writes can put markup or script into the page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.sandbox import authoring
from bot.sandbox.world import LEAD
from tests.sandbox import browser
from tests.sandbox.conftest import BROWSER_GROUP, RunningSandbox
from tests.support.process import LESSONS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# One sandbox per module, one Chromium for both browser modules: they run on one xdist worker.
pytestmark = pytest.mark.xdist_group(BROWSER_GROUP)
LESSON = "security-basics/01-spot-phishing.md"
TITLE = "Spot a phishing message before you click"
HOSTILE = (
    "Watch out for <script>window.pwned = 'script'</script> and "
    '<img src="x" onerror="window.pwned = \'img\'"> tags, '
    "[this link](javascript:window.pwned='link') and <b>raw bold</b>."
)


@pytest.fixture(scope="module", autouse=True)
def _watch_often() -> Iterator[None]:
    """The sandbox looks for edited lessons every second; here ten times a second, so that the page's
    unasked updates show without a second's wait each (what is checked is that they come)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(authoring, "WATCH_SECONDS", 0.1)
        yield


@pytest.fixture(scope="module")
def lessons_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lessons")
    shutil.copytree(LESSONS / "security-basics", folder / "security-basics")
    return folder


@pytest.fixture
def page(chromium: Browser, running: RunningSandbox) -> Iterator[Page]:
    outside: list[str] = []
    opened = browser.new_page(chromium, outside)
    opened.goto(f"{running.url}/#as={LEAD.user_id}&c=dm")
    yield opened
    opened.close()
    assert outside == []


def send_to_myself(page: Page) -> None:
    page.locator("#composer-text").fill("/learn send security-basics/spot-phishing to @lena")
    page.locator("#composer button").click()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edited_lesson_goes_out_as_edited_and_a_broken_one_shows_its_problems(
    running: RunningSandbox, lessons_folder: Path, page: Page
) -> None:
    from playwright.sync_api import expect

    lesson = lessons_folder / LESSON
    edit(lesson, f'title: "{TITLE}"', 'title: "Spot a phish, second draft"')
    send_to_myself(page)
    messages = page.locator("#messages")
    expect(messages.locator(".bk-header", has_text="Spot a phish, second draft")).to_be_visible()
    lessons = len(list((lessons_folder / "security-basics").glob("[0-9][0-9]-*.md")))
    expect(page.locator("#lessons-summary")).to_contain_text(f"1 course, {lessons} lessons")

    edit(lesson, "minutes: 3", "minutes: 3\nminuets: 4")
    problems = page.locator("#lessons-problems li")
    expect(problems).to_have_count(1)
    expect(problems).to_contain_text(f"{lesson}:5: unknown key 'minuets' (did you mean 'minutes'?)")
    expect(page.locator("#lessons-summary")).to_contain_text("the last version without problems")
    before = messages.locator(".bk-header", has_text="Spot a phish, second draft").count()
    send_to_myself(page)  # the last good version still serves
    expect(messages.locator(".bk-header", has_text="Spot a phish, second draft")).to_have_count(
        before + 1
    )

    edit(lesson, "\nminuets: 4", "")
    expect(problems).to_have_count(0)


def test_what_authors_and_people_write_is_shown_as_text_never_run(
    running: RunningSandbox, lessons_folder: Path, page: Page
) -> None:
    from playwright.sync_api import expect

    lesson = lessons_folder / LESSON
    edit(lesson, "Then report the message.", HOSTILE)
    send_to_myself(page)
    messages = page.locator("#messages")
    expect(messages).to_contain_text("Watch out for <script>window.pwned = 'script'</script>")
    expect(messages).to_contain_text('<img src="x" onerror="window.pwned = \'img\'"> tags')
    expect(messages).to_contain_text("[this link](javascript:window.pwned='link') and <b>raw bold")
    page.locator("#composer-text").fill('<img src=x onerror="window.pwned=1"> *hi* @lena')
    page.locator("#composer button").click()
    expect(messages).to_contain_text('<img src=x onerror="window.pwned=1"> hi @Lena Fischer')
    assert page.evaluate("window.pwned") is None
    assert messages.locator("script, img, b:text('raw bold')").count() == 0
    assert messages.locator("a[href^='javascript']").count() == 0
