import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings, masked

ALL_VARS = [
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "ADMIN_IDS",
    "DATABASE_URL",
    "DATABASE_PATH",
    "BOT_TIMEZONE",
    "BOT_LANGUAGE",
    "HTTP_PORT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "MOVIZOR_PROJECT",
    "MOVIZOR_KEY",
    "MOVIZOR_BASE_URL",
    "MOVIZOR_POLL_SECONDS",
    "MOBIFORCE_BASE_URL",
    "MOBIFORCE_API_KEY",
    "MOBIFORCE_POLL_SECONDS",
    "TAXIMASTER_BASE_URL",
    "TAXIMASTER_SECRET",
    "TAXIMASTER_VERIFY_TLS",
    "TAXIMASTER_CA_FILE",
    "TAXIMASTER_POLL_SECONDS",
    "TAXIMASTER_GROUP_TARIFFS",
    "ALTA_BASE_URL",
    "ALTA_LOGIN",
    "ALTA_SA",
    "ALTA_PASSWORD",
    "ALTA_POLL_SECONDS",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_match_the_documented_contract():
    settings = load_settings()
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert str(settings.database_path) == "data/logibot.sqlite3"
    assert settings.database == "sqlite:///data/logibot.sqlite3"  # no DATABASE_URL: the file
    assert settings.bot_timezone == "Europe/Moscow"
    assert settings.bot_language == "ru"
    assert settings.movizor_base_url == "https://movizor.ru/api"
    assert settings.alta_base_url == "https://www.alta.ru/rail_tracking/api_v2.php"
    assert settings.enabled_integrations() == {
        "movizor": False,
        "mobiforce": False,
        "taximaster": False,
        "alta": False,
    }


def test_admin_ids_are_comma_separated(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", "111, 222,333")
    assert load_settings().admin_ids == [111, 222, 333]


def test_a_crew_groups_own_tariff_is_set_as_pairs(monkeypatch):
    assert load_settings().taximaster_group_tariffs == {}
    monkeypatch.setenv("TAXIMASTER_GROUP_TARIFFS", "2:2, 3:5")
    assert load_settings().taximaster_group_tariffs == {2: 2, 3: 5}
    monkeypatch.setenv("TAXIMASTER_GROUP_TARIFFS", "2-2")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "TAXIMASTER_GROUP_TARIFFS" in str(caught.value)


def test_integration_is_on_only_with_its_credentials(monkeypatch):
    monkeypatch.setenv("MOVIZOR_PROJECT", "acme")
    assert not load_settings().movizor_enabled
    monkeypatch.setenv("MOVIZOR_KEY", "k" * 10)
    assert load_settings().movizor_enabled


def test_every_wrong_variable_is_named_at_once(monkeypatch):
    monkeypatch.setenv("HTTP_PORT", "eighty")
    monkeypatch.setenv("BOT_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError) as caught:
        load_settings(require_token=True)
    names = [problem.split(":")[0] for problem in caught.value.problems]
    assert names == ["BOT_TOKEN", "BOT_TIMEZONE", "HTTP_PORT", "LOG_FORMAT"] or set(names) == {
        "BOT_TOKEN",
        "BOT_TIMEZONE",
        "HTTP_PORT",
        "LOG_FORMAT",
    }


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("BOT_TOKEN=123:abc\nADMIN_IDS=5\n")
    settings = load_settings(require_token=True)
    assert settings.admin_ids == [5]


def test_masked_hides_secrets(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN", "123456:SECRET-TOKEN")
    monkeypatch.setenv("MOVIZOR_KEY", "movizor-secret")
    shown = masked(load_settings())
    assert shown["BOT_TOKEN"] == "***"
    values = " ".join(shown.values())
    assert "SECRET-TOKEN" not in values and "movizor-secret" not in values
    assert shown["MOVIZOR_KEY"] == "***"


def test_run_without_token_exits_2_with_a_clear_message(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_only_the_wrong_variables_are_named(monkeypatch):
    """A set BOT_TOKEN is not reported as missing because another variable is wrong."""
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("MOVIZOR_POLL_SECONDS", "2")
    with pytest.raises(ConfigError) as caught:
        load_settings(require_token=True, _env_file=None)
    assert [p.split(":")[0] for p in caught.value.problems] == ["MOVIZOR_POLL_SECONDS"]


def test_database_url_names_sqlite_or_postgresql(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "old.sqlite3"))
    assert load_settings().database == f"sqlite:///{tmp_path}/old.sqlite3"  # as before
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pw@db:5432/logibot")
    assert load_settings().database == "postgresql://bot:pw@db:5432/logibot"
    for wrong in ("mysql://db/x", "db.sqlite3", "sqlite://"):
        monkeypatch.setenv("DATABASE_URL", wrong)
        with pytest.raises(ConfigError) as caught:
            load_settings()
        assert caught.value.problems[0].startswith("DATABASE_URL:")


def test_the_database_password_is_masked_and_redacted(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pa55-word@db:5432/logibot")
    settings = load_settings()
    assert masked(settings)["DATABASE_URL"] == "postgresql://bot:***@db:5432/logibot"
    assert "pa55-word" in settings.secrets()  # the log filter masks it wherever it appears
