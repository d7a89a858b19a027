"""accepted requests: signatures of signed HTTP requests acted on, so a replay is refused

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accepted_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accepted_request")),
        sa.UniqueConstraint("signature", name=op.f("uq_accepted_request_signature")),
    )
    with op.batch_alter_table("accepted_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_accepted_request_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("accepted_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accepted_request_expires_at"))
    op.drop_table("accepted_request")
