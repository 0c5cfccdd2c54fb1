"""Network: a VPC and vSwitch, or existing ones, in a zone that can host the workspace."""
from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from opencode_settings import Settings

from imports.alicloud.data_alicloud_instance_types import DataAlicloudInstanceTypes
from imports.alicloud.data_alicloud_vswitches import DataAlicloudVswitches
from imports.alicloud.vpc import Vpc
from imports.alicloud.vswitch import Vswitch

from .host import first_zone, instance_zones


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

    @classmethod
    def from_settings(cls, settings: Settings, tags: dict[str, str]) -> NetworkProps:
        return cls(
            name=settings.name, tags=tags, instance_type=settings.instance_type,
            disk_category=settings.system_disk_category, vpc_cidr=settings.vpc_cidr,
            vswitch_cidr=settings.vswitch_cidr, vpc_id=settings.vpc_id, vswitch_id=settings.vswitch_id,
        )


class Network(Construct):
    """Exposes `vpc_id`, `vswitch_id` and `zone_id` (tokens), and `vpc`/`vswitch`/`zones` where created."""

    vpc: Vpc | None
    vswitch: Vswitch | None
    zones: DataAlicloudInstanceTypes | None
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

        # Only zones where this instance type can be created with this system disk category.
        self.zones = instance_zones(self, "zones", props.instance_type, props.disk_category)
        self.zone_id = first_zone(self.zones)
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
