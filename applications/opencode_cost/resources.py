"""What the synthesized stacks bill: every resource of every `cdk.tf.json` is either a usage to
price, free, or named as not priced with the reason. A resource type with no rule here is an
error, so a resource added to a construct later cannot slip out of the estimate."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from opencode_settings import AUDIT_PURPOSE, CostSettings

# How the monthly amount of a usage follows from its price:
#   running:  price per hour × hours the instance runs (stops with the instance, economical mode)
#   calendar: price per unit-hour × quantity × every hour of the month (disks bill while stopped)
#   monthly:  price per unit-month × quantity
#   traffic:  price per GB × GB sent out
Basis = Literal["running", "calendar", "monthly", "traffic"]


@dataclass(frozen=True)
class Usage:
    """One billable quantity of one resource."""

    resource: str  # terraform address, e.g. alicloud_instance.workspace_instance_00387BFD
    stack: str
    part: str  # the construct it belongs to, e.g. "workspace", "model-server"
    what: str  # what a person reads, e.g. "workspace: instance ecs.e-c1m2.large"
    key: str  # price key (CostSettings.prices), e.g. instance/ecs.e-c1m2.large
    quantity: float  # GiB for disks and snapshots, 1 for an instance or an EIP
    basis: Basis
    month_key: str | None = None  # the subscription price key, where a subscription applies
    spec: dict[str, Any] = field(default_factory=dict)  # what a live price query needs
    assumption: str = ""  # how the quantity was derived, when it was


@dataclass(frozen=True)
class Unpriced:
    resource: str
    stack: str
    reason: str


# Resources that cost nothing by themselves (their charges, if any, are on another line).
FREE: dict[str, str] = {
    "alicloud_vpc": "VPCs and vSwitches carry no charge",
    "alicloud_vswitch": "VPCs and vSwitches carry no charge",
    "alicloud_security_group": "security groups carry no charge",
    "alicloud_security_group_rule": "security groups carry no charge",
    "alicloud_ram_role": "RAM carries no charge",
    "alicloud_ram_policy": "RAM carries no charge",
    "alicloud_ram_role_policy_attachment": "RAM carries no charge",
    "alicloud_ecs_ram_role_attachment": "RAM carries no charge",
    "alicloud_ecs_key_pair": "key pairs carry no charge",
    "alicloud_ecs_disk_attachment": "billed as the disk",
    "alicloud_ecs_auto_snapshot_policy_attachment": "billed as the policy's snapshots",
    "alicloud_eip_association": "billed as the EIP (an association fee may apply to accounts that first "
    "bought EIPs after 2020-01-15, by number of associations)",
    "alicloud_oss_bucket_acl": "billed as the bucket",
    "alicloud_oss_bucket_versioning": "billed as the bucket (old versions count as storage)",
    "alicloud_oss_bucket_server_side_encryption": "billed as the bucket (OSS-managed keys)",
    "alicloud_oss_bucket_public_access_block": "billed as the bucket",
    "alicloud_oss_bucket_policy": "billed as the bucket",
    "alicloud_log_project": "billed as its logstores",
    "alicloud_ecs_image_pipeline_execution": "billed as its template's bake (the temporary instance) and image",
    # ECS's billable items are instances, images, disks, public bandwidth and snapshots (alibabacloud.com/help/en/
    # elastic-compute-service/latest/billing-overview, read 2026-12-03): Cloud Assistant is not among them.
    "alicloud_ecs_command": "Cloud Assistant is not among ECS's billable items (the health gate)",
    "alicloud_ecs_invocation": "Cloud Assistant is not among ECS's billable items (the health gate)",
    "random_password": "made by Terraform, not a cloud resource",
    "terraform_data": "made by Terraform, not a cloud resource",
}

# Billable, but with no price anyone could source; named in the estimate, outside the total.
NOT_PRICED: dict[str, str] = {
    "alicloud_oos_secret_parameter": "KMS service-key hosting is 0 USD/day; the few decrypt calls a boot makes "
    "are billed per call (KMS 1.0 billing, alibabacloud.com/help/en/doc-detail/52608, 2025-09-17): negligible",
    "alicloud_ots_instance": "Tablestore CU mode bills what is read, written and stored; the lock table holds "
    "one row touched once per apply (no storage unit price found): negligible",
    "alicloud_ots_table": "see the Tablestore instance",
    "alicloud_oos_template": "OOS templates and scheduled executions: no OOS price was found in any collected "
    "source (the start and stop they run are ECS calls)",
    "alicloud_oos_execution": "see the OOS template",
    "alicloud_actiontrail_trail": "ActionTrail's own charge for a trail is in no collected source; its logs are "
    "priced as the audit bucket's storage",
    "alicloud_log_store": "SLS bills data written, indexed and stored; no SLS price is in the collected sources",
}

_REF = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.id\}$")


def _part(resource: dict[str, Any], address: str) -> str:
    """The construct a resource belongs to: the first step of its path after the stack id."""
    path = resource.get("//", {}).get("metadata", {}).get("path", "")
    steps = path.split("/")[1:]
    return steps[0] if steps else address


def _instance(stack: str, address: str, body: dict[str, Any], _doc: dict[str, Any], _cost: CostSettings) -> Iterator[Usage]:
    instance_type = body["instance_type"]
    who = _part(body, address)
    spec = {"instance_type": instance_type, "system_disk_category": body["system_disk_category"],
            "system_disk_size": body["system_disk_size"], "status": body.get("status", "Running"),
            "spot": body.get("spot_strategy", "NoSpot") != "NoSpot"}
    yield Usage(address, stack, who, f"{who}: instance {instance_type}", f"instance/{instance_type}", 1, "running",
                f"instance-month/{instance_type}", spec)
    category, size = body["system_disk_category"], body["system_disk_size"]
    yield Usage(address, stack, who, f"{who}: system disk {size} GiB {category}", f"disk/{category}", size, "calendar",
                f"disk-month/{category}", spec)


def _disk(stack: str, address: str, body: dict[str, Any], _doc: dict[str, Any], _cost: CostSettings) -> Iterator[Usage]:
    category, size = body["category"], body["size"]
    who = _part(body, address)
    # A disk created on its own is pay-as-you-go only (ECS block storage billing), so no month key.
    yield Usage(address, stack, who, f"{who}: data disk {size} GiB {category}", f"disk/{category}", size, "calendar",
                None, {"category": category, "size": size})


def _snapshots(stack: str, address: str, body: dict[str, Any], doc: dict[str, Any], cost: CostSettings) -> Iterator[Usage]:
    name = address.split(".", 1)[1]
    resources = doc.get("resource", {})
    disks = []
    for attachment in resources.get("alicloud_ecs_auto_snapshot_policy_attachment", {}).values():
        policy, disk = _REF.match(attachment["auto_snapshot_policy_id"]), _REF.match(attachment["disk_id"])
        if policy and policy[2] == name and disk and disk[1] == "alicloud_ecs_disk":
            disks.append(resources["alicloud_ecs_disk"][disk[2]])
    if not disks:
        return
    retention = body["retention_days"] if body.get("retention_days", -1) > 0 else 365
    kept = min(retention, 365)
    used = sum(disk["size"] for disk in disks) * cost.disk_used_percent / 100
    stored = used * (1 + cost.snapshot_change_percent_per_day / 100 * (kept - 1))
    assumption = (f"{used:g} GB used ({cost.disk_used_percent:g} % of the disk) + {kept - 1} daily changes of "
                  f"{cost.snapshot_change_percent_per_day:g} %, kept {retention} days")
    who = _part(body, address)
    yield Usage(address, stack, who, f"{who}: daily snapshots, {retention} days",
                "snapshot", round(stored, 3), "monthly", None, {}, assumption)


def _eip(stack: str, address: str, body: dict[str, Any], _doc: dict[str, Any], cost: CostSettings) -> Iterator[Usage]:
    who = _part(body, address)
    charge = body.get("internet_charge_type", "PayByTraffic")
    if charge != "PayByTraffic":  # the stack creates PayAsYouGo + PayByTraffic only (international accounts)
        raise ValueError(f"{address}: the estimate prices pay-by-traffic EIPs only, not {charge}")
    yield Usage(address, stack, who, f"{who}: EIP configuration fee", "eip-config", 1, "calendar", None,
                {"bandwidth": body.get("bandwidth")})
    yield Usage(address, stack, who, f"{who}: EIP traffic out, {cost.traffic_gb_per_month:g} GB", "eip-traffic", 1,
                "traffic", None, {"bandwidth": body.get("bandwidth")},
                f"{cost.traffic_gb_per_month:g} GB a month; CDT's free 200 GB a month outside mainland China, "
                "where it applies, is not deducted")


def _bucket(stack: str, address: str, body: dict[str, Any], _doc: dict[str, Any], cost: CostSettings) -> Iterator[Usage]:
    if (body.get("tags") or {}).get("purpose") == AUDIT_PURPOSE:
        yield Usage(address, stack, _part(body, address), f"audit bucket {body.get('bucket', '')}, {cost.audit_bucket_gb:g} GB",
                    "oss-storage", cost.audit_bucket_gb, "monthly", None, {},
                    f"{cost.audit_bucket_gb:g} GB of trail logs (cost.audit_bucket_gb)")
        return
    yield Usage(address, stack, _part(body, address), f"state bucket {body.get('bucket', '')}, {cost.state_bucket_gb:g} GB", "oss-storage",
                cost.state_bucket_gb, "monthly", None, {}, f"{cost.state_bucket_gb:g} GB of state and its versions")


def _bake(stack: str, address: str, body: dict[str, Any], _doc: dict[str, Any], cost: CostSettings) -> Iterator[Usage]:
    """Image Builder's template: each bake runs a pay-as-you-go instance of its type, and the image it makes is a
    snapshot kept until pruned (one image of each recipe in use, as `image prune` keeps)."""
    instance_type, who = body["instance_type"], _part(body, address)
    hours = cost.bakes_per_month * cost.bake_minutes / 60
    yield Usage(address, stack, who, f"image bake: instance {instance_type}, {cost.bakes_per_month:g} × "
                f"{cost.bake_minutes:g} min", f"instance/{instance_type}", round(hours, 4), "monthly", None, {},
                f"{cost.bakes_per_month:g} bakes a month of {cost.bake_minutes:g} minutes (cost.bakes_per_month, "
                "cost.bake_minutes); its traffic in is free, out is a few requests")
    yield Usage(address, stack, who, f"baked image: snapshot, {cost.baked_image_gb:g} GB", "snapshot",
                cost.baked_image_gb, "monthly", None, {}, f"{cost.baked_image_gb:g} GB (cost.baked_image_gb)")


PRICED: dict[str, Callable[[str, str, dict[str, Any], dict[str, Any], CostSettings], Iterator[Usage]]] = {
    "alicloud_instance": _instance,
    "alicloud_ecs_disk": _disk,
    "alicloud_ecs_auto_snapshot_policy": _snapshots,
    "alicloud_eip_address": _eip,
    "alicloud_oss_bucket": _bucket,
    "alicloud_ecs_image_pipeline": _bake,
}


class UnknownResource(ValueError):
    """A resource type the estimate has no rule for."""


def usages(documents: dict[str, dict[str, Any]], cost: CostSettings) -> tuple[list[Usage], list[Unpriced], list[tuple[str, str]]]:
    """(usages to price, billable resources not priced, (stack, address) of the free ones) of all stacks."""
    priced: list[Usage] = []
    unpriced: list[Unpriced] = []
    free: list[tuple[str, str]] = []
    for stack, doc in documents.items():
        for type_name, bodies in sorted(doc.get("resource", {}).items()):
            for name, body in bodies.items():
                address = f"{type_name}.{name}"
                if type_name in PRICED:
                    priced.extend(PRICED[type_name](stack, address, body, doc, cost))
                elif type_name in NOT_PRICED:
                    unpriced.append(Unpriced(address, stack, NOT_PRICED[type_name]))
                elif type_name in FREE:
                    free.append((stack, address))
                else:
                    raise UnknownResource(
                        f"{stack}: {address} has no pricing rule; add its type to applications/opencode_cost/resources.py"
                    )
    order = list(PRICED)  # the workspace's lines first, then each other part's, each in PRICED's order
    priced.sort(key=lambda usage: (usage.stack, usage.part != "workspace", usage.part,
                                   order.index(usage.resource.split(".")[0])))
    return priced, unpriced, free


def region_of(document: dict[str, Any]) -> str:
    providers = document.get("provider", {}).get("alicloud", [{}])
    return providers[0].get("region", "")
