"""Persistence: one set of repositories over pymongo (MongoDB) or montydb (embedded, on disk)."""

from servers.storage.database import Database, DatabaseUnavailable, connect_database
from servers.storage.repositories import LiveSessionRepository, VideoRepository
from servers.storage.users import UserRepository

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "LiveSessionRepository",
    "UserRepository",
    "VideoRepository",
    "connect_database",
]
