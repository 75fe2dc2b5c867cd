"""The guard between an endpoint URL and the network (server-side request forgery).

A URL is refused when it is not https:// (production), carries credentials
or odd characters, or when its host resolves to any address that is not on
the public internet: loopback, private, link-local (169.254.169.254, the
instance metadata service), unique-local (fd00:ec2::254), multicast,
reserved, shared (100.64/10)... Local mode allows loopback, so the stack
can be tried against a receiver on 127.0.0.1.

The check runs at creation and again at every delivery; `url_resolve`
returns the address it checked and the sender connects to that address (not
to the name again), so DNS cannot change between check and connect."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from emailhub.errors import EmailhubError

MAX_URL_LENGTH = 2000
# Replaced by the tests: no test resolves a real name.
resolver = socket.getaddrinfo


class UnsafeUrl(EmailhubError):
    code = "unsafe_url"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str         # as written in the URL (the Host header and TLS name)
    port: int
    path: str         # path and query
    address: str      # the checked IP to connect to


def url_parse(url):
    """(scheme, host, port, path) of an acceptable URL, or UnsafeUrl."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"A webhook URL is 1 to {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url) or "\\" in url:
        raise UnsafeUrl("A webhook URL may not contain spaces, control characters or backslashes.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise UnsafeUrl(f"Not a valid URL: {err}.") from err
    allowed = ("https",) if settings.PRODUCTION else ("https", "http")
    if parts.scheme not in allowed:
        raise UnsafeUrl("Webhook URLs must start with https://." if settings.PRODUCTION
                        else "Webhook URLs must start with https:// or http://.")
    if parts.username or parts.password:
        raise UnsafeUrl("A webhook URL may not carry a user name or password.")
    if not parts.hostname or parts.fragment:
        raise UnsafeUrl("A webhook URL needs a host name and no #fragment.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def address_refusal(address):
    """Why `address` may not be called, or None when it may."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback and not settings.PRODUCTION:
        return None  # local mode: a receiver on this machine
    for label, flag in (("loopback", ip.is_loopback), ("link-local or metadata", ip.is_link_local),
                        ("multicast", ip.is_multicast), ("private", ip.is_private),
                        ("reserved", ip.is_reserved or ip.is_unspecified)):
        if flag:
            return f"{address} is a {label} address"
    if not ip.is_global:
        return f"{address} is not a public internet address"
    return None


def url_resolve(url):
    """The Target to connect to for `url`, every address of its host checked."""
    scheme, host, port, path = url_parse(url)
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise UnsafeUrl(f"The host {host!r} cannot be resolved ({err}).") from err
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeUrl(f"The host {host!r} has no address.")
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise UnsafeUrl(f"Refused: {host} resolves to {refusal}.")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
