"""CKV_OCA_7: with egress.mode = none, no workspace egress rule accepts the whole internet on 443."""
from __future__ import annotations

from typing import Any

from . import Rule, is_whole_internet, rule_ports, sources

MARK = "egress=none:"  # how the workspace's rules say egress.mode = none (host.egress_rules' label)


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    if conf.get("policy", "accept") != "accept" or not str(conf.get("description") or "").startswith(MARK):
        return []
    span = rule_ports(conf, "egress")
    if span is None or not span[0] <= 443 <= span[1]:
        return []
    return [f"egress to {cidr} on ports {span[0]}-{span[1]}" for cidr in sources(conf) if is_whole_internet(cidr)]


RULE = Rule(
    id="CKV_OCA_7",
    title="With egress.mode = none, no workspace security group rule sends HTTPS to 0.0.0.0/0 or ::/0",
    reason="egress none promises that code never leaves the account; an open 443 would carry it anywhere.",
    fix="keep the workspace's outbound to Alibaba Cloud's in-region range and the VPC (firewall.egress_needs), "
        "or choose egress.mode = allowlist",
    resource_types=("alicloud_security_group_rule",),
    violations=violations,
)
