"""Network: a VPC and vSwitch, or existing ones, in a zone that can host the workspace."""
from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from imports.alicloud.data_alicloud_vswitches import DataAlicloudVswitches
from imports.alicloud.data_alicloud_zones import DataAlicloudZones
from imports.alicloud.vpc import Vpc
from imports.alicloud.vswitch import Vswitch


@dataclass(frozen=True)
class NetworkProps:
    name: str
    tags: dict[str, str]
    instance_type: str
    disk_category: str
    vpc_cidr: str
    vswitch_cidr: str
    vpc_id: str | None = None
    vswitch_id: str | None = None


class Network(Construct):
    """Exposes `vpc_id`, `vswitch_id` and `zone_id` (tokens), and `vpc`/`vswitch`/`zones` where created."""

    vpc: Vpc | None
    vswitch: Vswitch | None
    zones: DataAlicloudZones | None
    existing_vswitches: DataAlicloudVswitches | None

    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        self.vpc = self.vswitch = self.zones = self.existing_vswitches = None
        if props.vswitch_id and props.vpc_id:
            # Reuse: the zone is the existing vSwitch's zone.
            self.existing_vswitches = DataAlicloudVswitches(
                self, "existing", ids=[props.vswitch_id], vpc_id=props.vpc_id
            )
            self.vpc_id: str = props.vpc_id
            self.vswitch_id: str = props.vswitch_id
            self.zone_id: str = self.existing_vswitches.vswitches.get(0).zone_id
            return

        # Only zones where this instance type and disk category can be created.
        self.zones = DataAlicloudZones(
            self,
            "zones",
            available_instance_type=props.instance_type,
            available_disk_category=props.disk_category,
        )
        self.zone_id = self.zones.zones.get(0).id
        self.vpc = Vpc(self, "vpc", vpc_name=f"{props.name}-vpc", cidr_block=props.vpc_cidr, tags=props.tags)
        self.vswitch = Vswitch(
            self,
            "vswitch",
            vswitch_name=f"{props.name}-vsw",
            vpc_id=self.vpc.id,
            cidr_block=props.vswitch_cidr,
            zone_id=self.zone_id,
            tags=props.tags,
        )
        self.vpc_id = self.vpc.id
        self.vswitch_id = self.vswitch.id
