"""The account questions the preflight (`doctor`, and `up` before it deploys) asks, through the official SDKs
with the standard credential chain: who the credentials are, which public images, zones and quotas there are,
whether RAM lets the deployer launch (a dry run), and who owns a bucket. Every failure is an `ApiUnavailable`
with the API's code and message, but for the dry run, whose refusal is its answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opencode_api import ApiUnavailable, api_error, client_config

from .cloud import Ecs

STS_ENDPOINT = "sts.aliyuncs.com"
# RAM's refusals (ECS answers Forbidden.RAM; other products NoPermission or Forbidden).
REFUSED_CODES = ("Forbidden.RAM", "Forbidden", "NoPermission", "Forbidden.NoPermission", "Forbidden.Unauthorized")


@dataclass(frozen=True)
class DryRun:
    allowed: bool  # RAM did not refuse it (which says nothing more unless code is DryRunOperation)
    code: str  # DryRunOperation when the request passed every check; else where it stopped
    message: str


class Probe(Ecs):
    def __init__(self, region: str, credential: Any, endpoint: str | None = None) -> None:
        super().__init__(region, credential, endpoint)
        from alibabacloud_tea_openapi.client import Client

        self._credential, self._endpoint = credential, endpoint
        self._sts = Client(client_config(region, credential, endpoint, STS_ENDPOINT))

    def identity(self) -> dict[str, Any]:
        """STS GetCallerIdentity: AccountId, Arn, IdentityType, UserId."""
        from alibabacloud_tea_openapi import utils_models
        from darabonba.runtime import RuntimeOptions

        params = utils_models.Params(action="GetCallerIdentity", version="2015-04-01", protocol="HTTPS", pathname="/",
                                     method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                     body_type="json")
        try:
            answer = self._sts.call_api(params, utils_models.OpenApiRequest(query={}), RuntimeOptions())
        except Exception as error:  # noqa: BLE001 - one line for the user
            raise ApiUnavailable(f"STS GetCallerIdentity: {api_error(error)}") from None
        return dict(answer.get("body") or {})

    def system_images(self, instance_type: str) -> list[dict[str, Any]]:
        """The region's public (system) images that `instance_type` can run, newest first."""
        from alibabacloud_ecs20140526 import models

        found: list[dict[str, Any]] = []
        page = 1
        while True:
            request = models.DescribeImagesRequest(region_id=self.region, image_owner_alias="system",
                                                   instance_type=instance_type, page_size=100, page_number=page)
            items = self._call("DescribeImages", lambda: self._client.describe_images(request)).get("Images", {}).get("Image", [])
            found += items
            if len(items) < 100:
                break
            page += 1
        return sorted(found, key=lambda item: item.get("CreationTime", ""), reverse=True)

    def zones_with(self, instance_type: str, destination: str, spot: bool, system_disk: str | None = None,
                   data_disk: str | None = None) -> dict[str, set[str]]:
        """Zone -> the categories of `destination` (SystemDisk or DataDisk) offered with `instance_type` there, in
        stock (DescribeAvailableResource: Status Available, pay-as-you-go or spot). DataDisk with an instance takes
        the system and data disk categories too (the API's rule)."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribeAvailableResourceRequest(
            region_id=self.region, destination_resource=destination, instance_type=instance_type,
            instance_charge_type="PostPaid", spot_strategy="SpotAsPriceGo" if spot else "NoSpot", resource_type="instance",
            system_disk_category=system_disk, data_disk_category=data_disk)
        body = self._call("DescribeAvailableResource", lambda: self._client.describe_available_resource(request))
        zones: dict[str, set[str]] = {}
        for zone in body.get("AvailableZones", {}).get("AvailableZone", []):
            offered = {item["Value"] for resource in zone.get("AvailableResources", {}).get("AvailableResource", [])
                       for item in resource.get("SupportedResources", {}).get("SupportedResource", [])
                       if item.get("Status") == "Available"}
            if zone.get("Status") == "Available" and offered:
                zones[zone["ZoneId"]] = offered
        return zones

    def vcpus(self, instance_type: str) -> int | None:
        from alibabacloud_ecs20140526 import models

        request = models.DescribeInstanceTypesRequest(instance_types=[instance_type])
        items = self._call("DescribeInstanceTypes", lambda: self._client.describe_instance_types(request)
                           ).get("InstanceTypes", {}).get("InstanceType", [])
        return int(items[0]["CpuCoreCount"]) if items else None

    def attributes(self, *names: str) -> dict[str, int]:
        """DescribeAccountAttributes: each attribute's value, summed over its items (a number)."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribeAccountAttributesRequest(region_id=self.region, attribute_name=list(names))
        body = self._call("DescribeAccountAttributes", lambda: self._client.describe_account_attributes(request))
        values: dict[str, int] = {}
        for item in body.get("AccountAttributeItems", {}).get("AccountAttributeItem", []):
            numbers = [v.get("Value") for v in item.get("AttributeValues", {}).get("ValueItem", [])]
            counted = [int(n) for n in numbers if isinstance(n, (int, str)) and str(n).isdigit()]
            if counted:
                values[item["AttributeName"]] = sum(counted)
        return values

    def security_groups(self) -> int:
        from alibabacloud_ecs20140526 import models

        # Paged by number: TotalCount is not returned when paging by MaxResults and NextToken (the SDK's model).
        request = models.DescribeSecurityGroupsRequest(region_id=self.region, page_size=1, page_number=1)
        body = self._call("DescribeSecurityGroups", lambda: self._client.describe_security_groups(request))
        if "TotalCount" not in body:
            raise ApiUnavailable("ECS DescribeSecurityGroups: the answer has no TotalCount")
        return int(body["TotalCount"])

    def dry_run_launch(self, instance_type: str, image_id: str, zone: str, disk_category: str, spot: bool,
                       tags: dict[str, str]) -> DryRun:
        """RunInstances with DryRun=true, tagged as the stack tags the instance (the deployer policy wants the tags)."""
        from alibabacloud_ecs20140526 import models

        request = models.RunInstancesRequest(
            region_id=self.region, zone_id=zone, instance_type=instance_type, image_id=image_id, dry_run=True,
            instance_charge_type="PostPaid", spot_strategy="SpotAsPriceGo" if spot else "NoSpot",
            system_disk=models.RunInstancesRequestSystemDisk(category=disk_category),
            tag=[models.RunInstancesRequestTag(key=k, value=v) for k, v in sorted(tags.items())])
        try:
            self._client.run_instances(request)
        except Exception as error:  # noqa: BLE001 - a dry run answers with an error code, even when it passes
            code = str(getattr(error, "code", "") or "")
            if not code:
                raise ApiUnavailable(f"ECS RunInstances: {api_error(error)}") from None
            return DryRun(code not in REFUSED_CODES, code, api_error(error))
        return DryRun(False, "", "the dry run did not answer DryRunOperation")

    def bucket(self, name: str, region: str, account_id: str) -> str:
        """'yours' (`account_id` owns it), 'free' (no such bucket), 'taken' (another account's, its info readable) or
        'unreadable' (AccessDenied: another account's, or one whose policy gives these credentials a folder only), by
        OSS GetBucketInfo with the official SDK (not is_bucket_exist, which calls a refused bucket one that exists)."""
        import alibabacloud_oss_v2 as oss

        credentials = self._credential.get_credential()
        config = oss.config.load_default()
        config.credentials_provider = oss.credentials.StaticCredentialsProvider(
            credentials.access_key_id, credentials.access_key_secret, credentials.security_token or None)
        config.region = region
        if self._endpoint:
            config.endpoint = self._endpoint
            config.use_path_style = True  # a local fake or a private endpoint has no bucket subdomains
        config.retry_max_attempts = 1
        try:
            info = oss.Client(config).get_bucket_info(oss.GetBucketInfoRequest(bucket=name)).bucket_info
        except Exception as error:  # noqa: BLE001 - the SDK's ServiceError carries OSS's code
            detail = error.unwrap() if hasattr(error, "unwrap") else error
            code = getattr(detail, "code", None)
            if code == "NoSuchBucket":
                return "free"
            if code == "AccessDenied":
                return "unreadable"
            raise ApiUnavailable(f"OSS GetBucketInfo {name}: {code or api_error(error)}") from None
        owner = info.owner.id if info and info.owner else None
        return "yours" if owner == account_id else "taken"
