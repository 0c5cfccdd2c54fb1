"""Firewall: one security group, one ingress rule per need. Port 4096 is never published. With
egress.mode allowlist or none, outbound is limited too: one accepted rule per need, then a drop of the rest."""
from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from opencode_settings import Settings

from imports.alicloud.security_group_rule import SecurityGroupRule

from .host import EgressNeed, egress_rules, host_egress_needs, in_region_needs, private_security_group, tcp_ingress


@dataclass(frozen=True)
class FirewallProps:
    name: str
    tags: dict[str, str]
    vpc_id: str
    web_cidrs: list[str]
    ssh_cidrs: list[str]
    web_public: bool = True
    egress_mode: str = "open"
    vpc_cidr: str = "10.42.0.0/16"
    model_server_ip: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, tags: dict[str, str], vpc_id: str) -> FirewallProps:
        return cls(name=settings.name, tags=tags, vpc_id=vpc_id, web_cidrs=settings.web_cidrs,
                   ssh_cidrs=settings.ssh_cidrs, web_public=settings.web_public, egress_mode=settings.egress.mode,
                   vpc_cidr=settings.vpc_cidr,
                   model_server_ip=settings.model_server.address() if settings.model_server.enabled else None)


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


def egress_needs(props: FirewallProps) -> list[EgressNeed]:
    """What the workspace host itself needs outbound (the agent's own traffic is the proxy's business).
    Empty with egress.mode = open: the security group's default, all outbound."""
    if props.egress_mode == "open":
        return []
    needs = host_egress_needs(props.model_server_ip)
    if props.egress_mode == "allowlist":
        return needs + [
            EgressNeed("https", "tcp", 443, "0.0.0.0/0", "HTTPS from the host: the image build (Docker Hub, npm), "
                       "Let's Encrypt, the cloud APIs, and the agent's allowlisted names through the proxy"),
            EgressNeed("http", "tcp", 80, "0.0.0.0/0", "HTTP from the host: Debian packages (signed) for the image build"),
        ]
    return needs + in_region_needs() + [  # none: nothing outside Alibaba Cloud's region and this VPC
        EgressNeed("vpc-https", "tcp", 443, props.vpc_cidr, "HTTPS inside the VPC: ACR Enterprise's VPC endpoint"),
    ]


class Firewall(Construct):
    """Exposes `security_group`, `rules` (one per IngressNeed) and `egress` (one per EgressNeed, then the drop)."""

    def __init__(self, scope: Construct, id: str, props: FirewallProps) -> None:
        super().__init__(scope, id)
        self.security_group = private_security_group(
            self, "sg", f"{props.name}-sg", "OpenCode workspace: HTTPS (and SSH when enabled) only", props.vpc_id, props.tags
        )
        self.rules: list[SecurityGroupRule] = [
            tcp_ingress(self, need.key, self.security_group.id, need.port, need.why, cidr=need.cidr)
            for need in ingress_needs(props)
        ]
        needs = egress_needs(props)
        self.egress: list[SecurityGroupRule] = (
            egress_rules(self, self.security_group.id, needs, f"egress={props.egress_mode}") if needs else []
        )
