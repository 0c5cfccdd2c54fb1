"""What every ECS host of ours shares: the system image lookup, an instance role that only ECS
can assume, a closed security group, and the hardening arguments of the instance itself."""
from __future__ import annotations

import json
from typing import Any

from constructs import Construct

from imports.alicloud.data_alicloud_images import DataAlicloudImages
from imports.alicloud.ram_role import RamRole
from imports.alicloud.security_group import SecurityGroup
from imports.alicloud.security_group_rule import SecurityGroupRule

ECS_TRUST_POLICY = {
    "Statement": [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}
    ],
    "Version": "1",
}

# Token-only metadata (and one hop, so containers cannot reach it), encrypted system disk,
# Alibaba's security hardening, pay-as-you-go.
HARDENED_INSTANCE: dict[str, Any] = {
    "instance_charge_type": "PostPaid",
    "system_disk_encrypted": True,
    "security_enhancement_strategy": "Active",
    "http_endpoint": "enabled",
    "http_tokens": "required",
    "http_put_response_hop_limit": 1,
}


def system_image(scope: Construct, id: str, name_regex: str, instance_type: str) -> DataAlicloudImages:
    """The newest public system image matching `name_regex` that `instance_type` can run."""
    return DataAlicloudImages(
        scope, id, name_regex=name_regex, owners="system", most_recent=True, instance_type=instance_type
    )


def instance_role(scope: Construct, id: str, role_name: str, description: str, tags: dict[str, str]) -> RamRole:
    return RamRole(
        scope,
        id,
        role_name=role_name,
        assume_role_policy_document=json.dumps(ECS_TRUST_POLICY, sort_keys=True),
        description=description,
        tags=tags,
    )


def private_security_group(
    scope: Construct, id: str, name: str, description: str, vpc_id: str, tags: dict[str, str]
) -> SecurityGroup:
    """A security group that admits nothing until rules say so, not even its own members."""
    return SecurityGroup(
        scope, id, security_group_name=name, description=description, vpc_id=vpc_id,
        inner_access_policy="Drop", tags=tags,
    )


def tcp_ingress(
    scope: Construct,
    id: str,
    security_group_id: str,
    port: int,
    description: str,
    cidr: str | None = None,
    source_security_group_id: str | None = None,
) -> SecurityGroupRule:
    """One TCP port, admitted from a CIDR (IPv4 or IPv6) or from another security group."""
    ipv6 = cidr is not None and ":" in cidr
    return SecurityGroupRule(
        scope,
        id,
        type="ingress",
        ip_protocol="tcp",
        nic_type="intranet",
        policy="accept",
        port_range=f"{port}/{port}",
        priority=1,
        cidr_ip=None if ipv6 else cidr,
        ipv6_cidr_ip=cidr if ipv6 else None,
        source_security_group_id=source_security_group_id,
        security_group_id=security_group_id,
        description=description,
    )
