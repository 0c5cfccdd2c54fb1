"""Helpers shared by our checkov checks (checkov hands attributes over as one-item lists)."""
from __future__ import annotations

import ipaddress
from typing import Any


def first(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    value = conf.get(key, [default])
    if isinstance(value, list):
        return value[0] if value else default
    return value


def port_span(port_range: str | None) -> tuple[int, int] | None:
    """'22/22' -> (22, 22); '-1/-1' (all ports) -> (1, 65535)."""
    if not port_range or "/" not in str(port_range):
        return None
    low, high = (int(part) for part in str(port_range).split("/", 1))
    if low == -1 and high == -1:
        return 1, 65535
    return low, high


def is_whole_internet(cidr: str | None) -> bool:
    if not cidr or "${" in str(cidr):
        return False
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def sources(conf: dict[str, Any]) -> list[str]:
    return [str(value) for value in (first(conf, "cidr_ip"), first(conf, "ipv6_cidr_ip")) if value]
