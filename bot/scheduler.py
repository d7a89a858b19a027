"""The recurring jobs: APScheduler only ticks (with upkeep and time zones beside the tick, so
that sending never waits for them); what is due lives in the database."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

from bot.services.metrics import NO_METRICS, Metrics

log = logging.getLogger(__name__)


class _ExpectedSkips(logging.Filter):
    """A run that finds the previous one still going is skipped, which is how one run at a time
    works here (a kick meanwhile gets its pass right after); APScheduler says so at WARNING,
    once a second for the whole of a long drain. Here it is a DEBUG line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith('Execution of job "%s" skipped: maximum number'):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return _jobs_log.isEnabledFor(logging.DEBUG)


# APScheduler's own lines, under this module's name, without the expected skips.
_jobs_log = logging.getLogger(f"{__name__}.jobs")
_jobs_log.addFilter(_ExpectedSkips())

TICK_JOB_ID = "microlearn-tick"
UPKEEP_JOB_ID = "microlearn-upkeep"
PROFILES_JOB_ID = "microlearn-profiles"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ticker:
    """Calls `tick(now)` every `seconds`, one call at a time, starting at once.

    `clock` gives the tick its `now`; APScheduler itself always runs on the wall clock.
    """

    def __init__(
        self,
        tick: Callable[[datetime], object],
        *,
        seconds: float,
        clock: Clock = utc_now,
        upkeep: Callable[[], object] | None = None,
        upkeep_seconds: float = 5.0,
        profiles: Callable[[datetime], object] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._started: datetime | None = None  # when the latest run began (wall clock)
        self._took = 0.0
        self._tick = tick
        self._clock = clock
        self._seconds = seconds
        self._upkeep = upkeep
        self._upkeep_seconds = upkeep_seconds
        self._profiles = profiles
        self._looking_up = False  # a time-zone lookup is running
        self._look_again = False  # and a kick came meanwhile: one more right after it
        self._scheduler = BackgroundScheduler(timezone=UTC, logger=_jobs_log)
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._stopping = False

    def _run(self) -> None:
        self._started = utc_now()
        began = time.monotonic()
        try:
            self._passes()
        finally:
            self._took = time.monotonic() - began

    def _passes(self) -> None:
        with self._lock:
            self._running = True
            self._again = False
        while True:
            try:
                self._tick(self._clock())
            except Exception:  # one failed tick must not stop the next one
                log.exception("delivery tick failed; the next tick retries")
            with self._lock:
                # A kick during the pass: its work may have been queued after the pass looked
                # (a pass claims what was due when it started), so another pass follows at once.
                if not self._again or self._stopping:
                    self._running = False
                    return
                self._again = False

    def _executed(self, event: JobExecutionEvent) -> None:
        """After each run of the tick (same thread): how long it took, how late it began."""
        if event.job_id != TICK_JOB_ID or self._started is None:
            return
        lag = (self._started - event.scheduled_run_time).total_seconds()
        self._metrics.tick_finished(seconds=self._took, lag=max(0.0, lag))

    def start(self) -> None:
        self._scheduler.add_listener(self._executed, EVENT_JOB_EXECUTED)
        self._every(self._seconds, self._run, TICK_JOB_ID, first=utc_now() + timedelta(seconds=1))
        if self._upkeep is not None:
            self._every(self._upkeep_seconds, self._run_upkeep, UPKEEP_JOB_ID)
        if self._profiles is not None:  # as often as the tick, on a thread of its own
            self._every(self._seconds, self._run_profiles, PROFILES_JOB_ID, first=utc_now())
        self._scheduler.start()

    def _every(
        self, seconds: float, job: Callable[[], None], job_id: str, first: datetime | None = None
    ) -> None:
        """One run at a time; runs missed while busy collapse into one."""
        options: dict[str, object] = {"next_run_time": first} if first is not None else {}
        self._scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            # However late a busy machine gets to it, a run still runs: by default APScheduler
            # drops one more than a second late (a kick among them).
            misfire_grace_time=None,
            **options,
        )

    def _run_upkeep(self) -> None:
        assert self._upkeep is not None
        try:
            self._upkeep()
        except Exception:
            log.exception("database upkeep failed; it runs again shortly")

    def _run_profiles(self) -> None:
        assert self._profiles is not None
        with self._lock:
            self._looking_up, self._look_again = True, False
        while True:
            try:
                self._profiles(self._clock())
            except Exception:
                log.exception("time zone lookup failed; it runs again shortly")
            with self._lock:
                if not self._look_again or self._stopping:
                    self._looking_up = False
                    return
                self._look_again = False

    def kick(self) -> None:
        """Run the tick as soon as possible (new work was queued): now, or right after the
        pass in progress (APScheduler would drop a run asked for while one is running).
        The time-zone lookup runs now too, for the people that work may have brought."""
        with self._lock:
            look_now = self._profiles is not None and not self._looking_up
            self._look_again = self._profiles is not None and self._looking_up
            tick_now = not self._running
            self._again = self._again or self._running
        if not self._scheduler.running:
            return
        if look_now:
            self._scheduler.modify_job(PROFILES_JOB_ID, next_run_time=utc_now())
        if tick_now:
            self._scheduler.modify_job(TICK_JOB_ID, next_run_time=utc_now())

    def next_run_at(self) -> datetime | None:
        job = self._scheduler.get_job(TICK_JOB_ID)
        return None if job is None else job.next_run_time

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
