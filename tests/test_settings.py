"""Settings: MIROX_* variables and flags become one validated, frozen object; nothing is read at import."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_environment():
    """An empty environment gives the production defaults."""
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.port == 8000
    assert settings.idle_timeout == 30 * 60
    assert settings.absolute_lifetime == 12 * 60 * 60
    assert settings.frame_ancestors == ()
    assert settings.resolved_database_url == "sqlite:///data/mirox.sqlite3"
    assert settings.resolved_key_file == Path("data/totp.key")


def test_environment_values_are_converted():
    """Ints, floats, paths and lists are parsed from their text."""
    settings = Settings.from_env(
        {
            "MIROX_PORT": "9100",
            "MIROX_WORKERS": "3",
            "MIROX_IDLE_TIMEOUT": "600.5",
            "MIROX_PASSWORD_MAX_DELAY": "60",
            "MIROX_DATA_DIR": "/var/lib/mirox",
            "MIROX_KEY_FILE": "/etc/mirox/key",
            "MIROX_FRAME_ANCESTORS": "https://portal.example, https://intranet.example  'self'",
            "MIROX_DATABASE_URL": "postgresql://mirox@db/mirox",
            "MIROX_DATABASE_SCHEMA": "mirox",
            "MIROX_ROOT_PATH": "/security",
            "MIROX_ISSUER": "Example Corp",
        }
    )
    assert settings.port == 9100 and isinstance(settings.port, int)
    assert settings.workers == 3
    assert settings.idle_timeout == 600.5
    assert settings.password_max_delay == 60.0 and isinstance(settings.password_max_delay, float)
    assert settings.data_dir == Path("/var/lib/mirox")
    assert settings.key_file == Path("/etc/mirox/key")
    assert settings.resolved_key_file == Path("/etc/mirox/key")
    assert settings.frame_ancestors == ("https://portal.example", "https://intranet.example", "'self'")
    assert settings.resolved_database_url == "postgresql://mirox@db/mirox"
    assert settings.database_schema == "mirox"
    assert settings.root_path == "/security"
    assert settings.issuer == "Example Corp"


def test_empty_variables_count_as_unset():
    """An empty MIROX_* variable keeps the default."""
    assert Settings.from_env({"MIROX_PORT": "", "MIROX_FRAME_ANCESTORS": ""}) == Settings()


def test_other_variables_are_ignored():
    """Only MIROX_<FIELD> names are read."""
    assert Settings.from_env({"PORT": "1", "MIROX_NOT_A_SETTING": "x", "mirox_port": "1"}) == Settings()


def test_flags_override_the_environment():
    """A flag given on the command line wins over the variable; an absent flag (None) does not."""
    environ = {"MIROX_PORT": "9000", "MIROX_HOST": "0.0.0.0"}
    settings = Settings.from_env(environ, port=9100, host=None)
    assert settings.port == 9100
    assert settings.host == "0.0.0.0"


def test_settings_are_frozen():
    """Nothing can change a setting after start-up."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


def test_keys_are_not_shown_in_repr():
    """The encryption keys never appear in logs of the settings object."""
    assert "secret-key-text" not in repr(Settings(totp_keys="secret-key-text"))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MIROX_PORT", "eighty"),
        ("MIROX_PORT", "8000.5"),
        ("MIROX_PORT", "0"),
        ("MIROX_PORT", "70000"),
        ("MIROX_WORKERS", "0"),
        ("MIROX_IDLE_TIMEOUT", "soon"),
        ("MIROX_IDLE_TIMEOUT", "0"),
        ("MIROX_IDLE_TIMEOUT", "nan"),
        ("MIROX_ABSOLUTE_LIFETIME", "-1"),
        ("MIROX_ABSOLUTE_LIFETIME", "inf"),
        ("MIROX_MAX_BODY_BYTES", "0"),
        ("MIROX_HASH_THREADS", "0"),
        ("MIROX_PENDING_SIGNIN_ATTEMPTS", "0"),
        ("MIROX_PASSWORD_FREE_ATTEMPTS", "-1"),
        ("MIROX_PASSWORD_MAX_DELAY", "-5"),
        ("MIROX_SECOND_FACTOR_MAX_DELAY", "-1"),
        ("MIROX_SETUP_TOKEN_TTL", "0"),
        ("MIROX_ARGON2_TIME_COST", "0"),
        ("MIROX_ARGON2_PARALLELISM", "0"),
        ("MIROX_ROOT_PATH", "security"),
        ("MIROX_ROOT_PATH", "/security/"),
        ("MIROX_ALLOWED_HOSTS", "https://security.plant.example"),
        ("MIROX_ALLOWED_HOSTS", "security.plant.example:8443"),
        ("MIROX_ALLOWED_HOSTS", "security.*.example"),
        ("MIROX_ALLOWED_HOSTS", "*"),
        ("MIROX_FORWARD_AUTH_DOMAINS", "https://plant.example"),
        ("MIROX_FORWARD_AUTH_DOMAINS", "*.plant.example"),
        ("MIROX_FORWARD_AUTH_DOMAINS", "plant.example:443"),
        ("MIROX_FORWARD_AUTH_DOMAINS", ".plant.example"),
        ("MIROX_COOKIE_DOMAIN", ".plant.example"),
        ("MIROX_COOKIE_DOMAIN", "Plant.Example"),
    ],
)
def test_invalid_values_name_the_variable(variable, value):
    """A value the app cannot use raises SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_allowed_hosts_are_a_list_of_names():
    """``MIROX_ALLOWED_HOSTS`` takes names and ``*.domain`` patterns, commas or spaces between them."""
    settings = Settings.from_env({"MIROX_ALLOWED_HOSTS": "security.plant.example, *.intranet.example [::1]"})
    assert settings.allowed_hosts == ("security.plant.example", "*.intranet.example", "[::1]")
    assert Settings().allowed_hosts == ()


def test_forward_auth_domains_are_a_list_of_names():
    """``MIROX_FORWARD_AUTH_DOMAINS`` takes domain names, commas or spaces between them; none by default."""
    settings = Settings.from_env({"MIROX_FORWARD_AUTH_DOMAINS": "plant.example, reports.office.example"})
    assert settings.forward_auth_domains == ("plant.example", "reports.office.example")
    assert Settings().forward_auth_domains == () and Settings().cookie_domain == ""


def test_invalid_flag_values_are_refused_too():
    """Flags go through the same validation as variables."""
    with pytest.raises(SettingsError, match="MIROX_PORT"):
        Settings.from_env({}, port=0)


def test_nothing_is_read_at_import():
    """Importing the app's modules reads no setting: a broken variable only matters when settings are built."""
    environment = {**os.environ, "MIROX_PORT": "not a number", "MIROX_DATA_DIR": "/nonexistent/mirox"}
    code = (
        "import server.settings, server.app, server.asgi, server.cli, server.routes, server.store\n"
        "import pathlib; assert not pathlib.Path('/nonexistent/mirox').exists()\n"
        "from server.settings import Settings, SettingsError\n"
        "import os\n"
        "try:\n"
        "    Settings.from_env(os.environ)\n"
        "except SettingsError as exc:\n"
        "    print('refused:', exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "refused: MIROX_PORT" in result.stdout


def test_a_setup_does_not_outlive_the_password_window():
    """Issue 14: an Enable dialog lives no longer than the password window, so it cannot outlast it by more."""
    settings = Settings.from_env({})
    assert settings.enrollment_ttl <= settings.reauth_window
    with pytest.raises(SettingsError, match="MIROX_ENROLLMENT_TTL"):
        Settings.from_env({"MIROX_ENROLLMENT_TTL": "900", "MIROX_REAUTH_WINDOW": "600"})
