"""The delivery tick wired: failures, planner, poster with the shared send rate, drain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.assembly.core import Core
from bot.services.compose import DeliveryComposer
from bot.services.delivery import DeliveryService
from bot.services.digests import DigestService
from bot.services.drain import Drain
from bot.services.failures import FailurePolicy
from bot.services.pacing import Pacer
from bot.services.planner import Planner
from bot.services.posting import Poster
from bot.services.privacy import PrivacyService
from bot.services.profiles import ProfileRefresh
from bot.storage.lookups import LookupLeases
from bot.storage.outbox import Claimed
from bot.storage.plan import PlanRepository
from bot.storage.send_rate import SharedSendRate


def delivery_service(
    core: Core,
    *,
    privacy: PrivacyService,
    digests: DigestService,
    sleep: Callable[[float], None],
) -> DeliveryService:
    settings = core.settings
    senders = {"digest": digests.send}  # outbox kinds that are not messages: a digest uploads
    failures = FailurePolicy(
        outbox=core.outbox,
        enrolments=core.enrolments,
        notices=core.notices,
        catalog=core.catalog,
        clock=core.clock,
        unreported=senders.keys(),
        metrics=core.metrics,
    )
    planner = Planner(
        plans=PlanRepository(core.db),
        repository=core.drips,
        notices=core.notices,
        catalog=core.catalog,
        grace=timedelta(hours=settings.catch_up_grace_hours),
        reviews=core.reviews,
        discussions=core.discussions,
        reminders=core.reminders,
    )
    poster = build_poster(core, failures=failures, senders=senders, sleep=sleep)
    return DeliveryService(
        profiles=ProfileRefresh(
            learners=core.learners,
            enrolments=core.enrolments,
            notices=core.notices,
            people=core.people,
            messenger=core.messenger,
            leases=LookupLeases(core.db),
        ),
        planner=planner,
        drain=Drain(
            outbox=core.outbox,
            planner=planner,
            poster=poster,
            clock=core.clock,
            batch=max(10, min(200, int(settings.send_rate_per_second * 15))),
            threads=settings.posts_in_flight,
            metrics=core.metrics,
        ),
        discussions=core.discussions,
        privacy=privacy,
        steps=(digests.plan,),
    )


def build_poster(
    core: Core,
    *,
    failures: FailurePolicy,
    senders: Mapping[str, Callable[[Claimed], None]],
    sleep: Callable[[float], None],
) -> Poster:
    settings = core.settings
    return Poster(
        outbox=core.outbox,
        learners=core.learners,
        catalog=core.catalog,
        messenger=core.messenger,
        compose=DeliveryComposer(
            catalog=core.catalog, composer=core.composer, discussions=core.discussions
        ),
        failures=failures,
        # One rate per workspace for every process and replica on this database.
        pacer=Pacer(
            rate=settings.send_rate_per_second,
            burst=settings.send_burst,
            shared=SharedSendRate(core.db),
        ),
        clock=core.clock,
        sleep=sleep,
        discussions=core.discussions,
        reminders=core.reminders,
        senders=senders,
        metrics=core.metrics,
    )
