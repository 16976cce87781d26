"""Every screen writes a phone one way, +7 912 345-67-89, whatever form its service sent."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import handlers  # noqa: F401  (registers every service's alert fields)
from bot.alerts.render import RenderContext, render_alert
from bot.i18n import build_i18n
from handlers.mobiforce.render import render_contractor
from handlers.taximaster.render import OrderView, render_order_card
from integrations.base import Alert, Severity, Subject
from integrations.mobiforce.models import Contractor
from integrations.taximaster.crews import CrewIdentity
from integrations.taximaster.models import OrderState

I18N = build_i18n("ru")
MOSCOW = ZoneInfo("Europe/Moscow")
SHOWN = "+7 912 345-67-89"


def test_a_mobiforce_client_card_shows_its_phones_formatted():
    client = Contractor.model_validate(
        {"id": 5, "name": "ООО «Ромашка»", "phone": [{"id": 1, "name": "8 (912) 345 67 89"}]}
    )
    with I18N.context(), I18N.use_locale("ru"):
        assert SHOWN in render_contractor(client)


def test_a_taxi_order_card_shows_the_driver_phone_formatted():
    view = OrderView(
        state=OrderState(order_id=7, state_kind="driver_assigned", crew_id=2),
        crew=CrewIdentity(2, code="022", driver="Соколов Павел", driver_phone="+79123456789"),
        extras={"phone": "89123456789"},
    )
    with I18N.context(), I18N.use_locale("ru"):
        card = render_order_card(view, MOSCOW)
    assert f"Водитель: {SHOWN}" in card and "022 · Соколов Павел" in card
    assert f"Пассажир: {SHOWN}" in card


def test_alerts_show_a_taxi_driver_phone_and_an_untitled_driver_formatted():
    context = RenderContext(I18N, "ru", MOSCOW)
    taxi = Alert(
        kind="taxi.assigned",
        source="taximaster",
        subject=Subject("order", "7", "Вокзал → Аэропорт"),
        occurred_at=datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
        dedupe_key="t7",
        fields={"driver_phone": "+79123456789"},
    )
    assert f"Телефон водителя: {SHOWN}" in render_alert(taxi, Severity.NORMAL, context).plain
    driver = Alert(
        kind="driver.late",
        source="movizor",
        subject=Subject("driver", "79123456789", ""),
        occurred_at=datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
        dedupe_key="m1",
    )
    assert SHOWN in render_alert(driver, Severity.HIGH, context).plain.splitlines()[1]
