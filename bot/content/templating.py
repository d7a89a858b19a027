"""Lesson bodies: a small, checked subset of Jinja2 rendered in Jinja's sandbox.

A body is written by an author and rendered on the bot's machine, so it is data, never code. The
check allows only the four documented variables, a few text filters and `{% if %}`; everything
else is a problem with its line. Rendering runs the same check, then renders in a sandbox that
hands out only those four values, so a body that never went through `lessons check` still cannot
reach a Python object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.domain.lesson import TEMPLATE_FILTERS, TEMPLATE_VARIABLES

_ALLOWED = {tuple(name.split(".")) for name in TEMPLATE_VARIABLES}
_VARIABLES = ", ".join(TEMPLATE_VARIABLES)
_TAGS: dict[type[nodes.Node], str] = {
    nodes.For: "for",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from",
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.With: "with",
    nodes.Scope: "with",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
    nodes.ExprStmt: "do",
    nodes.Break: "break",
    nodes.Continue: "continue",
}
_FILTER_ARGUMENTS = {"default": 1}
EXPRESSION_PARTS = 50
"""The most names, values, filters and operators one expression may hold (each a part)."""
_OPERATORS: dict[type[nodes.Node], str] = {
    nodes.Add: "'+'",
    nodes.Sub: "'-'",
    nodes.Mul: "'*'",
    nodes.Div: "'/'",
    nodes.FloorDiv: "'//'",
    nodes.Mod: "'%'",
    nodes.Pow: "'**'",
    nodes.Concat: "'~'",
    nodes.Neg: "'-'",
    nodes.Pos: "'+'",
    nodes.CondExpr: "'… if … else …'",
    nodes.List: "a list",
    nodes.Tuple: "a tuple",
    nodes.Dict: "a dict",
    nodes.Slice: "a slice",
}


class TemplateProblem(Exception):
    """A body that may not be rendered; `line` is 1-based within the body."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class BodyContext:
    """The values a body may use."""

    first_name: str
    course_title: str
    number: int
    total: int

    def variables(self) -> dict[str, _Fields]:
        return {
            "learner": _Fields({"first_name": self.first_name}),
            "course": _Fields({"title": self.course_title}),
            "lesson": _Fields({"number": self.number, "total": self.total}),
        }


class _Fields:
    """One documented variable: its fields, and nothing else the sandbox would hand out."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str | int]) -> None:
        self.values = values


def check_body(body: str) -> list[tuple[int, str]]:
    """Problems in a body as (1-based line within the body, message)."""
    return list(_checked(body))


@lru_cache(maxsize=1024)
def _checked(body: str) -> tuple[tuple[int, str], ...]:
    # Every render checks again, and a lesson goes to many learners: once per body.
    try:
        tree = _environment().parse(body)
        return tuple(sorted(_problems(tree)))
    except jinja2.TemplateSyntaxError as error:
        return ((error.lineno or 1, f"template error: {error.message}"),)
    except RecursionError:  # Jinja's parser recurses into nested tags and brackets
        return ((1, "template error: nested too deeply"),)


def render_body(body: str, context: BodyContext) -> str:
    """The body with its variables filled in (Markdown, not yet Slack's mrkdwn)."""
    problems = _checked(body)
    if problems:
        raise TemplateProblem(*problems[0])
    return render_unchecked(body, context)


def render_unchecked(body: str, context: BodyContext) -> str:
    """The body rendered in the sandbox alone; what it refuses raises TemplateProblem."""
    try:
        return _compiled(body).render(context.variables())
    except jinja2.TemplateSyntaxError as error:
        raise TemplateProblem(error.lineno or 1, f"template error: {error.message}") from None
    # Whatever a body makes the template raise (the sandbox's refusals first) is its problem.
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, RecursionError) as error:
        raise TemplateProblem(1, f"cannot render the body: {error}") from None


@lru_cache(maxsize=1024)
def _compiled(body: str) -> jinja2.Template:
    # Compiling is the expensive part, and a lesson goes to many learners: once per body.
    return _environment().from_string(body)


def _problems(node: nodes.Node) -> Iterator[tuple[int, str]]:
    """Every construct outside the documented set; a refused one is not searched further."""
    if isinstance(node, nodes.Template | nodes.Output):
        for child in node.iter_child_nodes():
            yield from _problems(child)
    elif isinstance(node, nodes.If):
        yield from _expression(node.test)
        for child in (*node.body, *node.elif_, *node.else_):
            yield from _problems(child)
    elif isinstance(node, nodes.TemplateData):
        return
    elif isinstance(node, nodes.Expr):
        yield from _expression(node)
    else:
        tag = _TAGS.get(type(node), type(node).__name__.lower())
        message = f"'{{% {tag} %}}' is not allowed in a lesson body"
        yield (
            node.lineno,
            f"{message}; the tags are '{{% if %}}', '{{% elif %}}' and '{{% else %}}'",
        )


def _expression(root: nodes.Node) -> Iterator[tuple[int, str]]:
    """Problems in one expression, walked without recursion: a body may chain thousands of parts."""
    pending = [root]
    parts = 0
    while pending:
        node = pending.pop()
        parts += 1
        if parts > EXPRESSION_PARTS:
            message = f"an expression of more than {EXPRESSION_PARTS} parts is not allowed"
            yield root.lineno, f"{message} in a lesson body"
            return
        if isinstance(node, nodes.Filter):
            problem = _filter_problem(node)
            if problem:
                yield node.lineno, problem
            else:
                pending.extend(child for child in (node.node, *node.args) if child is not None)
        elif isinstance(node, nodes.Compare):
            pending.extend((node.expr, *(operand.expr for operand in node.ops)))
        elif isinstance(node, nodes.And | nodes.Or):
            pending.extend((node.left, node.right))
        elif isinstance(node, nodes.Not):
            pending.append(node.node)
        else:
            problem = _leaf_problem(node)
            if problem:
                yield node.lineno, problem


def _leaf_problem(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str | int | float | bool | None):
        return None
    if isinstance(node, nodes.Name | nodes.Getattr):
        path = _dotted(node)
        if path is None:  # an attribute of a literal or of a filter's result
            attribute = node.attr if isinstance(node, nodes.Getattr) else node.name
            return f"'.{attribute}' is not allowed in a lesson body; use {_VARIABLES}"
        if tuple(path.split(".")) not in _ALLOWED:
            shown = path if len(path) <= 60 else path[:59] + "…"
            return f"unknown template variable {shown!r}; a lesson may use {_VARIABLES}"
        return None
    if isinstance(node, nodes.Getitem):
        return f"'[…]' is not allowed in a lesson body; a lesson may use {_VARIABLES}"
    if isinstance(node, nodes.Call):
        return "calls are not allowed in a lesson body: '(…)' after a name or filter"
    if isinstance(node, nodes.Test):
        return f"the test {node.name!r} is not allowed in a lesson body ('is …')"
    what = _OPERATORS.get(type(node), f"'{type(node).__name__}'")
    return f"{what} is not allowed in a lesson body"


def _filter_problem(node: nodes.Filter) -> str | None:
    if node.name not in TEMPLATE_FILTERS:
        allowed = ", ".join(TEMPLATE_FILTERS)
        return (
            f"the filter {node.name!r} is not allowed in a lesson body; the filters are {allowed}"
        )
    takes = _FILTER_ARGUMENTS.get(node.name, 0)
    if node.kwargs or node.dyn_args or node.dyn_kwargs or len(node.args) > takes:
        shape = "one plain value, like default('there')" if takes else "no arguments"
        return f"the filter {node.name!r} takes {shape} in a lesson body"
    return None


def _dotted(node: nodes.Node) -> str | None:
    """`learner.first_name` for a name and its attributes, None when it starts elsewhere."""
    attributes: list[str] = []
    while isinstance(node, nodes.Getattr):
        attributes.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return ".".join([node.name, *reversed(attributes)])


class _LessonSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox narrowed to the documented variables: no other attribute, item or call."""

    intercepted_binops = frozenset(ImmutableSandboxedEnvironment.default_binop_table)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _Fields) and attribute in obj.values:
            return obj.values[attribute]
        return self.unsafe_undefined(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self.unsafe_undefined(obj, str(argument))

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"{operator!r} is not allowed in a lesson body")

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        return self.undefined(
            f"{attribute!r} is not allowed in a lesson body",
            name=attribute,
            obj=obj,
            exc=SecurityError,
        )


@cache
def _environment() -> _LessonSandbox:
    env = _LessonSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        loader=jinja2.DictLoader({}),  # include/import/extends find nothing
    )
    env.globals.clear()  # range, lipsum, cycler, joiner, namespace, dict
    env.filters = {name: env.filters[name] for name in TEMPLATE_FILTERS}
    env.tests = {}
    return env
