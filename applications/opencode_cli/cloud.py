"""The ECS calls the CLI makes, through the official SDK: find the workspace's instance and data
disk by name and tag, read the serial console, list and take snapshots. Every failure is an
`ApiUnavailable` with the API's code and message."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from opencode_api import ApiUnavailable, api_error, client_config


@dataclass(frozen=True)
class Instance:
    instance_id: str
    status: str  # Pending, Starting, Running, Stopping, Stopped
    public_ip: str


@dataclass(frozen=True)
class Disk:
    disk_id: str
    size: int
    category: str
    status: str


class Ecs:
    def __init__(self, region: str, credential: Any, endpoint: str | None = None) -> None:
        from alibabacloud_ecs20140526.client import Client

        self.region = region
        self._client = Client(client_config(region, credential, endpoint))

    def _call(self, action: str, call: Callable[[], Any]) -> dict[str, Any]:
        try:
            return call().body.to_map()
        except Exception as error:  # noqa: BLE001 - TeaException, network errors: one line for the user
            raise ApiUnavailable(f"ECS {action}: {api_error(error)}") from None

    def instance(self, name: str) -> Instance | None:
        """The workspace's instance: named <name>-workspace and tagged workspace=<name>."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribeInstancesRequest(
            region_id=self.region, instance_name=f"{name}-workspace",
            tag=[models.DescribeInstancesRequestTag(key="workspace", value=name)])
        body = self._call("DescribeInstances", lambda: self._client.describe_instances(request))
        found = body.get("Instances", {}).get("Instance", [])
        if not found:
            return None
        item = found[0]
        address = (item.get("EipAddress") or {}).get("IpAddress") or next(
            iter((item.get("PublicIpAddress") or {}).get("IpAddress") or []), "")
        return Instance(item["InstanceId"], item["Status"], address)

    def console(self, instance_id: str) -> str:
        """The serial console so far (GetInstanceConsoleOutput), decoded."""
        from alibabacloud_ecs20140526 import models

        request = models.GetInstanceConsoleOutputRequest(region_id=self.region, instance_id=instance_id,
                                                         remove_symbols=True)
        body = self._call("GetInstanceConsoleOutput", lambda: self._client.get_instance_console_output(request))
        return base64.b64decode(body.get("ConsoleOutput") or "").decode("utf-8", errors="replace")

    def data_disk(self, name: str) -> Disk | None:
        from alibabacloud_ecs20140526 import models

        request = models.DescribeDisksRequest(region_id=self.region, disk_name=f"{name}-workspace")
        body = self._call("DescribeDisks", lambda: self._client.describe_disks(request))
        found = body.get("Disks", {}).get("Disk", [])
        if not found:
            return None
        item = found[0]
        return Disk(item["DiskId"], int(item["Size"]), item["Category"], item["Status"])

    def snapshots(self, disk_id: str) -> list[dict[str, Any]]:
        """The disk's snapshots, newest first."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribeSnapshotsRequest(region_id=self.region, disk_id=disk_id, page_size=100)
        body = self._call("DescribeSnapshots", lambda: self._client.describe_snapshots(request))
        items = body.get("Snapshots", {}).get("Snapshot", [])
        return sorted(items, key=lambda item: item.get("CreationTime", ""), reverse=True)

    def snapshot(self, disk_id: str, name: str, tags: dict[str, str]) -> str:
        """Snapshot the disk, tagged (the deployer policy allows tagged creates only)."""
        from alibabacloud_ecs20140526 import models

        request = models.CreateSnapshotRequest(
            disk_id=disk_id, snapshot_name=name, description="taken by opencode-alicloud down, before the disk was destroyed",
            tag=[models.CreateSnapshotRequestTag(key=key, value=value) for key, value in sorted(tags.items())])
        return str(self._call("CreateSnapshot", lambda: self._client.create_snapshot(request))["SnapshotId"])

    # -- baked images (image_source = baked) ---------------------------------------------------------

    def images(self, prefix: str) -> list[dict[str, Any]]:
        """This account's images whose names start with `prefix` (DescribeImages, owner self, any status), newest first."""
        from alibabacloud_ecs20140526 import models

        found: list[dict[str, Any]] = []
        page = 1
        while True:
            request = models.DescribeImagesRequest(region_id=self.region, image_owner_alias="self", image_name=prefix,
                                                   status="Creating,Waiting,Available,UnAvailable,CreateFailed",
                                                   page_size=100, page_number=page)
            body = self._call("DescribeImages", lambda: self._client.describe_images(request))
            items = body.get("Images", {}).get("Image", [])
            found += [item for item in items if item.get("ImageName", "").startswith(prefix)]
            if len(items) < 100:
                break
            page += 1
        return sorted(found, key=lambda item: item.get("CreationTime", ""), reverse=True)

    def image(self, image_id: str) -> dict[str, Any] | None:
        """One of this account's images by id, whatever its status (DescribeImages)."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribeImagesRequest(region_id=self.region, image_owner_alias="self", image_id=image_id,
                                               status="Creating,Waiting,Available,UnAvailable,CreateFailed")
        found = self._call("DescribeImages", lambda: self._client.describe_images(request)).get("Images", {}).get("Image", [])
        return found[0] if found else None

    def images_in_use(self) -> dict[str, list[str]]:
        """Image id -> the names of the instances in this region that run it (stopped ones too)."""
        from alibabacloud_ecs20140526 import models

        used: dict[str, list[str]] = {}
        page = 1
        while True:
            request = models.DescribeInstancesRequest(region_id=self.region, page_size=100, page_number=page)
            body = self._call("DescribeInstances", lambda: self._client.describe_instances(request))
            items = body.get("Instances", {}).get("Instance", [])
            for item in items:
                used.setdefault(item.get("ImageId", ""), []).append(item.get("InstanceName", item["InstanceId"]))
            if len(items) < 100:
                break
            page += 1
        return used

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        """An Image Builder execution (DescribeImagePipelineExecutions): Status, ImageId, Message."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribeImagePipelineExecutionsRequest(region_id=self.region, execution_id=execution_id)
        body = self._call("DescribeImagePipelineExecutions",
                          lambda: self._client.describe_image_pipeline_executions(request))
        found = body.get("ImagePipelineExecution", {}).get("ImagePipelineExecutionSet", [])
        return found[0] if found else None

    def tag(self, resource_type: str, ids: list[str], tags: dict[str, str]) -> None:
        """Tag a baked image and its snapshots as the workspace's (Image Builder's provider resource cannot):
        `image prune` may then delete them under the deployer policy, which allows that on tagged ones only."""
        from alibabacloud_ecs20140526 import models

        request = models.TagResourcesRequest(region_id=self.region, resource_type=resource_type, resource_id=ids,
                                             tag=[models.TagResourcesRequestTag(key=k, value=v) for k, v in sorted(tags.items())])
        self._call("TagResources", lambda: self._client.tag_resources(request))

    def delete_image(self, image_id: str) -> None:
        from alibabacloud_ecs20140526 import models

        request = models.DeleteImageRequest(region_id=self.region, image_id=image_id)
        self._call("DeleteImage", lambda: self._client.delete_image(request))

    def delete_snapshot(self, snapshot_id: str) -> None:
        from alibabacloud_ecs20140526 import models

        request = models.DeleteSnapshotRequest(snapshot_id=snapshot_id)
        self._call("DeleteSnapshot", lambda: self._client.delete_snapshot(request))
