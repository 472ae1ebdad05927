"""Camera credentials stay on the server: `scheme://user:password@host` is shown and logged as
`scheme://***@host` (the stored source keeps them, the engine uses them)."""

from __future__ import annotations

import logging
import re

# The user information of every URL in a text: from `scheme://` up to the last `@` before the path.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")
# Loggers whose records may name a stream source: the inference engine's and the server's.
REDACTED_LOGGERS = ("inferences", "servers", "servers.live", "servers.jobs", "servers.notify")


def redact(text: str) -> str:
    """`text` with the user information of every URL in it replaced by `***`."""
    return _USERINFO.sub(r"\1***@", text)


class RedactingFilter(logging.Filter):
    """Rewrites log records (message and traceback) without URL credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def redact_logs() -> None:
    """Install the RedactingFilter on the loggers that may name a source (once)."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
            logger.addFilter(RedactingFilter())
