"""Network addresses: the one loopback check (the server's bind warning, the Host check, the remote-LLM notice)."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: str | None, as_client: bool = False) -> bool:
    """True for addresses other machines cannot reach: 127.0.0.0/8, ::1, localhost (and ``*.localhost``).

    ``0.0.0.0`` and ``::`` listen on every interface, so for a server they are *not*
    loopback. A client connecting to them reaches this machine, so with
    ``as_client=True`` (is this backend URL on this machine?) they count as loopback.
    """
    h = (host or "").strip().strip("[]").lower()
    if not h:
        return False
    if h in LOOPBACK_NAMES or h.endswith(".localhost"):
        return True
    try:
        addr = ipaddress.ip_address(h)
    except ValueError:
        return False
    return addr.is_loopback or (as_client and addr.is_unspecified)
