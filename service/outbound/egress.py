"""The egress policy: which URLs the platform may call, decided on the resolved address.

Why on the address and not the name: an allowlisted name can resolve (or be re-pointed by its
owner, or by DNS rebinding) to 127.0.0.1, a private range or the cloud metadata service at
169.254.169.254. So every name is resolved once, every address it resolves to is vetted, and the
caller connects to exactly the vetted address. Non-global addresses pass only when the exact
``host:port`` is allowlisted (the local stack's emulators on 127.0.0.1) or when the operator set
``egress_allow_private`` (unsafe; the suite flags it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from service.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundError(Exception):
    """Base of every failure of an outbound call made through `service.outbound.client`."""


class EgressRefused(OutboundError):
    """The URL (or a redirect hop) is not an approved destination; nothing was sent."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"egress refused for {url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One allowlist entry: ``host``, ``host:port``, ``*.suffix`` or ``*``."""

    text: str
    host: str  # "" for "*", the suffix without "*." for wildcards
    port: int | None
    wildcard: bool

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None:
            port_ok = port == self.port
        else:  # bare "*" means any port; a named host without a port means 80/443
            port_ok = port in DEFAULT_PORTS.values() or (self.wildcard and self.host == "")
        if not port_ok:
            return False
        if not self.wildcard:
            return host == self.host
        return self.host == "" or host.endswith("." + self.host)


@dataclass(frozen=True, slots=True)
class Vetted:
    """A URL that passed the policy, with the one address the caller must connect to."""

    url: httpx.URL
    scheme: str
    host: str
    port: int
    address: IPAddress
    entry: AllowEntry


def parse_entry(text: str) -> AllowEntry:
    raw = text.strip().lower()
    if raw == "*":
        return AllowEntry(text, "", None, True)
    host, port = raw, None
    if raw.startswith("["):  # [::1]:8080
        inside, _, rest = raw[1:].partition("]")
        host = inside
        port = int(rest[1:]) if rest.startswith(":") else None
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
        port = int(port_text)
    if host == "*":
        return AllowEntry(text, "", port, True)
    if host.startswith("*."):
        return AllowEntry(text, host[2:], port, True)
    return AllowEntry(text, host.rstrip("."), port, False)


def is_public(address: IPAddress) -> bool:
    """Global unicast only: loopback, private, link-local (metadata), ULA, CGNAT, multicast,
    unspecified and reserved ranges are all 'not public'. IPv4-mapped IPv6 is judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class EgressPolicy:
    """The allowlist of `Settings`, applied to URLs (see the module docstring)."""

    def __init__(self, entries: list[str], *, allow_private: bool, resolve_timeout_s: float):
        self.entries = [parse_entry(e) for e in entries if e.strip()]
        self.allow_private = allow_private
        self.resolve_timeout_s = resolve_timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls(
            settings.egress_allowlist,
            allow_private=settings.egress_allow_private,
            resolve_timeout_s=settings.outbound_connect_timeout_s,
        )

    def entry_for(self, host: str, port: int) -> AllowEntry | None:
        exact = [e for e in self.entries if not e.wildcard and e.matches(host, port)]
        if exact:
            return exact[0]
        return next((e for e in self.entries if e.matches(host, port)), None)

    async def vet(self, url: httpx.URL | str) -> Vetted:
        """The address to connect to for `url`, or `EgressRefused` (nothing is sent then)."""
        url = httpx.URL(url)
        text = str(url)
        scheme = url.scheme
        if scheme not in DEFAULT_PORTS:
            raise EgressRefused(text, f"scheme {scheme!r} not allowed")
        host = url.raw_host.decode("ascii").lower().rstrip(".")
        if not host:
            raise EgressRefused(text, "no host")
        port = url.port or DEFAULT_PORTS[scheme]
        entry = self.entry_for(host, port)
        if entry is None:
            raise EgressRefused(text, f"{host}:{port} is not on the egress allowlist")
        addresses = await self._resolve(text, host, port)
        private_ok = self.allow_private or not entry.wildcard
        for address in addresses:
            if not is_public(address) and not private_ok:
                raise EgressRefused(text, f"{host} resolves to non-public address {address}")
        return Vetted(url, scheme, host, port, addresses[0], entry)

    async def _resolve(self, text: str, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.resolve_timeout_s):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise EgressRefused(text, f"cannot resolve {host}: {type(exc).__name__}") from exc
        addresses: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise EgressRefused(text, f"{host} resolves to nothing")
        return addresses
