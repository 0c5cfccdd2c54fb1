"""CKV_OCA_7: with egress.mode = none, no workspace egress rule accepts a destination outside the private
ranges (RFC 1918) and Alibaba Cloud's own 100.64.0.0/10, on any port."""
from __future__ import annotations

import ipaddress
from typing import Any

from opencode_settings.network import PRIVATE_RANGES

from .base import Rule, rule_ports, sources

# The ranges a VPC may have (the settings' own) and Alibaba Cloud's service range.
INSIDE = (*PRIVATE_RANGES, ipaddress.ip_network("100.64.0.0/10"))


def outside_the_account(cidr: str) -> bool:
    """A destination not within the private ranges; an unresolved reference is not judged."""
    if "${" in cidr:
        return False
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return True
    return not any(network.version == inside.version and network.subnet_of(inside) for inside in INSIDE)  # type: ignore[arg-type]

MARK = "egress=none:"  # how the workspace's rules say egress.mode = none (host.egress_rules' label)


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    if conf.get("policy", "accept") != "accept" or not str(conf.get("description") or "").startswith(MARK):
        return []
    span = rule_ports(conf, "egress")
    if span is None:
        return []
    return [f"egress to {cidr} on ports {span[0]}-{span[1]}" for cidr in sources(conf) if outside_the_account(cidr)]


RULE = Rule(
    id="CKV_OCA_7",
    title="With egress.mode = none, no workspace security group rule accepts a destination outside the private "
          "ranges and Alibaba Cloud's 100.64.0.0/10",
    reason="egress none promises that code never leaves the account; any public destination could carry it out.",
    fix="keep the workspace's outbound to Alibaba Cloud's in-region range and the VPC (firewall.egress_needs), "
        "or choose egress.mode = allowlist",
    resource_types=("alicloud_security_group_rule",),
    violations=violations,
)
