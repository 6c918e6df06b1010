"""Where webhooks may be sent: https only (unless WEBHOOKS_ALLOW_HTTP or DEBUG), and
never to a loopback, private, link-local or otherwise reserved address (unless
WEBHOOKS_ALLOW_PRIVATE_URLS), checked at registration and again before every
delivery, since DNS answers can change in between."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address`, say `host` (Host header and TLS name)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def http_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_HTTP", False) or settings.DEBUG)


def private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False))


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (tests replace this: no DNS in tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str) -> Target:
    """The address to connect to for `url`, or UnsafeUrl saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Invalid URL: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("The URL must start with https://.")
    if scheme == "http" and not http_allowed():
        raise UnsafeUrl("The URL must use https (http is not allowed).")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL may not contain a user name or password.")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {host} does not resolve.") from exc
    if not addresses:
        raise UnsafeUrl(f"The host {host} does not resolve.")
    if not private_allowed():
        refused = [a for a in addresses if forbidden(a)]
        if refused:
            raise UnsafeUrl(
                f"The host {host} resolves to a private, loopback, link-local or reserved "
                f"address ({refused[0]}): refused."
            )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, address=addresses[0], path=path)
