"""Interactive payloads as a forger would send them: built by the driver, changed, signed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from tests.standin import DriverResponse, SlackDriver


@contextmanager
def kept_payloads(driver: SlackDriver) -> Iterator[list[dict[str, Any]]]:
    """The interactive payloads the driver builds meanwhile, kept instead of sent."""
    payloads: list[dict[str, Any]] = []

    def keep(payload: dict[str, Any]) -> DriverResponse:
        payloads.append(payload)
        return DriverResponse(status=200, headers={}, body="")

    driver._interactive = keep  # type: ignore[method-assign]
    try:
        yield payloads
    finally:
        del driver._interactive


def post_signed(driver: SlackDriver, payload: Any) -> DriverResponse:
    """POST an interactive payload, correctly signed, whatever it holds."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {**driver.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    return driver.raw_post(body, headers)
