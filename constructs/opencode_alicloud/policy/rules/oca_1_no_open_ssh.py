"""CKV_OCA_1: no ingress from the whole internet to SSH or to all ports."""
from __future__ import annotations

from typing import Any

from .base import Rule, ingress_ports, is_whole_internet, sources


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    span = ingress_ports(conf)
    if span is None or not (span == (1, 65535) or span[0] <= 22 <= span[1]):
        return []
    return [f"ports {span[0]}-{span[1]} open to {cidr}" for cidr in sources(conf) if is_whole_internet(cidr)]


RULE = Rule(
    id="CKV_OCA_1",
    title="No ingress from 0.0.0.0/0 or ::/0 to port 22 or to all ports",
    reason="SSH and all-port rules open to the whole internet invite brute force and expose every service.",
    fix="list your own address in ssh_cidrs (e.g. 203.0.113.7/32), or leave SSH closed and use the web UI",
    resource_types=("alicloud_security_group_rule",),
    violations=violations,
)
