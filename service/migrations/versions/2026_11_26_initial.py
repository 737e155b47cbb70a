"""Initial schema: the board, sealed keys, the registrar, pending lobby applications.

Revision ID: a53bd536f26d
Revises:
Create Date: 2026-11-26 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a53bd536f26d"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "leaves",
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("sth_sig", sa.LargeBinary(length=64), nullable=False),
        sa.PrimaryKeyConstraint("index", name=op.f("pk_leaves")),
        sa.UniqueConstraint("leaf_hash", name=op.f("uq_leaves_leaf_hash")),
    )
    op.create_index(op.f("ix_leaves_record_type"), "leaves", ["record_type"], unique=False)
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_merkle_nodes")),
    )
    op.create_table(
        "sealed_keys",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sealed_keys")),
    )
    op.create_table(
        "roll_entries",
        sa.Column("assembly_id", sa.String(length=64), nullable=False),
        sa.Column("ref_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", "ref_hash", name=op.f("pk_roll_entries")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_roll_entries_code_hash")),
    )
    op.create_table(
        "credentials",
        sa.Column("assembly_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("blinded_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("blind_sig", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", "code_hash", name=op.f("pk_credentials")),
    )
    op.create_table(
        "assembly_counters",
        sa.Column("assembly_id", sa.String(length=64), nullable=False),
        sa.Column("roll_size", sa.BigInteger(), nullable=False),
        sa.Column("credentials_issued", sa.BigInteger(), nullable=False),
        sa.Column("purged", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", name=op.f("pk_assembly_counters")),
    )
    op.create_table(
        "lobby_applications",
        sa.Column("lobby_id", sa.String(length=64), nullable=False),
        sa.Column("lobby_key", sa.String(length=64), nullable=False),
        sa.Column("declaration", sa.Text(), nullable=False),
        sa.Column("sig", sa.String(length=128), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("lobby_id", name=op.f("pk_lobby_applications")),
    )


def downgrade() -> None:
    op.drop_table("lobby_applications")
    op.drop_table("assembly_counters")
    op.drop_table("credentials")
    op.drop_table("roll_entries")
    op.drop_table("sealed_keys")
    op.drop_table("merkle_nodes")
    op.drop_index(op.f("ix_leaves_record_type"), table_name="leaves")
    op.drop_table("leaves")
