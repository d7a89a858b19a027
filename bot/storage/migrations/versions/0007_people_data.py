"""people's data: find the answers and completions of a delivery without reading them all

`microlearn forget` deletes a person's deliveries, and the database checks for each one that no
answer or completion still refers to it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index("ix_answer_delivery_id", ["delivery_id"], unique=False)
    with op.batch_alter_table("completion", schema=None) as batch_op:
        batch_op.create_index("ix_completion_delivery_id", ["delivery_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("completion", schema=None) as batch_op:
        batch_op.drop_index("ix_completion_delivery_id")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_delivery_id")
