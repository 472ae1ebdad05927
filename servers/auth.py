"""Authentication: argon2 password hashes, the login cookie (Flask's signed `session`), CSRF tokens, roles
and login throttling."""

from __future__ import annotations

import contextlib
import functools
import hmac
import itertools
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import g
from flask import session as login_cookie

from servers.errors import ApiError

ROLES = ("admin", "viewer")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 256
# A few of the most used passwords that pass the other rules (compared case-insensitively).
COMMON_PASSWORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as words
        "password passw0rd password1 password123 qwertyui qwertyuiop qwerty123 iloveyou admin123 "
        "administrator letmein1 welcome1 welcome123 sunshine princess football baseball superman trustno1 "
        "changeme 1q2w3e4r 1qaz2wsx zaq12wsx aa123456 abc12345 12345qwert surveillance"
    ).split()
)
ADMIN_PASSWORD_ENV = "SURVEILLANCE_ADMIN_PASSWORD"
CSRF_HEADER = "X-CSRF-Token"

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash (salted, slow) of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (None = unknown user, still spends the time)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: Any, username: str) -> tuple[str, str] | None:
    """Why `password` is not acceptable for `username` as (rule code, English text), or None: 8-256
    characters, no control characters, not blank, at least 4 different characters, not a run like 12345678
    or abcdefgh, not the username, not one of the most common passwords."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return "password-length", f"must be a string of {PASSWORD_MIN}-{PASSWORD_MAX} characters"
    if any(unicodedata.category(char) == "Cc" for char in password):
        return "password-control", "must not contain control characters"
    if not password.strip():
        return "password-blank", "must not be blank"
    if len(set(password)) < 4:
        return "password-variety", "must have at least 4 different characters"
    steps = {ord(second) - ord(first) for first, second in itertools.pairwise(password.lower())}
    if steps in ({1}, {-1}):
        return "password-run", "must not be a run of consecutive characters"
    if password.casefold() in (username.casefold(), username.casefold()[::-1]):
        return "password-username", "must not be the username"
    if password.casefold() in COMMON_PASSWORDS:
        return "password-common", "is one of the most common passwords"
    return None


def load_secret_key(storage_directory: Path) -> bytes:
    """The cookie-signing key: generated once, kept in `<storage>/secret_key` (mode 600)."""
    path = storage_directory / "secret_key"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    return key


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    """The API shape of a user (no hash)."""
    return {
        "id": user["id"],
        "username": user["username"],
        "role": user["role"],
        "created_at": user["created_at"],
    }


def login_version(user: dict[str, Any]) -> int:
    """The user's login version (stored as `session_version`): raising it (logout, password change) revokes
    every login cookie issued before."""
    return int(user.get("session_version") or 0)


def start_login(user: dict[str, Any]) -> str:
    """Log `user` in on this request's cookie; returns the new CSRF token."""
    login_cookie.clear()
    login_cookie["user_id"] = user["id"]
    login_cookie["session_version"] = login_version(user)
    login_cookie["csrf_token"] = secrets.token_urlsafe(32)
    login_cookie.permanent = True
    return login_cookie["csrf_token"]


def keep_login(user: dict[str, Any]) -> None:
    """Keep this request's cookie logged in after `user`'s login version was raised (their own password
    change revokes their other logins, not this one)."""
    login_cookie["session_version"] = login_version(user)


def end_login() -> None:
    """Log this request's cookie out."""
    login_cookie.clear()


def cookie_user(users: Any) -> dict[str, Any] | None:
    """The user this request's cookie names, or None when it names none, an unknown user, or a login
    revoked since it was issued (its version is older than the user's)."""
    user_id = login_cookie.get("user_id")
    user = users.get(user_id) if isinstance(user_id, str) else None
    if user is None or login_cookie.get("session_version") != login_version(user):
        return None
    return user


def csrf_token() -> str:
    """The CSRF token of this request's login cookie."""
    return login_cookie["csrf_token"]


def csrf_valid(header_value: str | None) -> bool:
    """Whether the request's CSRF header matches the login cookie's token."""
    expected = login_cookie.get("csrf_token")
    return bool(expected and header_value and hmac.compare_digest(expected, header_value))


def current_user() -> dict[str, Any]:
    """The logged-in user of this request (set by the app's before_request hook)."""
    return g.user


def require_role(role: str) -> Callable:
    """Decorator: the view needs a logged-in user of `role` (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.user["role"] != role:
                raise ApiError(403, "forbidden", f"this action needs the '{role}' role")
            return view(*args, **kwargs)

        return wrapped

    return decorator


class LoginThrottle:
    """Exponential backoff per (username, client address) after `free_attempts` failures, and per address
    (any username) after `ADDRESS_FACTOR` times as many. An attempt counts when it starts, so parallel
    guesses are throttled too; a success takes its own attempt back. At most `concurrency` password checks
    (argon2, CPU-bound) run at once, so guessing cannot starve the rest of the API."""

    ADDRESS_FACTOR = 10
    QUEUE_SECONDS = 5.0  # how long a login waits for a password check slot before 503

    def __init__(
        self, *, free_attempts: int, max_delay: float, concurrency: int, capacity: int = 10_000
    ) -> None:
        self._free = free_attempts
        self._max_delay = max_delay
        self._capacity = capacity
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._checks = threading.BoundedSemaphore(concurrency)

    def _keys(self, username: str, address: str) -> tuple[tuple[tuple[str, str], int], ...]:
        """The counters of an attempt with their free attempts: the pair's and the address's (key "")."""
        return ((username, address), self._free), (("", address), self._free * self.ADDRESS_FACTOR)

    def attempt(self, username: str, address: str) -> None:
        """Count an attempt before its password is checked; ApiError 429 (with Retry-After) while the pair
        or the address must wait."""
        with self._lock:
            now = time.monotonic()
            for key, _ in self._keys(username, address):
                wait = self._failures.get(key, (0, 0.0))[1] - now
                if wait > 0:
                    who = f"'{username}'" if key[0] else "this address"
                    raise ApiError(
                        429,
                        "too-many-attempts",
                        f"too many failed logins for {who}; retry in {wait:.0f} s",
                        headers={"Retry-After": str(max(1, round(wait)))},
                        params={"seconds": max(1, round(wait))},
                    )
            if len(self._failures) >= self._capacity:
                self._failures = {key: value for key, value in self._failures.items() if value[1] > now}
            for key, free in self._keys(username, address):
                count = self._failures.get(key, (0, 0.0))[0] + 1
                delay = 0.0 if count <= free else min(self._max_delay, 2.0 ** (count - free - 1))
                self._failures[key] = (count, now + delay)

    def succeeded(self, username: str, address: str) -> None:
        """Forget the pair's failures and take this attempt back from the address's count."""
        with self._lock:
            self._failures.pop((username, address), None)
            count, until = self._failures.get(("", address), (0, 0.0))
            if count > 1:
                self._failures[("", address)] = (count - 1, until)
            else:
                self._failures.pop(("", address), None)

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        """A password check slot; ApiError 503 (with Retry-After) when none frees in QUEUE_SECONDS."""
        if not self._checks.acquire(timeout=self.QUEUE_SECONDS):
            raise ApiError(
                503, "busy", "too many logins at once; retry shortly", headers={"Retry-After": "1"}
            )
        try:
            yield
        finally:
            self._checks.release()
