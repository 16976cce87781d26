"""alerts: indexed routing reads, subjects that ended, ages for pruning

(The hand-written SQLite migration 13; an old file at 13 is stamped here.)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Read by ranges ('tag:' <= key < 'tag;'): byte order on PostgreSQL too, whatever the locale.
Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    # A watcher's commit reads the subscriptions, silences and cards of ITS subjects only; a
    # filter as compared (any case, ids without leading zeros) is written by the repository,
    # and rows from before this column are keyed at start (SubscriptionsRepo.key_filters).
    op.add_column("subscriptions", sa.Column("filter_key", Key, nullable=False, server_default=""))
    op.create_index("subscriptions_filter_key", "subscriptions", ["filter_key"])
    op.create_index("subject_silences_subject", "subject_silences", ["subject_key"])
    op.create_index("status_cards_subject", "status_cards", ["subject_key"])
    # the sender's "routine news of this subject went out when?" (one line per window)
    op.create_index("outbox_subject", "outbox", ["chat_id", "thread_id", "subject_key", "state"])
    op.add_column("subject_silences", sa.Column("since", sa.Text()))  # NULL: from before
    op.add_column("status_cards", sa.Column("updated_at", sa.Text()))  # NULL: from before
    # A subject whose last news ended it (trip finished, task closed, tracking ended): its
    # subscriptions, cards, silences and snapshot are pruned a while later.
    op.create_table(
        "ended_subjects",
        sa.Column("subject_key", sa.Text(), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),  # the watcher (its snapshots' source)
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.Text(), nullable=False),
    )
    op.create_index("ended_subjects_at", "ended_subjects", ["ended_at"])


def downgrade() -> None:
    op.drop_table("ended_subjects")
    with op.batch_alter_table("status_cards") as batch:
        batch.drop_index("status_cards_subject")
        batch.drop_column("updated_at")
    with op.batch_alter_table("subject_silences") as batch:
        batch.drop_index("subject_silences_subject")
        batch.drop_column("since")
    op.drop_index("outbox_subject", "outbox")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index("subscriptions_filter_key")
        batch.drop_column("filter_key")
