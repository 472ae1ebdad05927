"""Server test fixtures: tiny real ONNX models (the inference tests' builders), configs, servers, and the
MongoDB path over the real wire protocol (SecantusDB in this process, or $MONGODB_URI when set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.server import ServerProcess, tiny_inference_config
from servers.storage import Database, connect_database
from servers.storage.repositories import new_id

ENGINES = ("montydb", "mongodb")


@pytest.fixture(scope="session")
def inference_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny real ONNX models; threshold 0 so every score alerts (deterministic)."""
    return tiny_inference_config(tmp_path_factory.mktemp("server-models"))


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A mongodb:// URI: $MONGODB_URI (a real MongoDB) when set, else a SecantusDB server started in this
    process on 127.0.0.1 (MongoDB wire protocol over WiredTiger files in a temporary folder)."""
    uri = os.environ.get("MONGODB_URI", "")
    if uri:
        yield uri
        return
    from secantus import SecantusDBServer

    database = SecantusDBServer(storage_path=str(tmp_path_factory.mktemp("secantus")))
    database.start()
    yield database.uri
    database.stop()


def database_values(engine: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Server config fields for `engine`: nothing for the embedded one, a URI and a fresh name for MongoDB."""
    if engine == "montydb":
        return {}
    return {"db_connection_uri": request.getfixturevalue("mongodb_uri"), "db_name": f"test_{new_id()[:12]}"}


@pytest.fixture(scope="module", params=ENGINES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, inference_config: Path
) -> Iterator[ServerProcess]:
    """One running server per test module and database engine (embedded in a temporary folder, or MongoDB
    over the wire)."""
    process = ServerProcess(
        tmp_path_factory.mktemp("server"),
        inference_config=str(inference_config),
        upload_max_size=4.0,
        allowed_stream_schemes=["rtsp", "http", "https"],
        **database_values(request.param, request),
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database of each engine: the embedded one on disk, MongoDB over the wire."""
    if request.param == "mongodb":
        name = f"surveillance_test_{new_id()[:8]}"
        uri = request.getfixturevalue("mongodb_uri")
        db = connect_database(uri, name=name, storage_directory=tmp_path, max_connections=4)
        yield db
        db.drop()
        db.close()
    else:
        db = connect_database("", name="surveillance", storage_directory=tmp_path, max_connections=1)
        yield db
        db.close()
