"""The network and access concern: VPC, who may reach the login and SSH, TLS and the domain."""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import BaseModel, Field, field_validator

from .fields import Cidr, TlsMode, _DOMAIN_RE, _resource_id, matching


# What a VPC's range may be: RFC 1918's. (Alibaba Cloud keeps 100.64.0.0/10 for its own services: the
# metadata service, DNS, the in-region endpoints the egress rules open.)
PRIVATE_RANGES = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


class NetworkSettings(BaseModel):
    """The VPC and vSwitch (new or reused), the EIP, and who may reach HTTPS and SSH."""

    vpc_cidr: Cidr = Field("10.42.0.0/16", description="CIDR of the VPC created when `vpc_id` is unset.")
    vswitch_cidr: Cidr = Field("10.42.1.0/24", description="CIDR of the vSwitch created when `vswitch_id` is unset.")
    web_cidrs: list[Cidr] = Field(
        default_factory=lambda: ["0.0.0.0/0"],
        description="Who may reach HTTPS (443) and HTTP (80, ACME and redirect).",
    )
    ssh_cidrs: list[Cidr] = Field(
        default_factory=list, description="Who may reach SSH (22). Empty: port 22 is closed."
    )
    key_pair_name: str | None = Field(None, description="Existing ECS key pair for SSH.")
    ssh_public_key: str | None = Field(None, description="Public key to register as a new key pair for SSH.")
    vpc_id: str | None = Field(None, description="Reuse this VPC instead of creating one (needs `vswitch_id`).")
    vswitch_id: str | None = Field(None, description="Reuse this vSwitch (in `vpc_id`); its zone is used.")
    eip_allocation_id: str | None = Field(None, description="Reuse this EIP instead of allocating one.")
    eip_bandwidth_mbps: int = Field(100, ge=1, le=500, description="Peak EIP bandwidth (pay by traffic).")
    domain: str | None = Field(
        None, description="Domain for the HTTPS certificate. Unset: <ip-with-dashes>.sslip.io of the EIP."
    )
    tls_mode: TlsMode = Field(
        "acme",
        description="acme: Let's Encrypt; internal: Caddy's own CA; tunnel-only: no public 80/443, SSH tunnel.",
    )

    @field_validator("ssh_cidrs")
    @classmethod
    def _no_open_ssh(cls, value: list[str]) -> list[str]:
        # Judge the union: 0.0.0.0/1 + 128.0.0.0/1 is the whole internet too.
        for version in (4, 6):
            networks = [ipaddress.ip_network(c) for c in value if ipaddress.ip_network(c).version == version]
            if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(networks)):  # type: ignore[arg-type]
                listed = ", ".join(str(n) for n in networks)
                raise ValueError(
                    f"{listed} opens SSH to the whole internet; list your own address, e.g. 203.0.113.7/32, "
                    "or leave ssh_cidrs empty and use the web UI"
                )
        return value

    @field_validator("web_cidrs")
    @classmethod
    def _some_web(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("is empty; list who may reach HTTPS, or set tls_mode = tunnel-only")
        return value

    _key_pair_name = field_validator("key_pair_name")(matching(
        r"[A-Za-z][A-Za-z0-9._:-]{1,127}", "{value!r} is not a valid key pair name (2-128 chars, starting with a letter)"))

    @field_validator("ssh_public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not re.fullmatch(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]{20,}( .*)?$", value):
            raise ValueError("is not an OpenSSH public key line (ssh-ed25519 AAAA... or ssh-rsa AAAA...)")
        return value

    @field_validator("vpc_id", "vswitch_id", "eip_allocation_id")
    @classmethod
    def _existing_id(cls, value: str | None, info: Any) -> str | None:
        return _resource_id(info.field_name, value)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower().rstrip(".")
        if not _DOMAIN_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a domain name such as code.example.com")
        return value


    def network_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.vpc_id and not self.vswitch_id:
            problems.append(("vswitch_id", "is required when vpc_id is set: name a vSwitch in that VPC"))
        if self.vswitch_id and not self.vpc_id:
            problems.append(("vpc_id", "is required when vswitch_id is set: name the vSwitch's VPC"))
        vpc = ipaddress.ip_network(self.vpc_cidr)
        vsw = ipaddress.ip_network(self.vswitch_cidr)
        if not any(vpc.version == net.version and vpc.subnet_of(net) for net in PRIVATE_RANGES):  # type: ignore[arg-type]
            # Checked with a reused VPC too: the egress rules open the host to vpc_cidr.
            problems.append(("vpc_cidr", f"{vpc} is not a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"
                             + ("; with vpc_id, give that VPC's own range" if self.vpc_id else "")))
        if not self.vpc_id and (vsw.version != vpc.version or not vsw.subnet_of(vpc)):  # type: ignore[arg-type]
            problems.append(("vswitch_cidr", f"{vsw} must lie inside vpc_cidr {vpc}"))
        if not self.vpc_id and not 8 <= vpc.prefixlen <= 24:
            problems.append(("vpc_cidr", f"{vpc} must have a prefix length from /8 to /24"))
        if not self.vpc_id and not 16 <= vsw.prefixlen <= 29:
            problems.append(("vswitch_cidr", f"{vsw} must have a prefix length from /16 to /29"))
        if self.key_pair_name and self.ssh_public_key:
            problems.append(("ssh_public_key", "conflicts with key_pair_name: give one of the two"))
        if self.ssh_cidrs and not (self.key_pair_name or self.ssh_public_key):
            problems.append(("ssh_cidrs", "opens SSH but no key is given: set key_pair_name or ssh_public_key"))
        if self.tls_mode == "tunnel-only" and not self.ssh_cidrs:
            problems.append(("tls_mode", "tunnel-only needs SSH: set ssh_cidrs (and a key) to reach the UI"))
        return problems

    @property
    def ssh_open(self) -> bool:
        return bool(self.ssh_cidrs)

    @property
    def web_public(self) -> bool:
        return self.tls_mode != "tunnel-only"
