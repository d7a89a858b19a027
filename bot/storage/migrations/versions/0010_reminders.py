"""reminders: follow-ups of unanswered DM lessons, auto-paused enrolments, daily review quotas

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lesson_followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_lesson_followup_delivery_id_delivery")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment.id"],
            name=op.f("fk_lesson_followup_enrolment_id_enrolment"),
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lesson.id"], name=op.f("fk_lesson_followup_lesson_id_lesson")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_followup")),
        sa.UniqueConstraint(
            "team_id", "delivery_id", name=op.f("uq_lesson_followup_team_id_delivery_id")
        ),
    )
    with op.batch_alter_table("lesson_followup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lesson_followup_outcome_next_at", ["outcome", "next_at"], unique=False
        )
        batch_op.create_index("ix_lesson_followup_enrolment_id", ["enrolment_id"], unique=False)
    op.create_table(
        "auto_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("drip_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["drip_id"], ["drip.id"], name=op.f("fk_auto_pause_drip_id_drip")),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_auto_pause_enrolment_id_enrolment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_pause")),
        sa.UniqueConstraint(
            "team_id",
            "enrolment_id",
            "paused_at",
            name=op.f("uq_auto_pause_team_id_enrolment_id_paused_at"),
        ),
    )
    with op.batch_alter_table("auto_pause", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auto_pause_enrolment_id"), ["enrolment_id"], unique=False
        )

    op.create_table(
        "review_quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_quota")),
        sa.UniqueConstraint("team_id", "user_id", name=op.f("uq_review_quota_team_id_user_id")),
    )


def downgrade() -> None:
    op.drop_table("review_quota")
    with op.batch_alter_table("auto_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auto_pause_enrolment_id"))
    op.drop_table("auto_pause")
    with op.batch_alter_table("lesson_followup", schema=None) as batch_op:
        batch_op.drop_index("ix_lesson_followup_enrolment_id")
        batch_op.drop_index("ix_lesson_followup_outcome_next_at")
    op.drop_table("lesson_followup")
