"""ModelServer: a private vLLM server on a GPU instance in the workspace's VPC.

Port 8000 is open only to the workspace's security group. Outbound (image and weights) goes
through the instance's own public IP, which no inbound rule admits: cheaper and simpler than a
NAT gateway for one instance (docs/guides/private-model.md)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from constructs import Construct

from imports.alicloud.data_alicloud_vswitches import DataAlicloudVswitches
from imports.alicloud.data_alicloud_instance_types import DataAlicloudInstanceTypes
from imports.alicloud.ecs_disk import EcsDisk
from imports.alicloud.ecs_disk_attachment import EcsDiskAttachment
from imports.alicloud.instance import Instance
from imports.alicloud.security_group_rule import SecurityGroupRule
from imports.alicloud.vswitch import Vswitch

from opencode_settings import Settings
from opencode_settings.workspace import IMAGE_NAME_REGEX

from .instance.layout import MODEL_SERVER_IMAGE_FAMILY, MODEL_SERVER_PORT, model_server_role_name
from .instance.terraform_text import escape_for_terraform
from .host import (
    HARDENED_INSTANCE,
    EgressNeed,
    egress_rules,
    host_egress_needs,
    in_region_needs,
    attach_role,
    gzipped_user_data,
    first_zone,
    instance_zones,
    private_security_group,
    system_image,
    tcp_ingress,
)


@dataclass(frozen=True)
class ModelServerProps:
    name: str
    tags: dict[str, str]
    vpc_id: str
    workspace_security_group_id: str
    instance_type: str
    image_name_regex: str
    private_ip: str
    port: int
    weights_disk_size: int
    user_data: Callable[[str], str]  # data disk id in, user-data out
    vswitch_cidr: str | None = None  # a new vSwitch in a zone that offers the GPU type
    vswitch_id: str | None = None  # or an existing one
    disk_category: str = "cloud_essd"
    egress_mode: str = "open"
    downloads: bool = True  # with egress control: HTTPS and HTTP out for the image, weights and driver

    @classmethod
    def from_settings(cls, settings: Settings, tags: dict[str, str], vpc_id: str, workspace_security_group_id: str,
                      user_data: Callable[[str], str]) -> ModelServerProps:
        server = settings.model_server
        return cls(
            name=settings.name, tags=tags, vpc_id=vpc_id, workspace_security_group_id=workspace_security_group_id,
            instance_type=server.instance_type, image_name_regex=escape_for_terraform(IMAGE_NAME_REGEX[MODEL_SERVER_IMAGE_FAMILY]),
            private_ip=server.address(), port=MODEL_SERVER_PORT, weights_disk_size=server.weights_disk_size,
            vswitch_cidr=None if server.vswitch_id else server.vswitch_cidr, vswitch_id=server.vswitch_id,
            user_data=user_data,
            egress_mode=settings.egress.mode,
            downloads=server.downloads,
        )


def model_server_egress_needs(downloads: bool) -> list[EgressNeed]:
    needs = host_egress_needs(None) + in_region_needs()
    if downloads:
        needs += [
            EgressNeed("downloads-https", "tcp", 443, "0.0.0.0/0", "HTTPS: the vLLM image, the weights, the NVIDIA toolkit"),
            EgressNeed("downloads-http", "tcp", 80, "0.0.0.0/0", "HTTP: Ubuntu's packages and GPU driver (signed)"),
        ]
    return needs


class ModelServer(Construct):
    """Exposes `zones`/`vswitch` (or `existing_vswitch`), `security_group`, `ingress`, `image`, `role_name`,
    `weights_disk`, `instance`, `role_attachment`, `disk_attachment` and `endpoint` (http://<private ip>:<port>/v1)."""

    def __init__(self, scope: Construct, id: str, props: ModelServerProps) -> None:
        super().__init__(scope, id)
        zone_id, vswitch_id = self._placement(props)
        self.security_group = private_security_group(
            self,
            "sg",
            f"{props.name}-model-sg",
            "Private model server: vLLM only from the workspace's security group",
            props.vpc_id,
            props.tags,
        )
        self.ingress = tcp_ingress(
            self,
            "vllm-from-workspace",
            self.security_group.id,
            props.port,
            "vLLM API from the OpenCode workspace only",
            source_security_group_id=props.workspace_security_group_id,
        )
        # With egress control the model server reaches Alibaba Cloud in the region (its APIs' VPC endpoints,
        # the distribution mirror) and, while `downloads`, the internet for the vLLM image, the weights and the
        # GPU driver; closing the downloads changes only these rules (the instance is kept).
        self.egress: list[SecurityGroupRule] = [] if props.egress_mode == "open" else egress_rules(
            self, self.security_group.id, model_server_egress_needs(props.downloads), f"model server, egress={props.egress_mode}")
        self.image = system_image(self, "image", props.image_name_regex, props.instance_type)
        self.role_name = model_server_role_name(props.name)  # made by the administrator's stack opencode-roles
        self.weights_disk = EcsDisk(
            self,
            "weights",
            disk_name=f"{props.name}-model-cache",
            description="vLLM weights and image cache",
            zone_id=zone_id,
            category=props.disk_category,
            size=props.weights_disk_size,
            encrypted=True,
            tags=props.tags,
        )
        user_data = props.user_data(self.weights_disk.id)
        self.instance = self._instance(props, zone_id, vswitch_id, user_data)
        self.role_attachment = attach_role(self, "role-attachment", self.role_name, self.instance)
        self.disk_attachment = EcsDiskAttachment(
            self, "weights-attachment", disk_id=self.weights_disk.id, instance_id=self.instance.id
        )
        self.endpoint = f"http://{props.private_ip}:{props.port}/v1"

    def _instance(self, props: ModelServerProps, zone_id: str, vswitch_id: str, user_data: str) -> Instance:
        gzipped = gzipped_user_data(self, "user-data-version", user_data)
        return Instance(
            self,
            "instance",
            instance_name=f"{props.name}-model",
            host_name=f"{props.name}-model",
            availability_zone=zone_id,
            vswitch_id=vswitch_id,
            private_ip=props.private_ip,
            security_groups=[self.security_group.id],
            instance_type=props.instance_type,
            image_id=self.image.images.get(0).id,
            # Outbound only (image and weights): a public IP that no security group rule admits inbound.
            internet_charge_type="PayByTraffic",
            internet_max_bandwidth_out=100,
            system_disk_category=props.disk_category,
            system_disk_size=60,
            **HARDENED_INSTANCE,
            user_data=gzipped.value,  # the cloud-config, gzip + base64 (host.gzipped_user_data)
            tags=props.tags,
            volume_tags=props.tags,
            lifecycle=gzipped.lifecycle,
        )

    def _placement(self, props: ModelServerProps) -> tuple[str, str]:
        """(zone id, vSwitch id): the existing vSwitch's, or a new vSwitch in a zone with the GPU type."""
        self.vswitch: Vswitch | None = None
        self.zones: DataAlicloudInstanceTypes | None = None
        self.existing_vswitch: DataAlicloudVswitches | None = None
        if props.vswitch_id:
            self.existing_vswitch = DataAlicloudVswitches(self, "existing-vswitch", ids=[props.vswitch_id])
            return self.existing_vswitch.vswitches.get(0).zone_id, props.vswitch_id
        self.zones = instance_zones(self, "gpu-zones", props.instance_type, props.disk_category)
        zone_id = first_zone(self.zones)
        self.vswitch = Vswitch(
            self,
            "vswitch",
            vswitch_name=f"{props.name}-model-vsw",
            vpc_id=props.vpc_id,
            cidr_block=props.vswitch_cidr,
            zone_id=zone_id,
            tags=props.tags,
        )
        return zone_id, self.vswitch.id
