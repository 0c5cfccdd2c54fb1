"""What every ECS host of ours shares: the system image lookup, an instance role that only ECS
can assume, a closed security group, and the hardening arguments of the instance itself."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cdktf import DataResource, Fn, Postcondition, TerraformResourceLifecycle, Token
from constructs import Construct

from imports.alicloud.data_alicloud_images import DataAlicloudImages
from imports.alicloud.data_alicloud_instance_types import DataAlicloudInstanceTypes
from imports.alicloud.data_alicloud_ram_roles import DataAlicloudRamRoles
from imports.alicloud.ecs_ram_role_attachment import EcsRamRoleAttachment
from imports.alicloud.instance import Instance
from imports.alicloud.ram_policy import RamPolicy
from imports.alicloud.ram_role import RamRole
from imports.alicloud.ram_role_policy_attachment import RamRolePolicyAttachment
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


def baked_image(scope: Construct, id: str, name_regex: str, image_name: str, instance_type: str) -> DataAlicloudImages:
    """The newest image this account baked with the recipe (`name_regex`: Image Builder names it
    `<image_name>_<execution id>`). None yet (never baked, or still baking): the plan stops with one line that
    says what to run, before any resource changes (a postcondition is checked as the lookup is read)."""
    return DataAlicloudImages(
        scope, id, name_regex=name_regex, owners="self", most_recent=True, instance_type=instance_type,
        lifecycle=TerraformResourceLifecycle(postcondition=[Postcondition(
            condition="${length(self.ids) > 0}",
            error_message=f"image_source = baked: no image {image_name} in this region yet (none baked, or the bake is "
                          "still running): run `opencode-alicloud image bake`, or set image_source = \"public\"",
        )]),
    )


def instance_zones(scope: Construct, id: str, instance_type: str, system_disk_category: str) -> DataAlicloudInstanceTypes:
    """Where `instance_type` can be created with a `system_disk_category` system disk, in a VPC.

    `alicloud_instance_types` is the lookup that knows every category the settings allow
    (cloud_essd_entry and cloud_auto included); `alicloud_zones`' disk filter does not. The
    answer's `instance_types[0].availability_zones` lists the zones; see `first_zone`."""
    return DataAlicloudInstanceTypes(
        scope,
        id,
        instance_type=instance_type,
        system_disk_category=system_disk_category,
        network_type="Vpc",
        instance_charge_type="PostPaid",
    )


def first_zone(lookup: DataAlicloudInstanceTypes) -> str:
    """The first zone of an `instance_zones` answer (a token)."""
    return Fn.element(lookup.instance_types.get(0).availability_zones, 0)


@dataclass(frozen=True)
class UserData:
    """An instance's user-data: `version`, a `terraform_data` holding the rendered cloud-config (its
    `triggers_replace.user_data`); `lifecycle`, which replaces the instance when that changes; and `value`
    for the instance's `user_data`: the same text gzip-compressed and base64-encoded by Terraform."""

    version: DataResource
    lifecycle: TerraformResourceLifecycle
    value: str


def gzipped_user_data(scope: Construct, id: str, user_data: str) -> UserData:
    """The rendered user-data, kept once in a `terraform_data` and sent gzip-compressed.

    cloud-init runs the bootstrap once per instance, and the provider updates `user_data` in place (a
    reboot that upgrades nothing): the instance is `replace_triggered_by` the `terraform_data`. Disks and the
    EIP are separate resources and stay. Terraform's base64gzip makes the value; the provider passes a
    base64 value through as it is (resource_alicloud_instance.go), ECS hands the instance the gzip, and
    cloud-init decompresses it: ECS's 16 KB apply to the gzip."""
    version = DataResource(scope, id, triggers_replace={"user_data": user_data})
    # Terraform's JSON syntax wants the bare address here, not a "${...}" template.
    lifecycle = TerraformResourceLifecycle(replace_triggered_by=[f"terraform_data.{version.friendly_unique_id}"])
    value = Fn.base64gzip(Token.as_string(version.interpolation_for_attribute("triggers_replace.user_data")))
    return UserData(version, lifecycle, value)


def attach_role(scope: Construct, id: str, role_name: str, instance: Instance) -> EcsRamRoleAttachment:
    """The instance role (made by the administrator's stack opencode-roles), attached after the instance exists
    (`role_name` on the instance is deprecated since provider 1.275.0). The bootstrap's secret reader waits for it."""
    return EcsRamRoleAttachment(scope, id, ram_role_name=role_name, instance_id=instance.id)


def required_roles(scope: Construct, id: str, role_names: list[str]) -> DataAlicloudRamRoles:
    """The RAM roles this workspace's hosts run with, which an administrator makes (stack opencode-roles; the
    deployer may only pass them). One missing: the plan stops with one line that says what to run, before any
    resource changes (a postcondition is checked as the lookup is read)."""
    pattern = "^(" + "|".join(re.escape(name) for name in role_names) + ")$"
    return DataAlicloudRamRoles(
        scope, id, name_regex=pattern,
        lifecycle=TerraformResourceLifecycle(postcondition=[Postcondition(
            condition=f"${{length(self.names) == {len(role_names)}}}",
            error_message=f"the RAM roles {', '.join(role_names)} must exist first: an administrator applies the stack "
                          "opencode-roles (`cdktf deploy opencode-roles`; `opencode-alicloud up` does it for a single "
                          "workspace)",
        )]),
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


def role_policy(
    scope: Construct, ids: tuple[str, str], role_name: str, policy_name: str, description: str, document: dict,
    tags: dict[str, str],
) -> tuple[RamPolicy, RamRolePolicyAttachment]:
    """A custom RAM policy (`document`) and its attachment to `role_name`; `ids` are their construct ids."""
    policy = RamPolicy(scope, ids[0], policy_name=policy_name, description=description,
                       policy_document=json.dumps(document, sort_keys=True), tags=tags)
    attachment = RamRolePolicyAttachment(scope, ids[1], policy_name=policy.policy_name, policy_type="Custom",
                                         role_name=role_name)
    return policy, attachment


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


# Alibaba Cloud's in-region services (the resolvers, NTP, the distribution mirror, the VPC endpoints of
# the APIs and of ACR Personal Edition) answer from this range inside a VPC.
ALIBABA_SERVICES = "100.64.0.0/10"
DNS_RESOLVERS = ("100.100.2.136/32", "100.100.2.138/32")  # Alibaba Cloud's DNS in every VPC


@dataclass(frozen=True)
class EgressNeed:
    """One outbound rule: `protocol` tcp/udp/all, `ports` like 443 or None (all), to `cidr`, and why."""

    key: str
    protocol: str
    ports: int | None
    cidr: str
    why: str


def host_egress_needs(model_server_ip: str | None) -> list[EgressNeed]:
    """What every controlled host needs outbound whatever it runs: names, time, the private model."""
    needs = [EgressNeed(f"dns-{index}", "udp", 53, cidr, "DNS: Alibaba Cloud's resolvers in the VPC")
             for index, cidr in enumerate(DNS_RESOLVERS)]
    needs.append(EgressNeed("ntp", "udp", 123, ALIBABA_SERVICES, "time: Alibaba Cloud's NTP servers in the region"))
    if model_server_ip:
        needs.append(EgressNeed("model-server", "tcp", 8000, f"{model_server_ip}/32", "the private model server (vLLM)"))
    return needs


def in_region_needs() -> list[EgressNeed]:
    """Alibaba Cloud in the region, for a host kept off the internet: the APIs' and ACR's VPC endpoints, the mirror."""
    return [
        EgressNeed("cloud-https", "tcp", 443, ALIBABA_SERVICES, "HTTPS to Alibaba Cloud in the region: the APIs' VPC "
                   "endpoints (OOS, ECS) and ACR Personal Edition's"),
        EgressNeed("cloud-http", "tcp", 80, ALIBABA_SERVICES, "HTTP to the distribution mirror in the region "
                   "(mirrors.cloud.aliyuncs.com)"),
    ]


def egress_rules(scope: Construct, security_group_id: str, needs: list[EgressNeed], label: str) -> list[SecurityGroupRule]:
    """The accepted outbound rules (priority 1) and, last, a drop of everything else (priority 100, the
    lowest: a basic security group allows all outbound until told otherwise). Each description starts with
    `<label>:`; the workspace's label is `egress=<mode>`, which the policy check CKV_OCA_7 reads."""
    rules = [
        SecurityGroupRule(
            scope, f"egress-{need.key}", type="egress", ip_protocol=need.protocol, nic_type="intranet",
            policy="accept", priority=1, port_range=f"{need.ports}/{need.ports}" if need.ports else "-1/-1",
            cidr_ip=need.cidr, security_group_id=security_group_id, description=f"{label}: {need.why}",
        )
        for need in needs
    ]
    for key, cidr in (("drop-rest", "0.0.0.0/0"), ("drop-rest-ipv6", "::/0")):
        rules.append(SecurityGroupRule(
            scope, f"egress-{key}", type="egress", ip_protocol="all", nic_type="intranet", policy="drop",
            priority=100, port_range="-1/-1", cidr_ip=None if ":" in cidr else cidr,
            ipv6_cidr_ip=cidr if ":" in cidr else None, security_group_id=security_group_id,
            description=f"{label}: everything else",
        ))
    return rules
