"""Lesson bodies are Jinja2 templates over four variables; anything else is caught at check time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import jinja2
from jinja2 import nodes

from bot.domain.lesson import TEMPLATE_VARIABLES

_ALLOWED = {tuple(name.split(".")) for name in TEMPLATE_VARIABLES}


@dataclass(frozen=True)
class BodyContext:
    """The values a body may use."""

    first_name: str
    course_title: str
    number: int
    total: int

    def as_dict(self) -> dict[str, dict[str, object]]:
        return {
            "learner": {"first_name": self.first_name},
            "course": {"title": self.course_title},
            "lesson": {"number": self.number, "total": self.total},
        }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def check_body(body: str) -> list[tuple[int, str]]:
    """Problems in a body as (1-based line within the body, message)."""
    try:
        tree = _environment().parse(body)
    except jinja2.TemplateSyntaxError as error:
        return [(error.lineno or 1, f"template error: {error.message}")]
    problems: list[tuple[int, str]] = []
    attribute_roots: set[int] = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            attribute_roots.add(id(node.node))
            if (node.node.name, node.attr) not in _ALLOWED:
                problems.append((node.lineno, _unknown(f"{node.node.name}.{node.attr}")))
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" or id(name) in attribute_roots or name.name in local:
            continue
        problems.append((name.lineno, _unknown(name.name)))
    return sorted(problems)


def _unknown(name: str) -> str:
    allowed = ", ".join(TEMPLATE_VARIABLES)
    return f"unknown template variable {name!r}; a lesson may use {allowed}"


def render_body(body: str, context: BodyContext) -> str:
    """The body with its variables filled in (Markdown, not yet Slack's mrkdwn)."""
    return _compiled(body).render(context.as_dict())


@lru_cache(maxsize=1024)
def _compiled(body: str) -> jinja2.Template:
    # Compiling is the expensive part, and a lesson goes to many learners: once per body.
    return _environment().from_string(body)
