"""Accounts (`users`): the only code that talks to that collection, the same for MongoDB and montydb."""

from __future__ import annotations

import threading
from typing import Any

import pymongo
from pymongo import ReturnDocument

from servers.storage.database import Database
from servers.storage.repositories import _page, _public, new_id, utc_now


class DuplicateUsername(ValueError):
    """A user with this name exists already."""


class UserRepository:
    """Accounts (`users`); usernames are unique (checked under a lock, and by an index on MongoDB)."""

    COLLECTION = "users"

    def __init__(self, database: Database) -> None:
        self._db = database
        self._create_lock = threading.Lock()

    def ensure_indexes(self) -> None:
        """Unique username index (a no-op on the embedded engine, where create() checks)."""
        self._db.ensure_collection(self.COLLECTION)
        with self._db.access(self.COLLECTION) as users:
            users.create_index([("username", pymongo.ASCENDING)], unique=True)

    def create(self, *, username: str, password_hash: str, role: str) -> dict[str, Any]:
        """Insert a user; DuplicateUsername when the name is taken."""
        document = {
            "_id": new_id(),
            "username": username,
            "password_hash": password_hash,
            "role": role,
            "created_at": utc_now(),
        }
        with self._create_lock, self._db.access(self.COLLECTION) as users:
            if users.find_one({"username": username}) is not None:
                raise DuplicateUsername(f"user '{username}' exists already")
            try:
                users.insert_one(document)
            except pymongo.errors.DuplicateKeyError:
                raise DuplicateUsername(f"user '{username}' exists already") from None
        return _public(document)  # type: ignore[return-value]

    def get(self, user_id: str) -> dict[str, Any] | None:
        """One user or None."""
        with self._db.access(self.COLLECTION) as users:
            return _public(users.find_one({"_id": user_id}))

    def by_username(self, username: str) -> dict[str, Any] | None:
        """The user with this name or None."""
        with self._db.access(self.COLLECTION) as users:
            return _public(users.find_one({"username": username}))

    def list(self, *, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        """A page of users by name, and the total."""
        with self._db.access(self.COLLECTION) as users:
            return _page(users, {}, [("username", pymongo.ASCENDING)], page, page_size)

    def count(self, *, role: str | None = None) -> int:
        """How many users (of a role)."""
        with self._db.access(self.COLLECTION) as users:
            return users.count_documents({"role": role} if role else {})

    def set_password(self, user_id: str, password_hash: str) -> dict[str, Any] | None:
        """Replace a password hash and revoke the user's logins; the updated user, or None."""
        with self._db.access(self.COLLECTION) as users:
            return _public(
                users.find_one_and_update(
                    {"_id": user_id},
                    {"$set": {"password_hash": password_hash}, "$inc": {"session_version": 1}},
                    return_document=ReturnDocument.AFTER,
                )
            )

    def revoke_logins(self, user_id: str) -> dict[str, Any] | None:
        """Revoke every login of the user (raises its login version, `session_version`); the updated user,
        or None."""
        with self._db.access(self.COLLECTION) as users:
            return _public(
                users.find_one_and_update(
                    {"_id": user_id}, {"$inc": {"session_version": 1}}, return_document=ReturnDocument.AFTER
                )
            )

    def delete(self, user_id: str) -> bool:
        """Delete a user; whether it existed."""
        with self._db.access(self.COLLECTION) as users:
            return users.delete_one({"_id": user_id}).deleted_count == 1
