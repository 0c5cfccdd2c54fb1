"""CKV_OCA_2: OpenCode's port is never opened in a security group."""
from __future__ import annotations

from typing import Any

from .base import Rule, ingress_ports

OPENCODE_PORT = 4096


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    span = ingress_ports(conf)
    return [f"ports {span[0]}-{span[1]} include {OPENCODE_PORT}"] if span and span[0] <= OPENCODE_PORT <= span[1] else []


RULE = Rule(
    id="CKV_OCA_2",
    title="Port 4096 (OpenCode) is never opened in a security group",
    reason="OpenCode listens on loopback 4096; only the HTTPS proxy (or an SSH tunnel) may reach it.",
    fix="reach OpenCode through the HTTPS proxy, or with tls_mode = tunnel-only through the SSH tunnel",
    resource_types=("alicloud_security_group_rule",),
    violations=violations,
)
