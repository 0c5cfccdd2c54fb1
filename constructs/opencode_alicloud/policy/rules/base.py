"""What every rule is made of: the Rule record, and the port and address helpers the network rules share."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    reason: str
    fix: str
    resource_types: tuple[str, ...]
    violations: Callable[[str, dict[str, Any]], list[str]]  # (resource type, config) -> what is wrong


def port_span(port_range: Any) -> tuple[int, int] | None:
    """'22/22' -> (22, 22); '-1/-1' (all ports) -> (1, 65535)."""
    if not port_range or "/" not in str(port_range):
        return None
    low, high = (int(part) for part in str(port_range).split("/", 1))
    if low == -1 and high == -1:
        return 1, 65535
    return low, high


def rule_ports(conf: dict[str, Any], direction: str) -> tuple[int, int] | None:
    """The port span a security group rule of `direction` (ingress, egress) covers (all ports for protocol
    `all`); None for a rule of the other direction."""
    if conf.get("type") != direction:
        return None
    if str(conf.get("ip_protocol", "")).lower() == "all":
        return 1, 65535
    return port_span(conf.get("port_range"))


def ingress_ports(conf: dict[str, Any]) -> tuple[int, int] | None:
    """The port span an ingress rule opens; None for egress."""
    return rule_ports(conf, "ingress")


def is_whole_internet(cidr: Any) -> bool:
    if not cidr or "${" in str(cidr):
        return False
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def sources(conf: dict[str, Any]) -> list[str]:
    return [str(value) for value in (conf.get("cidr_ip"), conf.get("ipv6_cidr_ip")) if value]
