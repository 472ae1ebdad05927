"""One-time, idempotent changes of the stored layout, applied before the repositories use the database."""

from __future__ import annotations

import logging
from typing import Any

import pymongo.errors

from servers.storage.database import Database

log = logging.getLogger("servers.storage")

# Collections stored under an earlier name: old name -> current name.
RENAMED_COLLECTIONS: dict[str, str] = {"records": "videos"}  # the uploaded videos

NAMESPACE_NOT_FOUND, NAMESPACE_EXISTS, DUPLICATE_KEY = 26, 48, 11000


def migrate(database: Database) -> None:
    """Bring a database written by an earlier version up to date (a no-op once done; DatabaseUnavailable
    when the database cannot be reached)."""
    for old, new in RENAMED_COLLECTIONS.items():
        moved = rename_collection(database, old, new)
        if moved:
            log.info("database: collection %r renamed to %r (%d documents)", old, new, moved)


def rename_collection(database: Database, old: str, new: str) -> int:
    """Move every document of `old` into `new` and drop `old`; how many documents moved (0: nothing to do).

    MongoDB renames the collection in one step when `new` does not exist. Otherwise (montydb cannot rename;
    an earlier move was interrupted; another server is moving it now) the documents missing from `new` are
    copied first and `old` is dropped only then, so a crash at any point leaves every document in `old`,
    in `new`, or in both, and the next start finishes the move. A document already in `new` is kept as it is.
    """
    with database.access(old) as source, database.access(new) as target:
        names = source.database.list_collection_names()
        if old not in names:
            return 0
        count = source.count_documents({})
        if not database.embedded and new not in names:
            try:
                source.rename(new)
                return count
            except pymongo.errors.OperationFailure as error:
                if error.code not in (NAMESPACE_NOT_FOUND, NAMESPACE_EXISTS):
                    raise  # another server renamed it or created `new` meanwhile: copy what is left
        present = {document["_id"] for document in target.find({}, {"_id": True})}
        missing = [document for document in source.find({}) if document["_id"] not in present]
        if missing:
            _insert_missing(target, missing)
        source.drop()
        return count


def _insert_missing(target: Any, documents: list[dict[str, Any]]) -> None:
    """Insert `documents`; one that another server inserted meanwhile (same id) is not an error."""
    try:
        target.insert_many(documents, ordered=False)
    except pymongo.errors.BulkWriteError as error:
        if any(item.get("code") != DUPLICATE_KEY for item in error.details.get("writeErrors", [])):
            raise
