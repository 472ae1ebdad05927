"""The same API tests with cameras and jobs in the server and on a Ray cluster (MongoDB + GridFS both), and
the configuration that Ray mode refuses."""

from __future__ import annotations

import pytest

from inferences.configfile import ConfigFileError
from servers.config import ServerConfig
from tests.server.test_live import stream, test_live_session_frames_events_alerts  # noqa: F401
from tests.server.test_videos import (  # noqa: F401
    done_record,
    test_cover_and_scores_csv,
    test_result_plays_and_seeks_with_range,
    test_upload_follows_to_done,
)


def test_ray_mode_refuses_the_embedded_database() -> None:
    with pytest.raises(ConfigFileError, match="'ray-address' needs a MongoDB 'db-connection-uri'"):
        ServerConfig().replace(ray_address="127.0.0.1:6379")
    with pytest.raises(ConfigFileError, match="needs 'file-store' = \"gridfs\""):
        ServerConfig().replace(ray_address="127.0.0.1:6379", db_connection_uri="mongodb://127.0.0.1")
    with pytest.raises(ConfigFileError, match="'file-store' = \"gridfs\" needs a MongoDB"):
        ServerConfig().replace(file_store="gridfs")
    with pytest.raises(ConfigFileError, match="'file-store' must be one of disk, gridfs"):
        ServerConfig().replace(file_store="nfs")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--head", "--address", "10.0.0.1:6379"], "give either --head or --address"),
        (
            ["--address", "10.0.0.1:6379", "--node-ip", "127.0.0.1"],
            "--node-ip must be this machine's address",
        ),
        (["--head", "--node-ip", "cluster-host"], "is not an IP address"),
    ],
)
def test_worker_command_refuses_what_ray_would_misbind(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from servers.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["worker", *args])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
