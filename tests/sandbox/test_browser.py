"""The sandbox in a real browser: a lead schedules, the clock jumps, a learner learns and talks,
the lead downloads the report — all through the page, as a person would."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from bot.sandbox.world import LEAD
from tests.sandbox import browser
from tests.sandbox.conftest import BROWSER_GROUP, RunningSandbox

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# One sandbox per module, one Chromium for both browser modules: they run on one xdist worker.
pytestmark = pytest.mark.xdist_group(BROWSER_GROUP)
PRIYA = "UPRIYA"


@pytest.fixture
def outside() -> Iterator[list[str]]:
    """Requests the page tried to send beyond this machine (there must be none)."""
    attempts: list[str] = []
    yield attempts
    assert attempts == []


@pytest.fixture
def page(chromium: Browser, outside: list[str]) -> Iterator[Page]:
    opened = browser.new_page(chromium, outside)
    yield opened
    opened.close()


def act_as(page: Page, user: str, where: str) -> None:
    page.locator(f'[data-person="{user}"]').click()
    page.locator(f'[data-nav="{where}"]').click()


def test_a_lead_schedules_a_learner_learns_discusses_and_the_lead_gets_the_report(
    running: RunningSandbox, page: Page
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{running.url}/#as={LEAD.user_id}&c=home")
    schedule = page.get_by_role("button", name="Schedule a course")
    expect(schedule).to_be_visible()
    schedule.click()
    expect(page.locator("#modal-title")).to_have_text("Schedule a course")
    page.locator("#modal-submit").click()  # nothing chosen: the bot's own validation answers
    expect(page.locator('[data-input="course"] .error')).to_have_text("Choose a course.")
    page.locator('[data-input="course"] select').select_option("security-basics")
    page.locator(f'[data-input="people"] input[value="{PRIYA}"]').check()
    page.locator('[data-input="discuss"] select').select_option(label="#learning-circle")
    page.locator("#modal-submit").click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("security-basics")  # the drip on Home
    browser.screenshot(page, "lead-app-home")

    page.locator("#jump-next").click()
    expect(page.locator("#toast")).to_contain_text("sent")

    act_as(page, PRIYA, "dm")
    messages = page.locator("#messages")
    expect(messages).to_contain_text("Spot a phishing message before you click")
    expect(messages).to_contain_text("Hi Priya")
    question = page.locator("article", has_text="Question 1 of 3")
    question.get_by_role("button", name="https://microsoftonline.com.signin-verify.net/").click()
    expect(question).to_contain_text("✅")
    expect(question).to_contain_text("Why:")
    several = page.locator("article", has_text="Question 2 of 3")
    several.get_by_label("The deadline of “today”").check()
    several.get_by_label("It uses Maria’s real name and job title").check()
    several.get_by_role("button", name="Submit").click()
    expect(several).to_contain_text("❌")
    expect(several).to_contain_text("Payment fraud by email")
    page.locator("article", has_text="Question 3 of 3").get_by_role("button", name="False").click()
    join = page.get_by_role("link", name="see what others said")
    expect(join).to_be_visible()
    browser.screenshot(page, "learner-dm-quiz-answered")

    join.click()
    expect(page.locator("#title")).to_have_text("#learning-circle")
    thread = page.locator("#thread")
    expect(thread).to_contain_text("Spot a phishing message before you click")
    page.locator("#thread-text").fill("A fake parcel notice that used my real address.")
    page.locator("#thread-composer button").click()
    expect(thread).to_contain_text("A fake parcel notice that used my real address.")

    act_as(page, LEAD.user_id, "dm")
    page.locator("#composer-text").fill("/learn report security-basics")
    page.locator("#composer button").click()
    expect(page.locator("#messages .ephemeral")).to_contain_text("Only visible to you")
    answers = page.locator("#files a", has_text="security-basics-answers.csv")
    expect(answers).to_be_visible()
    expect(page.locator("#files a", has_text="security-basics-discussion.csv")).to_be_visible()
    with page.expect_download() as download:
        answers.click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["learner_id"], r["correct"]) for r in rows} == {(PRIYA, "true"), (PRIYA, "false")}
    assert len(rows) == 3
