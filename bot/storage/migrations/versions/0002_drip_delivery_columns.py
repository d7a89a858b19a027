"""drip delivery columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the new NOT NULL columns of rows that already exist.
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drip_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_drip_id_drip"), "drip", ["drip_id"], ["id"]
        )

    with op.batch_alter_table("drip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tz", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch_op.add_column(
            sa.Column(
                "days", sa.String(length=40), nullable=False, server_default="mon,tue,wed,thu,fri"
            )
        )
        batch_op.add_column(
            sa.Column("at_time", sa.String(length=5), nullable=False, server_default="09:30")
        )
        batch_op.add_column(sa.Column("start_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("learner", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("dm_channel", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("pref_days", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("pref_at", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("learner", schema=None) as batch_op:
        batch_op.drop_column("pref_at")
        batch_op.drop_column("pref_days")
        batch_op.drop_column("dm_channel")
        batch_op.drop_column("is_admin")

    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("start_on")
        batch_op.drop_column("at_time")
        batch_op.drop_column("days")
        batch_op.drop_column("tz")

    with op.batch_alter_table("drip", schema=None) as batch_op:
        batch_op.drop_column("finished_at")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_delivery_drip_id_drip"), type_="foreignkey")
        batch_op.drop_column("payload")
        batch_op.drop_column("parts_sent")
        batch_op.drop_column("drip_id")
