"""Persistence: SQLite or PostgreSQL (storage/db.py), migrations and one small repository per
table group.

Storage knows nothing of aiogram or Telegram objects: it deals in ids and plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.alert_state import AlertStateRepo
from storage.alert_storms import AlertStormsRepo
from storage.alta import AltaAddsRepo
from storage.audit import AuditRepo
from storage.chats import ChatsRepo
from storage.confirmations import ConfirmationsRepo
from storage.db import Database
from storage.digest_marks import DigestMarksRepo
from storage.drivers import DriversRepo
from storage.escalations import EscalationsRepo
from storage.fsm import FsmRepo
from storage.history import HistoryRepo
from storage.item_owners import ItemOwnersRepo
from storage.live_follows import LiveFollowsRepo
from storage.mobiforce import MobiforceRepo
from storage.mobiforce_creates import MobiforceCreatesRepo
from storage.oncall import OnCallRepo
from storage.outbox import OutboxRepo
from storage.setting_values import SettingValuesRepo
from storage.settings import SettingsRepo
from storage.snapshots import SnapshotsRepo
from storage.subscriptions import SubscriptionsRepo
from storage.taximaster import TaxiMasterCreatesRepo
from storage.users import UsersRepo


@dataclass(frozen=True)
class Repos:
    """The repositories handlers receive as one ``repos`` argument."""

    db: Database
    users: UsersRepo
    chats: ChatsRepo
    audit: AuditRepo
    settings: SettingsRepo
    setting_values: SettingValuesRepo
    confirmations: ConfirmationsRepo
    subscriptions: SubscriptionsRepo
    outbox: OutboxRepo
    alert_state: AlertStateRepo
    alert_storms: AlertStormsRepo
    drivers: DriversRepo
    live_follows: LiveFollowsRepo
    snapshots: SnapshotsRepo
    mobiforce: MobiforceRepo
    mobiforce_creates: MobiforceCreatesRepo
    taximaster: TaxiMasterCreatesRepo
    alta_adds: AltaAddsRepo
    fsm: FsmRepo
    item_owners: ItemOwnersRepo
    history: HistoryRepo
    digest_marks: DigestMarksRepo
    escalations: EscalationsRepo
    oncall: OnCallRepo

    @classmethod
    def on(cls, db: Database) -> Repos:
        return cls(
            db=db,
            users=UsersRepo(db),
            chats=ChatsRepo(db),
            audit=AuditRepo(db),
            settings=SettingsRepo(db),
            setting_values=SettingValuesRepo(db),
            confirmations=ConfirmationsRepo(db),
            subscriptions=SubscriptionsRepo(db),
            outbox=OutboxRepo(db),
            alert_state=AlertStateRepo(db),
            alert_storms=AlertStormsRepo(db),
            drivers=DriversRepo(db),
            live_follows=LiveFollowsRepo(db),
            snapshots=SnapshotsRepo(db),
            mobiforce=MobiforceRepo(db),
            mobiforce_creates=MobiforceCreatesRepo(db),
            taximaster=TaxiMasterCreatesRepo(db),
            alta_adds=AltaAddsRepo(db),
            fsm=FsmRepo(db),
            item_owners=ItemOwnersRepo(db),
            history=HistoryRepo(db),
            digest_marks=DigestMarksRepo(db),
            escalations=EscalationsRepo(db),
            oncall=OnCallRepo(db),
        )
