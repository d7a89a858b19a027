"""Prometheus's multiprocess directory, set up before prometheus_client is first imported.

prometheus_client decides at import whether samples live in memory or in files shared by
processes, from PROMETHEUS_MULTIPROC_DIR; gunicorn's workers must use files, so that a scrape
answered by any worker adds up all of them. This module imports no prometheus code.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class MetricsDirError(Exception):
    """The operator's PROMETHEUS_MULTIPROC_DIR cannot be used; the message says why."""


@contextmanager
def multiprocess_dir(environ: MutableMapping[str, str]) -> Iterator[Path]:
    """The operator's directory, emptied of a previous run's files, or a private one made for
    this run and removed after it (by this process only: forked workers leave it alone)."""
    given = environ.get(VARIABLE, "").strip()
    owner = os.getpid()
    if given:
        path = Path(given)
        try:
            path.mkdir(parents=True, exist_ok=True)
            for old in path.glob("*.db"):  # a previous run's samples would be added to ours
                old.unlink()
        except OSError as error:
            raise MetricsDirError(
                f"{VARIABLE}={given} cannot be used ({error.strerror}); point it at a writable "
                "directory of its own, or unset it to let microlearn make one"
            ) from None
        created = False
    else:
        path = Path(tempfile.mkdtemp(prefix="microlearn-metrics-"))
        environ[VARIABLE] = str(path)
        created = True
    try:
        yield path
    finally:
        if created and os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)
            environ.pop(VARIABLE, None)
