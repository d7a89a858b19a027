"""plan slots: the plan step records one row per due group; deliveries follow in chunks

Also indexes answers by question (poll results) and by message (a channel question's count).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("drip_id", sa.Integer(), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("days", sa.String(length=40), nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_position", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=True),
        sa.Column("new_position", sa.Integer(), nullable=False),
        sa.Column("new_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finish", sa.Boolean(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["drip_id"], ["drip.id"], name=op.f("fk_plan_slot_drip_id_drip")),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lesson.id"], name=op.f("fk_plan_slot_lesson_id_lesson")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_slot")),
        sa.UniqueConstraint(
            "team_id",
            "drip_id",
            "tz",
            "days",
            "at_time",
            "next_due_at",
            "next_position",
            name="uq_plan_slot_group",
        ),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolment_drip_id_tz_next_due_at"),
            ["drip_id", "tz", "next_due_at"],
            unique=False,
        )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_answer_question_id_attempt"), ["question_id", "attempt"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_answer_channel_id_message_ts"),
            ["channel_id", "message_ts"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_channel_id_message_ts"))
        batch_op.drop_index(batch_op.f("ix_answer_question_id_attempt"))
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_drip_id_tz_next_due_at"))
    op.drop_table("plan_slot")
