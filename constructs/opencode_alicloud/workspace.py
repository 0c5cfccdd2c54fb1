"""Workspace: the ECS instance, its workspace data disk, the EIP and the instance RAM role."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


from cdktf import Fn, TerraformResourceLifecycle
from constructs import Construct

from imports.alicloud.data_alicloud_eip_addresses import DataAlicloudEipAddresses
from imports.alicloud.data_alicloud_images import DataAlicloudImages
from imports.alicloud.ecs_auto_snapshot_policy import EcsAutoSnapshotPolicy
from imports.alicloud.ecs_auto_snapshot_policy_attachment import EcsAutoSnapshotPolicyAttachment
from imports.alicloud.ecs_disk import EcsDisk
from imports.alicloud.ecs_disk_attachment import EcsDiskAttachment
from imports.alicloud.ecs_key_pair import EcsKeyPair
from imports.alicloud.eip_address import EipAddress
from imports.alicloud.eip_association import EipAssociation
from imports.alicloud.instance import Instance

from opencode_settings import Settings
from opencode_settings.provider_bounds import POWER_STATUS

from .instance.layout import workspace_role_name
from .instance.terraform_text import escape_for_terraform
from .host import HARDENED_INSTANCE, UserData, attach_role, baked_image, gzipped_user_data, system_image
from .instance.recipe import Recipe

@dataclass(frozen=True)
class HostFacts:
    """Terraform-time values the bootstrap needs, as tokens: they resolve at apply."""

    public_ip: str
    data_disk_id: str


@dataclass(frozen=True)
class WorkspaceProps:
    name: str
    tags: dict[str, str]
    zone_id: str
    vswitch_id: str
    security_group_id: str
    instance_type: str
    image_name_regex: str  # the public image (image_source = public)
    system_disk_size: int
    system_disk_category: str
    data_disk_size: int
    data_disk_category: str
    snapshot_retention_days: int
    eip_bandwidth_mbps: int
    user_data: Callable[[HostFacts], str]  # the bootstrap seam: host facts in, user-data out
    key_pair_name: str | None = None
    ssh_public_key: str | None = None
    eip_allocation_id: str | None = None
    status: str = "Running"
    spot: bool = False
    baked: Recipe | None = None  # image_source = baked: the newest image of this recipe...
    image_id: str | None = None  # ...or this one

    @classmethod
    def from_settings(
        cls, settings: Settings, tags: dict[str, str], zone_id: str, vswitch_id: str, security_group_id: str,
        user_data: Callable[[HostFacts], str],
    ) -> WorkspaceProps:
        return cls(
            name=settings.name, tags=tags, zone_id=zone_id, vswitch_id=vswitch_id,
            security_group_id=security_group_id, instance_type=settings.instance_type,
            image_name_regex=escape_for_terraform(settings.system_image_regex),  # a literal, never an expression
            system_disk_size=settings.system_disk_size, system_disk_category=settings.system_disk_category,
            data_disk_size=settings.data_disk_size, data_disk_category=settings.data_disk_category,
            snapshot_retention_days=settings.snapshot_retention_days, eip_bandwidth_mbps=settings.eip_bandwidth_mbps,
            user_data=user_data, key_pair_name=settings.key_pair_name,
            ssh_public_key=escape_for_terraform(settings.ssh_public_key) if settings.ssh_public_key else None,
            eip_allocation_id=settings.eip_allocation_id,
            status=dict(POWER_STATUS)[settings.power], spot=settings.spot,
            baked=Recipe.of(settings.opencode_version, settings.image_family) if settings.image_source == "baked" else None,
            image_id=settings.image_id,
        )


def site_host(settings: Settings, public_ip: str) -> str:
    """The HTTPS host name: the domain, or <ip-with-dashes>.sslip.io (resolved by Terraform)."""
    return settings.domain or Fn.join("", [Fn.replace(public_ip, ".", "-"), ".sslip.io"])


class Workspace(Construct):
    """Exposes `image` (None with image_id), `image_id`, `role_name`, `key_pair`, `eip` (or `existing_eip`), `public_ip`, `data_disk`,
    `snapshot_policy`, `instance`, `role_attachment`, `disk_attachment`, `eip_association`, `user_data` (the
    rendered cloud-config) and `gzipped` (what the instance receives)."""

    def __init__(self, scope: Construct, id: str, props: WorkspaceProps) -> None:
        super().__init__(scope, id)
        self.image: DataAlicloudImages | None = None  # none when image_id names the image
        if props.image_id:
            self.image_id = props.image_id
        else:
            self.image = (baked_image(self, "image", props.baked.image_name_regex, props.baked.image_name, props.instance_type)
                          if props.baked else system_image(self, "image", props.image_name_regex, props.instance_type))
            self.image_id = self.image.images.get(0).id
        self.role_name = workspace_role_name(props.name)  # made by the administrator's stack opencode-roles
        self.key_pair: EcsKeyPair | None = None
        key_name = props.key_pair_name
        if props.ssh_public_key:
            self.key_pair = EcsKeyPair(
                self, "key", key_pair_name=f"{props.name}-key", public_key=props.ssh_public_key, tags=props.tags
            )
            key_name = self.key_pair.key_pair_name
        allocation_id = self._address(props)
        self._data_disk(props)
        self.user_data = props.user_data(HostFacts(public_ip=self.public_ip, data_disk_id=self.data_disk.id))
        self.gzipped: UserData = gzipped_user_data(self, "user-data-version", self.user_data)
        self.instance = self._instance(props, key_name)
        self.role_attachment = attach_role(self, "role-attachment", self.role_name, self.instance)
        self.disk_attachment = EcsDiskAttachment(
            self, "data-attachment", disk_id=self.data_disk.id, instance_id=self.instance.id
        )
        self.eip_association = EipAssociation(
            self, "eip-association", allocation_id=allocation_id, instance_id=self.instance.id
        )
        # What the bootstrap waits for on the instance: its data disk, its address, its role (for the secrets).
        self.ready_for_bootstrap = [self.disk_attachment, self.eip_association, self.role_attachment]

    def _address(self, props: WorkspaceProps) -> str:
        """The public address: an existing EIP, or a new one. Returns its allocation id."""
        self.eip: EipAddress | None = None
        self.existing_eip: DataAlicloudEipAddresses | None = None
        if props.eip_allocation_id:
            self.existing_eip = DataAlicloudEipAddresses(self, "existing-eip", ids=[props.eip_allocation_id])
            self.public_ip: str = self.existing_eip.addresses.get(0).ip_address
            return props.eip_allocation_id
        # PayAsYouGo + PayByTraffic: the combination international accounts can create.
        self.eip = EipAddress(
            self,
            "eip",
            address_name=f"{props.name}-eip",
            payment_type="PayAsYouGo",
            internet_charge_type="PayByTraffic",
            bandwidth=str(props.eip_bandwidth_mbps),
            tags=props.tags,
        )
        self.public_ip = self.eip.ip_address
        return self.eip.id

    def _data_disk(self, props: WorkspaceProps) -> None:
        """The workspace lives on its own disk, with daily snapshots: replacing the instance keeps it."""
        self.data_disk = EcsDisk(
            self,
            "data",
            disk_name=f"{props.name}-workspace",
            description="OpenCode config, data and workspace",
            zone_id=props.zone_id,
            category=props.data_disk_category,
            size=props.data_disk_size,
            encrypted=True,
            delete_auto_snapshot=False,
            tags=props.tags,
        )
        self.snapshot_policy = EcsAutoSnapshotPolicy(
            self,
            "snapshots",
            auto_snapshot_policy_name=f"{props.name}-daily",
            repeat_weekdays=["1", "2", "3", "4", "5", "6", "7"],
            time_points=["3"],
            retention_days=props.snapshot_retention_days,
            tags=props.tags,
        )
        EcsAutoSnapshotPolicyAttachment(
            self, "snapshots-data", auto_snapshot_policy_id=self.snapshot_policy.id, disk_id=self.data_disk.id
        )

    def _instance(self, props: WorkspaceProps, key_name: str | None) -> Instance:
        return Instance(
            self,
            "instance",
            instance_name=f"{props.name}-workspace",
            host_name=props.name,
            availability_zone=props.zone_id,
            vswitch_id=props.vswitch_id,
            security_groups=[props.security_group_id],
            instance_type=props.instance_type,
            image_id=self.image_id,
            internet_max_bandwidth_out=0,  # public traffic goes through the EIP only
            system_disk_category=props.system_disk_category,
            system_disk_size=props.system_disk_size,
            status=props.status,  # power: Running, or Stopped in economical mode
            stopped_mode="StopCharging",  # when stopped: no compute charge (disks and the EIP still bill)
            # spot: the price follows the market, never above pay-as-you-go; unset is the provider's NoSpot
            spot_strategy="SpotAsPriceGo" if props.spot else None,
            **HARDENED_INSTANCE,
            key_name=key_name,
            user_data=self.gzipped.value,  # the cloud-config, gzip + base64 (host.gzipped_user_data)
            tags=props.tags,
            volume_tags=props.tags,
            # A baked workspace is replaced when its recipe changes (the digest is in the user-data), not when the same
            # recipe is baked again (a new image id of the same contents would replace the system disk in place).
            lifecycle=TerraformResourceLifecycle(replace_triggered_by=self.gzipped.lifecycle.replace_triggered_by,
                                                 ignore_changes=["image_id"]) if props.baked else self.gzipped.lifecycle,
        )
