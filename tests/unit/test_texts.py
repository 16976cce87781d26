import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import CATALOGUE
from bot.i18n import build_i18n, locale_for
from bot.texts import format_ago, format_duration, split_lines, telegram_length

ROOT = Path(__file__).resolve().parents[2]


def test_ru_and_en_have_the_same_keys():
    i18n = build_i18n("ru")
    assert i18n.keys("ru") == i18n.keys("en")


def test_every_text_id_used_in_code_exists():
    i18n = build_i18n("ru")
    keys = i18n.keys("ru")
    used: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        used |= set(re.findall(r'_\("([a-z_]+\.[a-z_.]+)"\)', path.read_text()))
    assert used, "the scan found no text ids at all"
    assert used <= keys, f"missing texts: {sorted(used - keys)}"


def test_every_command_has_a_description_and_usage():
    i18n = build_i18n("ru")
    for locale in ("ru", "en"):
        for spec in CATALOGUE.values():
            assert spec.description_key in i18n.keys(locale)
            assert spec.usage_key in i18n.keys(locale), spec.usage_key


def test_placeholders_agree_between_languages():
    i18n = build_i18n("ru")
    for key in i18n.keys("ru"):
        ru = set(re.findall(r"\{(\w+)\}", i18n.gettext(key, locale="ru")))
        en = set(re.findall(r"\{(\w+)\}", i18n.gettext(key, locale="en")))
        assert ru == en, key


def test_locale_choice():
    assert locale_for("en-US", "ru") == "en"
    assert locale_for("uk", "en") == "ru"
    assert locale_for("de", "ru") == "ru"
    assert locale_for(None, "en") == "en"


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=300)))
def test_split_lines_keeps_every_line_whole_and_under_the_limit(lines):
    chunks = split_lines(lines, limit=500)
    assert all(len(chunk) <= 500 for chunk in chunks)
    assert "\n".join(chunks) == "\n".join(lines) or not any(lines)


def test_split_never_cuts_inside_a_tag():
    lines = [f"<b>Водитель {i}</b> опаздывает на <i>{i} мин</i>" for i in range(400)]
    for chunk in split_lines(lines):
        assert telegram_length(chunk) <= 4096
        assert chunk.count("<b>") == chunk.count("</b>")
        assert chunk.count("<i>") == chunk.count("</i>")


def test_one_length_rule_utf16_after_entity_parsing():
    assert telegram_length("<b>a&amp;b</b>") == 3  # tags and entities are not counted
    assert telegram_length("🚚") == 2  # an emoji is two UTF-16 units
    # 1,500 trucks fit Telegram's 4096 by code points (1,500) but not by its own rule (3,000):
    lines = ["🚚" * 1500] * 2
    assert [telegram_length(chunk) for chunk in split_lines(lines)] == [3000, 3000]
    assert all(telegram_length(c) <= 100 for c in split_lines(["🚚" * 120], limit=100))


@pytest.mark.parametrize(
    ("minutes", "ru", "en"),
    [
        (0, "меньше минуты", "under a minute"),
        (0.5, "меньше минуты", "under a minute"),
        (45, "45 мин", "45 min"),
        (60, "1 ч", "1 h"),
        (120, "2 ч", "2 h"),
        (456, "7 ч 36 мин", "7 h 36 min"),
    ],
)
def test_a_duration_leaves_out_its_zero_parts(minutes, ru, en):
    i18n = build_i18n("ru")
    for locale, expected in (("ru", ru), ("en", en)):
        with i18n.context(), i18n.use_locale(locale):
            assert format_duration(timedelta(minutes=minutes)) == expected


def test_ago_says_just_now_then_the_duration_then_days():
    i18n = build_i18n("ru")
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    with i18n.context(), i18n.use_locale("ru"):
        assert format_ago(now + timedelta(seconds=30), now) == "только что"  # clocks differ
        assert format_ago(now - timedelta(minutes=60), now) == "1 ч назад"
        assert format_ago(now - timedelta(minutes=65), now) == "1 ч 5 мин назад"
        assert format_ago(now - timedelta(days=3), now) == "3 дн. назад"


# Where a name can stand without being declined: at the start of a line (after an emoji), after
# a colon, a dash, a "·" or an opening bracket or quote (bold or not). «Показываю на карте:
# Сидорова А.В.», never «Показываю Сидорова А.В. на карте»: declining arbitrary names would
# need a library not worth having.
NOMINATIVE_SLOT = re.compile(r"(^|\\n|[:«(·]\s*|—\s|^\W*\s|\}\.\s)(<b>)?$")


def test_a_driver_or_person_is_named_where_russian_needs_no_declension():
    i18n = build_i18n("ru")
    named = [(key, "{title}") for key in i18n.keys("ru") if key.startswith("drivers.")]
    named += [(key, "{name}") for key in i18n.keys("ru") if key.startswith("revoke.")]
    wrong = []
    for key, placeholder in named:
        text = i18n.gettext(key, locale="ru")
        for found in re.finditer(re.escape(placeholder), text):
            if not NOMINATIVE_SLOT.search(text[: found.start()]):
                wrong.append(f"{key}: …{text[max(0, found.start() - 25) : found.end()]}")
    assert not wrong, "\n".join(wrong)


# Audit actions whose names the code computes (the scan below sees only literal ones).
COMPUTED_AUDIT_ACTIONS = {
    "movizor.disable",
    "movizor.delete",
    "alerts.subscribe",
    "alerts.unsubscribe",
    "chat.approved",
    "chat.disabled",
    "integration.pause",
    "integration.resume",
    "taximaster.order",
}


def test_every_audit_action_has_its_sentence_in_both_languages():
    i18n = build_i18n("ru")
    recorded = set(COMPUTED_AUDIT_ACTIONS)
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        source = path.read_text()
        recorded |= set(re.findall(r'audit\.record\(\s*[\w.]+,\s*"([a-z_.]+)"', source))
    assert len(recorded) > len(COMPUTED_AUDIT_ACTIONS), "the scan found no literal actions"
    for locale in ("ru", "en"):
        missing = {a for a in recorded if f"audit.{a}" not in i18n.keys(locale)}
        assert not missing, f"{locale}: no sentence for {sorted(missing)}"
