"""Persistence: one set of repositories over pymongo (MongoDB) or montydb (embedded, on disk)."""

from servers.storage.database import Database, DatabaseUnavailable, connect_database
from servers.storage.repositories import RecordRepository, SessionRepository
from servers.storage.users import UserRepository

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "RecordRepository",
    "SessionRepository",
    "UserRepository",
    "connect_database",
]
