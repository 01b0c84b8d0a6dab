"""Who is calling and where COM is reached: forwarded headers from trusted proxies only.

``X-Forwarded-For`` is a header anybody can send. It says where a request came from only when
the connection itself comes from a reverse proxy COM was told to believe
(``COM_TRUSTED_PROXIES``; default: none). :class:`ProxyMiddleware` decides this once per request
and writes the answer into the ASGI scope, so ``request.client`` (the login throttle, the audit
trail, the API-key log) and ``request.base_url`` (absolute links) are right everywhere without
each handler parsing headers.

uvicorn has its own proxy-header handling, on by default for peers at 127.0.0.1, which replaces
the peer address with the forwarded one before COM sees the request. ``com serve`` gives
uvicorn the same trusted list (and turns the handling off when the list is empty); under plain
``uvicorn api.main:create_app --factory`` the replacement is recognised (the "peer" is then one
of the forwarded addresses) and, while COM trusts no proxy, refused: the client is recorded as
:data:`UNKNOWN_CLIENT` rather than as an address the caller chose.

With ``COM_PUBLIC_URL`` set, the scheme and ``Host`` the app sees are those of the public URL,
so links in ``/ogc``, TileJSON and the map's "copy link" never repeat a ``Host`` header an
attacker sent.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from api.middleware import ASGIApp, Receive, Scope, Send

log = logging.getLogger("api")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Client address recorded when a server in front replaced the peer address with a forwarded
#: one that COM does not trust: the real peer is then unknown.
UNKNOWN_CLIENT = "unknown"


def parse_networks(items: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Return the networks of ``COM_TRUSTED_PROXIES`` entries (single addresses are /32, /128)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the IP address of a forwarded entry (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``)."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted(host: str | None, trusted: Sequence[IPNetwork]) -> bool:
    """Return True when ``host`` is an IP address inside one of the ``trusted`` networks."""
    address = _address(host) if host else None
    return address is not None and any(address in net for net in trusted)


def forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Return the ``X-Forwarded-For`` hops of a request, nearest the client first."""
    hops: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            hops += [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
    return hops


def resolve_client(
    peer: str | None, hops: Sequence[str], trusted: Sequence[IPNetwork]
) -> str | None:
    """Return the client address of a request.

    Parameters
    ----------
    peer
        Address of the connection's other end, as the server reports it.
    hops
        ``X-Forwarded-For`` entries, nearest the client first.
    trusted
        Networks of the proxies whose header is believed.

    Returns
    -------
    str or None
        ``peer`` when it is not a trusted proxy; else the last hop (walking back from the peer)
        that is not a trusted proxy. :data:`UNKNOWN_CLIENT` when the server already replaced
        the peer with a forwarded address and COM trusts no proxy.

    Examples
    --------
    >>> nets = parse_networks(["10.0.0.1"])
    >>> resolve_client("10.0.0.1", ["9.9.9.9", "203.0.113.5"], nets)
    '203.0.113.5'
    >>> resolve_client("198.51.100.7", ["9.9.9.9"], nets)
    '198.51.100.7'
    """
    if not hops or peer is None:
        return peer
    if is_trusted(peer, trusted):
        nearest = peer
        for hop in reversed(hops):
            if _address(hop) is None:
                return nearest  # garbage from beyond the proxy: keep the last sure address
            if not is_trusted(hop, trusted):
                return str(_address(hop))
            nearest = hop
        return nearest
    if peer in hops and not trusted:
        # The server (uvicorn trusts 127.0.0.1 by default) put a forwarded address in place of
        # the peer. With a trusted list, com serve gave the server the same list, so its
        # answer stands; without one, the address is the caller's choice.
        return UNKNOWN_CLIENT
    return peer


class ProxyMiddleware:
    """Set the scope's client (and scheme) from trusted proxies, and its host from the public URL.

    Parameters
    ----------
    app
        The ASGI app.
    trusted_proxies
        Addresses or networks whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed.
    public_url
        ``scheme://host[:port]`` users reach COM at, or None to keep the request's own.
    """

    def __init__(
        self, app: ASGIApp, *, trusted_proxies: Iterable[str] = (), public_url: str | None = None
    ) -> None:
        self.app = app
        self.trusted = parse_networks(trusted_proxies)
        self.public = urlsplit(public_url) if public_url else None
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite ``client``, ``scheme`` and ``Host`` of HTTP and WebSocket scopes."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers", ()))
        hops = forwarded_for(headers)
        peer_host, peer_port = scope["client"] if scope.get("client") else (None, 0)
        client = resolve_client(peer_host, hops, self.trusted)
        if client != peer_host:
            scope["client"] = (client, peer_port)
            if client == UNKNOWN_CLIENT and not self._warned:
                self._warned = True
                log.warning(
                    "the server replaced the client address from X-Forwarded-For, which COM "
                    "does not trust: set COM_TRUSTED_PROXIES to the proxy's address, or run "
                    "uvicorn with --no-proxy-headers (com serve does this for you)"
                )
        if self.trusted and is_trusted(peer_host, self.trusted):
            proto = dict(headers).get(b"x-forwarded-proto", b"").decode("latin-1").strip()
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
        if self.public is not None:
            scheme = self.public.scheme
            scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")
            host = self.public.netloc.encode("latin-1")
            scope["headers"] = [(k, v) for k, v in headers if k != b"host"] + [(b"host", host)]
            default_port = 443 if scheme == "https" else 80
            scope["server"] = (self.public.hostname, self.public.port or default_port)
        await self.app(scope, receive, send)
