"""Firewall: one security group, one ingress rule per need. Port 4096 is never published."""
from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from opencode_settings import Settings

from imports.alicloud.security_group_rule import SecurityGroupRule

from .host import private_security_group, tcp_ingress


@dataclass(frozen=True)
class FirewallProps:
    name: str
    tags: dict[str, str]
    vpc_id: str
    web_cidrs: list[str]
    ssh_cidrs: list[str]
    web_public: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, tags: dict[str, str], vpc_id: str) -> FirewallProps:
        return cls(name=settings.name, tags=tags, vpc_id=vpc_id, web_cidrs=settings.web_cidrs,
                   ssh_cidrs=settings.ssh_cidrs, web_public=settings.web_public)


@dataclass(frozen=True)
class IngressNeed:
    key: str
    port: int
    cidr: str
    why: str


def ingress_needs(props: FirewallProps) -> list[IngressNeed]:
    """What must be reachable, and from where. Pure, so tests can check it without synth."""
    needs: list[IngressNeed] = []
    if props.web_public:
        for index, cidr in enumerate(props.web_cidrs):
            needs.append(IngressNeed(f"https-{index}", 443, cidr, "HTTPS to the OpenCode login"))
            needs.append(IngressNeed(f"http-{index}", 80, cidr, "ACME HTTP-01 and redirect to HTTPS"))
    for index, cidr in enumerate(props.ssh_cidrs):
        needs.append(IngressNeed(f"ssh-{index}", 22, cidr, "SSH for administration and tunnels"))
    return needs


class Firewall(Construct):
    """Exposes `security_group` and `rules` (one per IngressNeed)."""

    def __init__(self, scope: Construct, id: str, props: FirewallProps) -> None:
        super().__init__(scope, id)
        self.security_group = private_security_group(
            self, "sg", f"{props.name}-sg", "OpenCode workspace: HTTPS (and SSH when enabled) only", props.vpc_id, props.tags
        )
        self.rules: list[SecurityGroupRule] = [
            tcp_ingress(self, need.key, self.security_group.id, need.port, need.why, cidr=need.cidr)
            for need in ingress_needs(props)
        ]
