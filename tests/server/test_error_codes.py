"""Every error code the server can answer has a translation in both UI languages (the client shows
`errors.<params.reason>`, else `errors.<code>`, else the English message)."""

from __future__ import annotations

import re

import pytest

from inferences.paths import REPO_ROOT
from servers.errors import HTTP_ERROR_CODES

API_ERROR = re.compile(r'ApiError\(\s*\d{3},\s*"([a-z-]+)"')
REASON = re.compile(r'"reason":\s*"([a-z-]+)"')
LOCALES = REPO_ROOT / "clients" / "src" / "locales-review.js"


def server_codes() -> set[str]:
    codes = set(HTTP_ERROR_CODES.values())
    for path in (REPO_ROOT / "servers").rglob("*.py"):
        codes |= set(API_ERROR.findall(path.read_text()))
    return codes


def translated(language: str) -> set[str]:
    """The keys of the `errors` block of one language (`'zh-CN'`, `en`) in the client's locale file."""
    text = LOCALES.read_text()
    start = text.index(f"\n  {language}: {{")
    block = text[text.index("errors: {", start) :]
    block = block[: block.index("\n    },")]
    return {quoted or bare for quoted, bare in re.findall(r"(?:'([a-z-]+)'|\b([a-z]+))\s*:", block)}


@pytest.mark.parametrize("language", ["'zh-CN'", "en"])
def test_every_error_code_is_translated(language: str) -> None:
    assert server_codes() - translated(language) == set()


def test_the_codes_are_found() -> None:
    """The scan itself works: known codes of several modules are among what it finds."""
    assert {"invalid-credentials", "queue-full", "stream-unavailable", "no-frame"} <= server_codes()
    assert {"invalid-field", "clip-recording"} <= translated("en")
