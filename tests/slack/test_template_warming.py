"""A process about to fork its Socket Mode processes compiles the message templates first."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from bot.slack import render


def test_warmed_templates_are_never_loaded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    render._templates.cache_clear()
    render.warm_templates()
    loaded: list[str] = []

    def get_source(_loader: Any, _env: Any, name: str) -> Any:
        loaded.append(name)
        raise AssertionError(f"{name} loaded after warming")

    monkeypatch.setattr(jinja2.FileSystemLoader, "get_source", get_source)
    env = render._templates()
    names = env.list_templates()
    assert names  # the shipped templates
    for name in names:
        env.get_template(name)
    assert loaded == []
