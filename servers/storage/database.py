"""Database connection: pymongo for `mongodb://` URIs, montydb (sqlite files) when the URI is empty."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pymongo.errors


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached (the API answers 503)."""


# Errors of either engine that mean "the database is not there", not "the request is wrong".
ENGINE_ERRORS: tuple[type[BaseException], ...] = (pymongo.errors.PyMongoError, sqlite3.Error, OSError)


class Database:
    """A named database of either engine plus the locks the embedded engine needs.

    montydb's sqlite storage keeps one connection attribute per client and is not thread-safe, and it
    keeps each collection in its own sqlite file: the embedded engine gets one client and one lock per
    collection (operations on one collection are serialised, different collections run in parallel).
    pymongo is thread-safe: one client, no lock.
    """

    def __init__(self, client_factory: Callable[[], Any], name: str, *, embedded: bool) -> None:
        self._factory = client_factory
        self._name = name
        self.embedded = embedded
        self.client = client_factory()
        self._collections: dict[str, tuple[Any, contextlib.AbstractContextManager[Any]]] = {}
        self._guard = threading.Lock()

    @property
    def engine(self) -> str:
        """'montydb' or 'mongodb'."""
        return "montydb" if self.embedded else "mongodb"

    def _collection(self, name: str) -> tuple[Any, contextlib.AbstractContextManager[Any]]:
        with self._guard:
            if name not in self._collections:
                if self.embedded:
                    client = self.client if not self._collections else self._factory()
                    self._collections[name] = (client[self._name], threading.RLock())
                else:
                    self._collections[name] = (self.client[self._name], contextlib.nullcontext())
            return self._collections[name]

    @contextlib.contextmanager
    def access(self, name: str) -> Iterator[Any]:
        """The collection `name`, used inside its lock; engine errors become DatabaseUnavailable."""
        database, lock = self._collection(name)
        try:
            with lock:
                yield database[name]
        except ENGINE_ERRORS as error:
            raise DatabaseUnavailable(f"database error: {type(error).__name__}: {error}") from error

    def ensure_collection(self, name: str) -> None:
        """Create a collection when missing (montydb fails some operations on collections never written)."""
        if self.embedded:
            database, lock = self._collection(name)
            with lock:
                if name not in database.list_collection_names():
                    database.create_collection(name)

    def ping(self) -> None:
        """Raise DatabaseUnavailable when the database does not answer."""
        if self.embedded:
            with self.access("users") as users:
                users.find_one({"_id": "__ping__"})
        else:
            try:
                self.client.admin.command("ping")
            except ENGINE_ERRORS as error:
                raise DatabaseUnavailable(f"database error: {type(error).__name__}: {error}") from error

    def drop(self) -> None:
        """Drop the whole database (tests and benchmarks on MongoDB)."""
        self.client.drop_database(self._name)

    def close(self) -> None:
        """Close the clients."""
        clients = {id(self.client): self.client}
        clients.update({id(database.client): database.client for database, _ in self._collections.values()})
        for client in clients.values():
            with contextlib.suppress(Exception):
                client.close()


def connect_database(uri: str, *, name: str, storage_directory: Path, max_connections: int) -> Database:
    """Connect to MongoDB when `uri` is given, else open the embedded montydb under `storage_directory`."""
    if uri:
        options = {"serverSelectionTimeoutMS": 3000, "connectTimeoutMS": 3000}  # unless the URI sets them
        options = {key: value for key, value in options.items() if key.lower() not in uri.lower()}
        return Database(
            lambda: pymongo.MongoClient(uri, maxPoolSize=max_connections, tz_aware=False, **options),
            name,
            embedded=False,
        )
    from montydb import MontyClient, set_storage

    path = storage_directory / "database"
    path.mkdir(parents=True, exist_ok=True)
    set_storage(str(path), storage="sqlite", use_bson=False, mongo_version="4.0")
    return Database(lambda: MontyClient(str(path)), name, embedded=True)
