"""Reading a server-sent event stream (the API's `/events`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import requests


def sse_events(response: requests.Response) -> Iterator[tuple[str, dict]]:
    """(event name, data) pairs of a text/event-stream response."""
    name, data = None, []
    for line in response.iter_lines(decode_unicode=True):
        if line is None:
            continue
        if line == "":
            if name and data:
                yield name, json.loads("\n".join(data))
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
