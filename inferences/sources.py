"""Live sources: which strings can be streamed, and how a network source is opened safely.

A network source is opened by FFmpeg, which would otherwise follow HTTP redirects, read HLS/DASH playlists
that point anywhere and resolve the host again after the server checked it. `NetworkPolicy` closes these
holes on every (re)connection: the host is resolved and checked against the denied/allowed networks, a
plain-text source is then opened at the checked address (no second lookup for DNS rebinding to change),
redirects are not followed, only the transport protocols of the URL's scheme are allowed and only demuxers
of live video (no playlists).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from inferences.errors import SurveillanceError


class StreamError(SurveillanceError):
    """A stream source that cannot be opened at all (bad URL, missing file, refused connection)."""


class HostNotAllowed(StreamError):
    """A network source whose host resolves into a denied network."""


@dataclass(frozen=True)
class Source:
    """A parsed source: what to pass to av.open and how to treat it."""

    url: str
    kind: str  # "network" | "file" | "camera"
    format: str | None = None


# The URL schemes of network sources (the one list: the server's config allows a subset of these + file).
NETWORK_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")

# FFmpeg protocols each scheme may use (nested ones included), so a stream cannot pull in file: or others.
SCHEME_PROTOCOLS = {
    "rtsp": "rtsp,rtp,srtp,udp,tcp",
    "rtsps": "rtsps,rtsp,rtp,srtp,udp,tcp,tls",
    "rtmp": "rtmp,tcp",
    "http": "http,tcp",
    "https": "https,http,tcp,tls",
}
# Demuxers of live video; playlists (hls, dash, concat) are left out: they would fetch other URLs.
LIVE_DEMUXERS = "rtsp,mpjpeg,mjpeg,mpegts,flv,live_flv,mov,mp4,matroska,webm,h264,hevc,avi"
TLS_SCHEMES = ("https", "rtsps")


def parse_source(source: str) -> Source:
    """Check a source string; StreamError naming it when it cannot be a stream."""
    if not isinstance(source, str) or not source.strip():
        raise StreamError(f"stream source {source!r}: empty")
    source = source.strip()
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", source)
    if scheme:
        if scheme.group(1).lower() not in NETWORK_SCHEMES:
            raise StreamError(
                f"stream source {source!r}: unsupported scheme {scheme.group(1)!r} "
                f"(use {', '.join(NETWORK_SCHEMES)}, a file path or /dev/videoN)"
            )
        if not source.split("://", 1)[1].split("/", 1)[0]:
            raise StreamError(f"stream source {source!r}: no host")
        return Source(source, "network")
    path = Path(source).expanduser()
    if re.fullmatch(r"/dev/video\d+", source):
        if not path.exists():
            raise StreamError(f"stream source {source!r}: no such camera device")
        return Source(source, "camera", "v4l2")
    if not path.exists():
        raise StreamError(f"stream source {source!r}: file not found")
    if not path.is_file():
        raise StreamError(f"stream source {source!r}: not a file")
    return Source(str(path), "file")


@dataclass(frozen=True)
class NetworkPolicy:
    """Which addresses network sources may reach: denied networks, with allowed exceptions inside them.

    The default denies nothing (a library user opening their own cameras); the server passes its
    `stream-denied-networks` / `stream-allowed-networks`."""

    denied: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    @classmethod
    def from_strings(cls, denied: Sequence[str], allowed: Sequence[str]) -> NetworkPolicy:
        """A policy from network strings (`127.0.0.0/8`, `::1/128`); ValueError names a bad one."""
        return cls(
            tuple(ipaddress.ip_network(network, strict=False) for network in denied),
            tuple(ipaddress.ip_network(network, strict=False) for network in allowed),
        )

    def permits(self, address: str) -> bool:
        """Whether one IP address may be reached."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in self.allowed):
            return True
        return not any(ip in network for network in self.denied)

    def checked_addresses(self, host: str) -> list[str]:
        """The host's addresses, all permitted; StreamError without details when it cannot be resolved or
        any address is denied (the message must not tell a prober which, or why)."""
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            raise StreamError(f"stream host {host!r}: cannot be resolved") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if not addresses or not all(self.permits(address) for address in addresses):
            raise HostNotAllowed(f"stream host {host!r} is not allowed on this server")
        return addresses


def open_arguments(source: Source, policy: NetworkPolicy) -> tuple[str, dict[str, str]]:
    """The URL and FFmpeg options that open `source` under `policy` (StreamError when its host is not
    allowed); files and cameras open as they are."""
    if source.kind != "network":
        return source.url, {}
    parts = urlsplit(source.url)
    scheme = parts.scheme.lower()
    options = {
        "protocol_whitelist": SCHEME_PROTOCOLS[scheme],
        "format_whitelist": LIVE_DEMUXERS,
        "max_redirects": "0",
    }
    if scheme.startswith("rtsp"):
        options["rtsp_transport"] = "tcp"
    host = parts.hostname or ""
    addresses = policy.checked_addresses(host)
    if scheme in TLS_SCHEMES or not policy.denied:
        return source.url, options  # TLS needs the name (certificate, SNI); nothing denied: nothing to pin
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + literal + (f":{parts.port}" if parts.port else "")
    if scheme == "http":
        options["headers"] = f"Host: {host}{f':{parts.port}' if parts.port else ''}\r\n"
    return urlunsplit(parts._replace(netloc=netloc)), options
