"""What the alert tables keep, and for how long: the daily prune (bot/alerts/scheduler.py).

- A subject that ended (trip finished or cancelled, task closed, tracking ended or switched
  off) keeps its subscriptions, status cards, silences, states and watcher snapshot for
  ``ended_grace`` (a late correction still finds its card), then they go, and so does the record
  that it ended. News about it in between brings it back (the pipeline forgets that it ended).
- «Тишина» silences go once they are over; «Принял» acknowledgements (held until the subject
  does something new) go after ``ack_days`` without news.
- Status cards not touched for ``card_days`` go (the next news posts a new card).
- The audit log keeps ``audit_days`` (AUDIT_DAYS, default 365).
- Sent, failed and dropped outbox rows go after ``outbox_days`` (pending rows never).
- History (the digests' and /report's) and the digests' sent-marks keep ``history_days``
  (HISTORY_DAYS, default 90).
- Escalations that ended (taken, cleared, every round done, not escalated) go with their
  copies after ``escalation_days`` (their time to acknowledge is counted until then); open
  ones never.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Database, to_db_time


@dataclass(frozen=True)
class Retention:
    ended_grace: timedelta = timedelta(days=2)
    ack_days: int = 30
    card_days: int = 30
    audit_days: int = 365
    outbox_days: int = 7
    history_days: int = 90
    escalation_days: int = 90


# (what, statement): every statement takes :now, :ended_before, :ack_before, :card_before,
# :audit_before, :outbox_before, :history_before, :escalation_before. Subject-filtered
# subscriptions of an ended subject go; the chat's area-wide and tag subscriptions stay.
_ENDED = "SELECT subject_key FROM ended_subjects WHERE ended_at < :ended_before"
STATEMENTS: tuple[tuple[str, str], ...] = (
    ("subscriptions", f"DELETE FROM subscriptions WHERE filter IN ({_ENDED})"),
    ("status_cards", f"DELETE FROM status_cards WHERE subject_key IN ({_ENDED})"),
    ("silences", f"DELETE FROM subject_silences WHERE subject_key IN ({_ENDED})"),
    ("states", f"DELETE FROM subject_states WHERE subject_key IN ({_ENDED})"),
    (
        "snapshots",
        "DELETE FROM watch_snapshots WHERE EXISTS (SELECT 1 FROM ended_subjects AS e "
        "WHERE e.ended_at < :ended_before AND e.source = watch_snapshots.source "
        "AND e.subject_id = watch_snapshots.subject_id)",
    ),
    ("ended_subjects", "DELETE FROM ended_subjects WHERE ended_at < :ended_before"),
    ("silences", "DELETE FROM subject_silences WHERE kind = '' AND until <= :now"),
    (
        "acks",
        "DELETE FROM subject_silences WHERE kind != '' AND until IS NULL AND since < :ack_before",
    ),
    ("status_cards", "DELETE FROM status_cards WHERE updated_at < :card_before"),
    ("audit", "DELETE FROM audit_log WHERE at < :audit_before"),
    (
        "outbox",
        "DELETE FROM outbox WHERE state IN ('sent', 'failed', 'dropped') "
        "AND created_at < :outbox_before",
    ),
    ("history", "DELETE FROM history WHERE at < :history_before"),
    ("digest_marks", "DELETE FROM digest_marks WHERE claimed_at < :history_before"),
    (
        "escalation_copies",
        "DELETE FROM escalation_copies WHERE escalation_id IN (SELECT id FROM escalations "
        "WHERE state != 'open' AND closed_at < :escalation_before)",
    ),
    (
        "escalations",
        "DELETE FROM escalations WHERE state != 'open' AND closed_at < :escalation_before",
    ),
)


async def prune(db: Database, now: datetime, rules: Retention) -> dict[str, int]:
    """Apply every rule in one transaction; rows removed per table (only those that lost some)."""
    params = {
        "now": to_db_time(now),
        "ended_before": to_db_time(now - rules.ended_grace),
        "ack_before": to_db_time(now - timedelta(days=rules.ack_days)),
        "card_before": to_db_time(now - timedelta(days=rules.card_days)),
        "audit_before": to_db_time(now - timedelta(days=rules.audit_days)),
        "outbox_before": to_db_time(now - timedelta(days=rules.outbox_days)),
        "history_before": to_db_time(now - timedelta(days=rules.history_days)),
        "escalation_before": to_db_time(now - timedelta(days=rules.escalation_days)),
    }
    removed: dict[str, int] = {}
    async with db.transaction() as tx:
        for table, sql in STATEMENTS:
            used = {key: value for key, value in params.items() if f":{key}" in sql}
            result = await tx.execute(sql, used)
            if result.rowcount > 0:
                removed[table] = removed.get(table, 0) + result.rowcount
    return removed
