"""Profiles stored a batch at a time, as the time-zone lookup stores what the directory says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.db import Database
from bot.storage.learners import LearnerRepository, ProfileFields

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TEAM, OTHER_TEAM = "T1", "T2"


def _fields(user_id: str, tz: str, *, deactivated: bool = False) -> ProfileFields:
    return ProfileFields(
        user_id=user_id,
        name=f"{user_id.lower()} " + "x" * 300,  # longer than the column: cut as one save cuts
        first_name=user_id.title(),
        tz=tz,
        is_admin=user_id == "UADMIN",
        deactivated=deactivated,
    )


def test_a_batch_is_stored_as_one_save_each_would_store_it(db: Database) -> None:
    """New people, people stored without a profile (a DM channel only), people whose zone is
    known: each stored with the profile, their other columns kept, their previous zone told."""
    learners = LearnerRepository(db)
    learners.set_dm_channel(TEAM, "UCHANNEL", "D1", now=NOW - timedelta(days=3))
    learners.save_profile(
        TEAM, "UKNOWN", name="k", first_name="K", tz="Asia/Tokyo", is_admin=False,
        deactivated=False, now=NOW - timedelta(days=2),
    )  # fmt: skip
    learners.set_snooze(TEAM, "UKNOWN", NOW + timedelta(days=1))
    learners.set_dm_channel(OTHER_TEAM, "UNEW", "D9", now=NOW)  # the same id, another workspace

    batch = [
        _fields("UNEW", "Europe/Berlin"),
        _fields("UKNOWN", "America/New_York"),
        _fields("UCHANNEL", "Europe/Paris"),
        _fields("UADMIN", "UTC", deactivated=True),
    ]
    saved = learners.save_profiles(TEAM, batch, now=NOW)

    assert [(record.user_id, previous) for record, previous in saved] == [
        ("UADMIN", None),
        ("UCHANNEL", None),  # stored, but its zone was never looked up
        ("UKNOWN", "Asia/Tokyo"),
        ("UNEW", None),
    ]
    for (record, _), fields in zip(saved, sorted(batch, key=lambda f: f.user_id), strict=True):
        assert learners.learner(TEAM, fields.user_id) == record
        assert (record.team_id, record.tz, record.tz_checked_at) == (TEAM, fields.tz, NOW)
        assert (record.name, record.first_name) == (fields.name[:200], fields.first_name)
        assert (record.is_admin, record.deactivated) == (fields.is_admin, fields.deactivated)
    by_user = {record.user_id: record for record, _ in saved}
    assert by_user["UCHANNEL"].dm_channel == "D1"
    assert by_user["UKNOWN"].snoozed_until == NOW + timedelta(days=1)
    other = learners.learner(OTHER_TEAM, "UNEW")
    assert other is not None and other.tz_checked_at is None  # the other workspace's untouched

    assert learners.save_profiles(TEAM, [], now=NOW) == []
    again = learners.save_profiles(
        TEAM, [_fields("UNEW", "Asia/Tokyo"), _fields("UNEW", "Asia/Kolkata")], now=NOW
    )
    assert [(r.user_id, r.tz, previous) for r, previous in again] == [
        ("UNEW", "Asia/Kolkata", "Europe/Berlin")  # named twice: the latest counts, once
    ]
