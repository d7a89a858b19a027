"""Slack's mrkdwn and Block Kit as the page's HTML: formatting kept, markup from text never."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from bot.sandbox.blocks import Choices, Context, render_blocks
from bot.sandbox.markup import Viewer, mrkdwn, plain

VIEWER = Viewer(
    users={"U1": "Ann Lee"},
    channels={"C1": "general"},
    usergroups={"S1": "design"},
    tz="Asia/Kolkata",
    now=datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
    team_domain="sandbox",
)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold* _italic_ ~gone~", "<b>bold</b> <i>italic</i> <s>gone</s>"),
        ("a `*code*` b", "a <code>*code*</code> b"),
        ("```\nx < 1 && *y*\n```", '<pre class="code">x &lt; 1 &amp;&amp; *y*</pre>'),
        ("> quoted\n> twice\nafter", "<blockquote>quoted<br>twice</blockquote>after"),
        (
            "• one\n    ◦ nested",
            '<span class="li depth-0"><span class="marker">•</span>one</span>'
            '<span class="li depth-1"><span class="marker">◦</span>nested</span>',
        ),
        (
            "<@U1> in <#C1> for <!subteam^S1>",
            '<span class="mention" data-user="U1">@Ann Lee</span>'
            ' in <a class="mention" href="#" data-goto="C1">#general</a> for '
            '<span class="mention">@design</span>',
        ),
        (
            "<https://example.com/a?b=1&amp;c=2|the docs>",
            '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
            'rel="noopener noreferrer">the docs</a>',
        ),
        (
            "<!date^1795406400^{date_short_pretty} at {time}|Nov 23>",
            '<time class="date">Today at 9:30 AM</time>',
        ),
        (":tada: done", "🎉 done"),
        ("AT&amp;T &lt;3", "AT&amp;T &lt;3"),
    ],
)
def test_mrkdwn_becomes_the_html_slack_would_show(text: str, html: str) -> None:
    assert mrkdwn(text, VIEWER) == html


def test_a_permalink_opens_inside_the_page() -> None:
    link = "<https://sandbox.slack.com/archives/C1/p1700000000000100|see the thread>"
    assert mrkdwn(link, VIEWER) == (
        '<a href="#" data-goto="C1" data-thread="1700000000.000100" class="permalink">'
        "see the thread</a>"
    )


HOSTILE = [
    "<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '<img src=x onerror="alert(1)">',
    "&lt;img src=x onerror=alert(1)&gt;",
    "<javascript:alert(1)|click me>",
    '<https://x.example/" onmouseover="alert(1)|hover>',
    "*<b>bold</b>*",
    "`</code><script>alert(1)</script>`",
    "```</pre><script>alert(1)</script>```",
    '<@U1|"><script>alert(1)</script>>',
    "<#C9|<img src=x onerror=alert(1)>>",
    "<!date^x^{date}|<img src=x onerror=alert(1)>>",
    "\x000\x00 placeholder",
]


class _Tags(HTMLParser):
    """Every tag and attribute a browser would see in the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += attrs


@pytest.mark.parametrize("text", HOSTILE)
def test_nothing_written_becomes_markup(text: str) -> None:
    parsed = _Tags()
    parsed.feed(mrkdwn(text, VIEWER) + plain(text))
    assert parsed.tags <= {"b", "i", "s", "code", "pre", "blockquote", "br", "a", "span", "time"}
    names = {name for name, _ in parsed.attributes}
    assert names <= {"href", "target", "rel", "class", "data-user", "data-goto", "data-thread"}
    hrefs = [value or "" for name, value in parsed.attributes if name == "href"]
    assert all(h == "#" or h.startswith("https://") for h in hrefs)


def test_blocks_render_with_their_hooks_and_state() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "<Lesson>"}},
        {
            "type": "actions",
            "block_id": "answer",
            "elements": [
                {
                    "type": "checkboxes",
                    "action_id": "answer_choices",
                    "options": [
                        {"text": {"type": "plain_text", "text": "A"}, "value": "0"},
                        {"text": {"type": "plain_text", "text": "B"}, "value": "1"},
                    ],
                },
                {
                    "type": "button",
                    "action_id": "answer_submit",
                    "text": {"type": "plain_text", "text": "Submit"},
                    "value": "ref",
                    "style": "primary",
                },
            ],
        },
        {
            "type": "input",
            "block_id": "people",
            "label": {"type": "plain_text", "text": "People"},
            "element": {"type": "multi_users_select", "action_id": "people"},
        },
        {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "a chart"},
    ]
    context = Context(
        viewer=VIEWER,
        choices=Choices(people=[("U1", "Ann Lee")]),
        state=lambda block, action: (
            ["1"] if (block, action) == ("answer", "answer_choices") else None
        ),
    )
    html = render_blocks(blocks, context)
    assert '<h3 class="bk-header">&lt;Lesson&gt;</h3>' in html
    assert '<input type="checkbox" value="1" checked>' in html
    assert '<input type="checkbox" value="0">' in html
    assert 'data-block="answer" data-action="answer_submit" data-kind="button" data-act' in html
    assert 'data-input="people"' in html and 'value="U1"' in html
    assert "<img" not in html  # images are shown as their alt text and address, never loaded
    assert "a chart" in html
