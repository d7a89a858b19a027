"""completions and review cards

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["question.id"], name=op.f("fk_review_card_question_id_question")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_card")),
        sa.UniqueConstraint(
            "team_id",
            "user_id",
            "question_id",
            name=op.f("uq_review_card_team_id_user_id_question_id"),
        ),
    )
    with op.batch_alter_table("review_card", schema=None) as batch_op:
        batch_op.create_index("ix_review_card_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "completion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_completion_delivery_id_delivery")
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lesson.id"], name=op.f("fk_completion_lesson_id_lesson")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion")),
        sa.UniqueConstraint(
            "team_id", "user_id", "lesson_id", name=op.f("uq_completion_team_id_user_id_lesson_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("completion")
    with op.batch_alter_table("review_card", schema=None) as batch_op:
        batch_op.drop_index("ix_review_card_status_due_at")

    op.drop_table("review_card")
