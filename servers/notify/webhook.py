"""The webhook target: each event POSTed as JSON to one URL, signed with HMAC-SHA256 when a shared
secret is configured. Redirects are not followed (a 3xx is a failed delivery)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from servers.notify.channel import DeliveryError, Notification

EVENT_HEADER = "X-Surveillance-Event"
DELIVERY_HEADER = "X-Surveillance-Delivery"
SIGNATURE_HEADER = "X-Surveillance-Signature"


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookTarget:
    """POSTs events to one URL; `name` shows only its scheme, host and port (paths and user information
    of webhook URLs often hold tokens)."""

    def __init__(self, url: str, secret: str) -> None:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        self.name = f"webhook {parts.scheme}://{parts.hostname}{port}"
        self._url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        self._authorization = ""  # user information in the URL is sent as HTTP basic authentication
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        self._secret = secret
        self._opener = urllib.request.build_opener(_NoRedirect)

    def deliver(self, notification: Notification, timeout: float) -> None:
        """POST one event; any 2xx answer is a delivery."""
        body = json.dumps(notification.payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "surveillance-notify/1",
            EVENT_HEADER: notification.kind,
            DELIVERY_HEADER: notification.delivery_id,
        }
        if self._authorization:
            headers["Authorization"] = self._authorization
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read(65536)
        except urllib.error.HTTPError as error:
            raise DeliveryError(f"the receiver answered HTTP {error.code}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise DeliveryError(f"cannot reach the receiver: {reason}") from None

    def close(self) -> None:
        """Nothing stays open between deliveries."""
