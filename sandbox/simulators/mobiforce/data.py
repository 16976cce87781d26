"""Believable demo data: a courier and service company in Moscow and around.

Two executors share phones with the Movizor demo drivers (Петров, Смирнова), so the bot can
show where a task's executor is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class DemoField:
    key: str
    name: str
    type_id: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoTemplate:
    name: str
    visit_minutes: int
    props: tuple[tuple[str, bool], ...]  # (field key, required)
    checklist: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class DemoClient:
    name: str
    address: str
    lat: float
    lon: float
    phone: str
    person: str = ""


FIELDS: Final = (
    DemoField("kind", "Тип выезда", "5", ("Плановый", "Срочный", "Гарантийный")),
    DemoField("contact", "Контактное лицо на месте", "1"),
    DemoField("amount", "Сумма к оплате, ₽", "2"),
    DemoField("waybill_photo", "Фото накладной", "6"),
    DemoField("signature", "Подпись клиента получена", "4"),
    DemoField("equipment_photo", "Фото оборудования", "6"),
    DemoField("meter", "Показания счётчика", "2"),
    DemoField("note", "Комментарий исполнителя", "1"),
)

TEMPLATES: Final = (
    DemoTemplate(
        "Доставка груза",
        120,
        props=(("kind", True), ("contact", False)),
        checklist=(("waybill_photo", True), ("signature", True), ("amount", False)),
    ),
    DemoTemplate(
        "Монтаж оборудования",
        180,
        props=(("kind", True),),
        checklist=(("equipment_photo", True), ("meter", True), ("note", False)),
    ),
    DemoTemplate(
        "Забор возврата",
        60,
        props=(),
        checklist=(("waybill_photo", True), ("note", False)),
    ),
)

OPERATORS: Final = (("Александр Смирнов", "79035550101"), ("Ольга Кузнецова", "79035550102"))

EXECUTORS: Final = (
    ("Петров Иван", "79161234501"),
    ("Смирнова Ольга", "79171234505"),
    ("Орлов Дмитрий", "79263330303"),
    ("Морозов Алексей", "79263330404"),
    ("Соколов Игорь", "79263330505"),
    ("Лебедев Никита", "79263330606"),
)

CLIENTS: Final = (
    DemoClient(
        "ООО «Ромашка»",
        "г Москва, Ленинский пр-кт, д 21",
        55.7079,
        37.5889,
        "74951234501",
        "Анна Петровна",
    ),
    DemoClient(
        "ИП Петров Игорь Семенович",
        "г Москва, ул 3-я Тверская-Ямская, д 12 стр 1",
        55.7719,
        37.5963,
        "79161112233",
    ),
    DemoClient(
        "ООО «Вектор Логистик»",
        "г Москва, Варшавское ш, д 125",
        55.6301,
        37.6195,
        "74957654321",
        "Сергей Иванович",
    ),
    DemoClient(
        "АО «Северсталь-Склад»",
        "Московская обл, г Химки, ул Заводская, д 8",
        55.8970,
        37.4297,
        "74959871122",
    ),
    DemoClient(
        "ООО «Гранд Ресторан»",
        "г Москва, ул Большая Дмитровка, д 7/5 стр 1",
        55.7609,
        37.6131,
        "74956667788",
        "Шеф Марат",
    ),
    DemoClient(
        "ТЦ «Рио» (Ленинский)",
        "г Москва, Ленинский пр-кт, д 109/1 к 1",
        55.6594,
        37.5370,
        "74952223344",
    ),
    DemoClient(
        "ООО «ТехноСервис»",
        "г Москва, Огородный проезд, д 5 стр 3",
        55.8124,
        37.6010,
        "74953332211",
    ),
    DemoClient(
        "Клиника «Здоровье+»",
        "г Москва, ул Профсоюзная, д 56",
        55.6703,
        37.5524,
        "74954445566",
        "Регистратура",
    ),
    DemoClient(
        "ЖК «Сердце Столицы», УК",
        "г Москва, Шелепихинская наб, д 34 к 1",
        55.7577,
        37.5189,
        "74955556677",
    ),
    DemoClient(
        "ООО «Подольские Окна»",
        "Московская обл, г Подольск, ул Комсомольская, д 1",
        55.4242,
        37.5547,
        "74967551010",
    ),
    DemoClient(
        "ИП Кузнецова Мария Андреевна",
        "Московская обл, г Мытищи, ул Мира, д 32",
        55.9105,
        37.7364,
        "79267778899",
    ),
    DemoClient(
        "ООО «СтройМаркет»",
        "Московская обл, г Люберцы, Октябрьский пр-кт, д 112",
        55.6849,
        37.8934,
        "74955012233",
    ),
    DemoClient(
        "Пекарня «Хлебница»", "г Москва, ул Покровка, д 17", 55.7593, 37.6469, "74959120011"
    ),
    DemoClient(
        "ООО «АвтоДом Зеленоград»",
        "г Москва, г Зеленоград, Панфиловский пр-кт, д 10",
        55.9825,
        37.1814,
        "74995553311",
    ),
    DemoClient("ООО «Тверь-Агро»", "г Тверь, ул Коминтерна, д 95", 56.8335, 35.8880, "74822334455"),
)

# Tasks at start: (template index, client index, executor index or None, hours from now, state)
# state: "draft", "sent", "accepted", "done".
TASKS: Final = (
    (0, 0, 0, 0.5, "sent"),
    (0, 2, 1, 1.0, "sent"),
    (1, 6, 2, 1.5, "accepted"),
    (2, 4, 3, 2.0, "sent"),
    (0, 8, None, 3.0, "draft"),
    (1, 9, 4, 24.0, "draft"),
    (2, 12, 5, -2.0, "done"),
    (0, 10, 5, 0.2, "sent"),
)
