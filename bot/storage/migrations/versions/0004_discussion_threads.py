"""discussion threads

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "discussion_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("drip_id", sa.Integer(), nullable=True),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["drip_id"], ["drip.id"], name=op.f("fk_discussion_thread_drip_id_drip")
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lesson.id"], name=op.f("fk_discussion_thread_lesson_id_lesson")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_thread")),
        sa.UniqueConstraint("team_id", "key", name=op.f("uq_discussion_thread_team_id_key")),
    )
    with op.batch_alter_table("discussion_thread", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discussion_thread_thread_ts"), ["thread_ts"], unique=False
        )

    with op.batch_alter_table("thread_reply", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_thread_reply_thread_id_discussion_thread"),
            "discussion_thread",
            ["thread_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("thread_reply", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_thread_reply_thread_id_discussion_thread"), type_="foreignkey"
        )
        batch_op.drop_column("thread_id")

    with op.batch_alter_table("discussion_thread", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discussion_thread_thread_ts"))

    op.drop_table("discussion_thread")
