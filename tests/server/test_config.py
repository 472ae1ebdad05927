"""Server configuration: the shipped file, overrides and errors naming the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.server import write_toml
from inferences.configfile import ConfigFileError
from inferences.paths import REPO_ROOT
from servers.config import DEFAULT_CONFIG_PATH, KNOWN_SCHEMES, ServerConfig, load_server_config


def test_shipped_config_has_every_field() -> None:
    import tomllib

    keys = set(tomllib.loads(DEFAULT_CONFIG_PATH.read_text()))
    fields = {name.replace("_", "-") for name in ServerConfig.model_fields}
    assert keys == fields
    config = load_server_config(DEFAULT_CONFIG_PATH)
    assert config.db_connection_uri == "" and config.allowed_stream_schemes == ("rtsp", "http", "https")
    section = (REPO_ROOT / "docs" / "server.md").read_text()
    missing = [key for key in keys if f"`{key}`" not in section]
    assert not missing, f"docs/server.md does not document {missing}"


def test_environment_variable_points_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml(tmp_path / "other.toml", {"port": 6001, "storage-directory": "relative/store"})
    monkeypatch.setenv("SURVEILLANCE_SERVER_CONFIG", str(path))
    config = load_server_config()
    assert config.port == 6001 and config.storage_directory == REPO_ROOT / "relative/store"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"video-speed": 0}, "video-speed"),
        ({"workers": "two"}, "workers"),
        ({"workers": 1.5}, "workers"),
        ({"db-connection-uri": "postgres://x"}, "db-connection-uri"),
        ({"allowed-stream-schemes": ["gopher"]}, "allowed-stream-schemes"),
        ({"frames-interval": -1}, "frames-interval"),
        ({"no-such-field": 1}, "no-such-field"),
        ({"port": 70000}, "port"),
    ],
)
def test_invalid_values_name_the_field(tmp_path: Path, values: dict, field: str) -> None:
    with pytest.raises(ConfigFileError, match=field):
        load_server_config(write_toml(tmp_path / "bad.toml", values))


def test_cli_reports_bad_config_without_traceback(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "bad.toml", {"workers": 0})
    result = subprocess.run(
        [sys.executable, "-m", "servers", "serve", "--config", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.startswith("error: ")
        and "workers" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_first_start_prints_a_random_admin_password_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from servers.app import create_app

    monkeypatch.delenv("SURVEILLANCE_ADMIN_PASSWORD", raising=False)
    app = create_app(ServerConfig(storage_directory=tmp_path), start_services=False)
    printed = capsys.readouterr().out
    password = printed.split("with password: ", 1)[1].strip()
    assert len(password) >= 12
    login = app.test_client().post("/api/auth/login", json={"username": "admin", "password": password})
    assert login.status_code == 200
    app.extensions["surveillance"].database.close()
    again = create_app(ServerConfig(storage_directory=tmp_path), start_services=False)
    assert "password" not in capsys.readouterr().out
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    again.extensions["surveillance"].database.close()


@pytest.mark.parametrize("scheme", [scheme for scheme in KNOWN_SCHEMES if scheme != "file"])
def test_every_allowed_scheme_is_one_the_engine_opens(scheme: str) -> None:
    from inferences.sources import parse_source

    config = ServerConfig().replace(allowed_stream_schemes=(scheme,))
    assert parse_source(f"{config.allowed_stream_schemes[0]}://127.0.0.1/live").kind == "network"


def test_errors_name_the_file_and_the_nested_field(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "bad.toml", {"notifications": {"mqtt": {"host": "b", "keepalive": 0}}})
    with pytest.raises(ConfigFileError, match=r"bad\.toml: field 'notifications\.mqtt\.keepalive' must be"):
        load_server_config(path)


def test_video_speed_below_the_sampling_rate_stops_the_server(tmp_path: Path) -> None:
    from inferences.config import load_inference_config
    from servers.app import create_app

    sampling = 1 / load_inference_config().prepare_interval  # the engine's default config samples this
    config = ServerConfig(storage_directory=tmp_path / "store", video_speed=sampling / 2)
    with pytest.raises(ConfigFileError, match=r"'video-speed' .* 'prepare-interval'"):
        create_app(config, start_services=False)
    assert not (tmp_path / "store").exists()  # refused before anything is created
    app = create_app(config.replace(video_speed=sampling), start_services=False)  # equal rates are fine
    app.extensions["surveillance"].database.close()
