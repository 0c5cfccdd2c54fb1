"""A fake of the Alibaba Cloud OpenAPI calls made from the operator's machine, on 127.0.0.1:
ECS (2014-05-26) DescribePrice, DescribeInstances, GetInstanceConsoleOutput, DescribeDisks,
DescribeSnapshots, CreateSnapshot, and for baked images DescribeImages, DescribeImagePipelineExecutions,
TagResources and DeleteImage, BSS (2017-12-14) GetPayAsYouGoPrice, and for the preflight STS (2015-04-01)
GetCallerIdentity, ECS DescribeImages of public images, DescribeAvailableResource, DescribeInstanceTypes,
DescribeAccountAttributes, DescribeSecurityGroups and RunInstances with DryRun (judged by RAM's documented
evaluation, tests/harness/ram_eval.py, against the policy the test gives the caller). A SIMULATION of
their documented request rules and answer shapes, with prices and resources the test chooses; it
knows none of Alibaba's prices, stock or IAM.

It is strict where the API is: each request must carry a valid ACS3-HMAC-SHA256 signature by the
one known AccessKey (recomputed here), a fresh date and an unused nonce; DescribePrice for a disk
takes PriceUnit=Hour only; an unknown instance type, disk category, instance or disk is an error."""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from fake_alibaba import _Handler, percent_encode, stale_or_replayed

ECS_VERSION, BSS_VERSION, STS_VERSION = "2014-05-26", "2017-12-14", "2015-04-01"


@dataclass
class FakeInstance:
    instance_id: str
    name: str
    region: str
    tags: dict[str, str]
    status: str = "Running"  # Pending, Starting, Running, Stopping, Stopped
    public_ip: str = "203.0.113.10"
    console: str = ""  # what GetInstanceConsoleOutput returns (the serial console so far)
    image_id: str = "m-public000000000000a"


@dataclass
class FakeDisk:
    disk_id: str
    name: str
    size: int
    category: str
    instance_id: str = ""


@dataclass
class Account:
    access_key_id: str = "LTAI5tFakePriceKey"
    access_key_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    currency: str = "USD"
    instance_hour: dict[str, float] = field(default_factory=dict)  # instance type -> USD/h
    instance_month: dict[str, float] = field(default_factory=dict)  # instance type -> USD/month
    disk_gib_hour: dict[str, float] = field(default_factory=dict)  # category -> USD per GiB-hour
    disk_gib_month: dict[str, float] = field(default_factory=dict)  # category -> USD per GiB-month
    eip_traffic_gb: float = 0.0
    instances: list[FakeInstance] = field(default_factory=list)
    disks: list[FakeDisk] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # DescribeSnapshots' Snapshot items
    images: list[dict[str, Any]] = field(default_factory=list)  # this account's own images (DescribeImages' Image items)
    executions: list[dict[str, Any]] = field(default_factory=list)  # Image Builder executions (their Set items)
    tagged_snapshots: dict[str, str] = field(default_factory=dict)  # snapshot id -> its first tag's value
    deleted_snapshots: list[str] = field(default_factory=list)
    # the preflight's questions: who the key is, the region's public images, stock, quotas and RAM
    account_id: str = "5123456789012345"
    caller_arn: str = "acs:ram::5123456789012345:user/deployer"
    public_images: list[dict[str, Any]] = field(default_factory=list)  # DescribeImages' Image items (+ "Runs": types)
    stock: dict[str, dict[str, dict[str, set[str]]]] = field(default_factory=dict)  # type -> zone -> SystemDisk/DataDisk -> categories
    vcpus: dict[str, int] = field(default_factory=dict)  # instance type -> CpuCoreCount
    attributes: dict[str, int] = field(default_factory=dict)  # DescribeAccountAttributes name -> value
    security_groups: int = 0
    policy: dict[str, Any] | None = None  # the caller's RAM policy (every action judged by it); None: anything goes
    dry_run_without_network: bool = False  # a RunInstances dry run passes with no vSwitch (not known of the real API)
    fail: tuple[int, str, str] | None = None  # (status, Code, Message) for every request
    fail_on: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # action -> (status, Code, Message)
    requests: list[dict[str, Any]] = field(default_factory=list)  # what arrived and was accepted
    nonces: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def acs3_signature(method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str],
                   signed: list[str], body: bytes, secret: str) -> str:
    """ACS3-HMAC-SHA256 as the API computes it (Alibaba Cloud's V3 request signature)."""
    canonical_query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query))
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    canonical = "\n".join([method, path, canonical_query, canonical_headers, ";".join(signed),
                           hashlib.sha256(body).hexdigest()])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class OpenApiHandler(_Handler):
    cloud: Account  # type: ignore[assignment]

    def _error(self, status: int, code: str, message: str) -> None:
        self._note(f"refused: {code}: {message}")
        self._reply(status, json.dumps({"Code": code, "Message": message, "RequestId": secrets.token_hex(8)}),
                    "application/json")

    def _verified(self) -> tuple[str, str, dict[str, str]] | None:
        book = self.cloud
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        fields = dict(part.strip().split("=", 1) for part in
                      headers.get("authorization", "").removeprefix("ACS3-HMAC-SHA256 ").split(",") if "=" in part)
        if not headers.get("authorization", "").startswith("ACS3-HMAC-SHA256 "):
            return self._error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        if fields.get("Credential") != book.access_key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        signed = fields.get("SignedHeaders", "").split(";")
        if not {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
                "x-acs-content-sha256"} <= set(signed):
            return self._error(400, "IncompleteSignature", "Required headers are not signed.")
        if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            return self._error(400, "InvalidContentSha256", "The payload hash does not match.")
        expected = acs3_signature(self.command, split.path or "/", query, headers, signed, body, book.access_key_secret)
        if not hmac.compare_digest(fields.get("Signature", ""), expected):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        refused = stale_or_replayed(headers.get("x-acs-date", ""), headers.get("x-acs-signature-nonce", ""),
                                    book.nonces, book.lock)
        if refused:
            return self._error(*refused)
        if book.fail:
            return self._error(*book.fail)
        if headers["x-acs-action"] in book.fail_on:
            return self._error(*book.fail_on[headers["x-acs-action"]])
        params = dict(query)
        params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        return headers["x-acs-action"], headers["x-acs-version"], params

    def _serve(self) -> None:
        verified = self._verified()
        if verified is None:
            return None
        action, version, params = verified
        with self.cloud.lock:
            self.cloud.requests.append({"action": action, "version": version, **params})
        if self._refused_by_ram(action, version, params):
            return self._error(403, "Forbidden.RAM", "User not authorized to operate on the specified resource, or this "
                                                     "API doesn't support RAM.")
        if (action, version) == ("DescribePrice", ECS_VERSION):
            return self._describe_price(params)
        if (action, version) == ("GetPayAsYouGoPrice", BSS_VERSION):
            return self._payg_price(params)
        if (action, version) == ("GetCallerIdentity", STS_VERSION):
            return self._ok({"AccountId": self.cloud.account_id, "Arn": self.cloud.caller_arn, "IdentityType": "RAMUser",
                             "UserId": "2" + self.cloud.account_id[1:], "PrincipalId": "2" + self.cloud.account_id[1:]})
        if version == ECS_VERSION and action in _ECS_ACTIONS:
            return getattr(self, _ECS_ACTIONS[action])(params)
        return self._error(404, "InvalidAction.NotFound", f"Specified api {action} ({version}) is not found.")

    do_GET = do_POST = _serve

    def _refused_by_ram(self, action: str, version: str, params: dict[str, str]) -> bool:
        """RAM's documented evaluation (ram_eval) of the caller's policy, when the test gives one. A Describe call is
        judged on the region's "*" (most have no resource-level control); RunInstances on the new instance and the
        image it names, with the request's tags."""
        if self.cloud.policy is None:
            return False
        from ram_eval import Request, Resource, allowed  # the cloud's side

        product = {ECS_VERSION: "ecs", BSS_VERSION: "bss", STS_VERSION: "sts"}[version]
        arn = f"acs:{product}:{params.get('RegionId', '*')}:{self.cloud.account_id}"
        if action == "RunInstances":
            tags, n = {}, 1
            while f"Tag.{n}.Key" in params:
                tags[params[f"Tag.{n}.Key"]] = params.get(f"Tag.{n}.Value", "")
                n += 1
            request = Request("ecs:RunInstances", (Resource(f"{arn}:instance/*"),
                                                   Resource(f"{arn}:image/{params.get('ImageId')}", {})), tags)
        else:
            request = Request(f"{product}:{action}", (Resource(f"{arn}:*"),))
        return not allowed(self.cloud.policy, request)

    def _answer(self, total: float, details: list[tuple[str, float]]) -> None:
        price = {"Currency": self.cloud.currency, "OriginalPrice": round(total, 6), "DiscountPrice": 0.0,
                 "TradePrice": round(total, 6),
                 "DetailInfos": {"DetailInfo": [{"Resource": name, "OriginalPrice": round(amount, 6),
                                                 "DiscountPrice": 0.0, "TradePrice": round(amount, 6)}
                                                for name, amount in details]}}
        body = {"RequestId": secrets.token_hex(8), "PriceInfo": {"Price": price, "Rules": {"Rule": []}}}
        self._reply(200, json.dumps(body), "application/json")

    def _describe_price(self, params: dict[str, str]) -> None:
        book = self.cloud
        unit = params.get("PriceUnit", "Hour")
        if not params.get("RegionId"):
            return self._error(400, "MissingRegionId", "RegionId is mandatory for this action.")
        if params.get("ResourceType") == "disk":
            if unit != "Hour":
                return self._error(400, "InvalidPriceUnit.Malformed", "disk prices are pay-as-you-go only (PriceUnit=Hour).")
            category, size = params.get("DataDisk.1.Category"), params.get("DataDisk.1.Size")
            if category not in book.disk_gib_hour or not size:
                return self._error(400, "InvalidDataDiskCategory.ValueNotSupported", f"{category} is not supported.")
            amount = book.disk_gib_hour[category] * int(size)
            return self._answer(amount, [("dataDisk", amount)])
        if params.get("ResourceType", "instance") == "instance":
            instance_type = params.get("InstanceType", "")
            prices = book.instance_hour if unit == "Hour" else book.instance_month if unit == "Month" else {}
            if instance_type not in prices:
                return self._error(400, "InvalidInstanceType.NotFound", f"{instance_type} ({unit}) is not found.")
            category, size = params.get("SystemDisk.Category", "cloud_efficiency"), int(params.get("SystemDisk.Size", "40"))
            disk_prices = book.disk_gib_hour if unit == "Hour" else book.disk_gib_month
            if category not in disk_prices:
                return self._error(400, "InvalidSystemDiskCategory.ValueNotSupported", f"{category} is not supported.")
            details = [("instanceType", prices[instance_type]), ("systemDisk", disk_prices[category] * size)]
            return self._answer(sum(amount for _, amount in details), details)
        return self._error(400, "InvalidResourceType.NotFound", f"{params.get('ResourceType')} is not supported here.")

    def _payg_price(self, params: dict[str, str]) -> None:
        if params.get("ProductCode") != "eip" or params.get("SubscriptionType") != "PayAsYouGo":
            return self._error(400, "InvalidParameter", "this fake prices eip PayAsYouGo only")
        modules = []
        n = 1
        while f"ModuleList.{n}.ModuleCode" in params:
            code, config, kind = (params[f"ModuleList.{n}.{part}"] for part in ("ModuleCode", "Config", "PriceType"))
            if code != "InternetTrafficOut" or kind != "Usage" or not config.startswith("InternetTrafficOut:"):
                return self._error(400, "InvalidParameter", f"module {code} {config} {kind} is not known")
            unit = self.cloud.eip_traffic_gb
            modules.append({"ModuleCode": code, "OriginalCost": unit, "InvoiceDiscount": 0.0,
                            "CostAfterDiscount": unit, "UnitPrice": unit})
            n += 1
        body = {"Code": "Success", "Message": "Successful!", "RequestId": secrets.token_hex(8), "Success": True,
                "Data": {"Currency": self.cloud.currency, "ModuleDetails": {"ModuleDetail": modules},
                         "PromotionDetails": {"PromotionDetail": []}}}
        self._reply(200, json.dumps(body), "application/json")

    # -- resources ---------------------------------------------------------------------------

    def _ok(self, body: dict[str, Any]) -> None:
        self._reply(200, json.dumps({"RequestId": secrets.token_hex(8), **body}), "application/json")

    def _instance(self, params: dict[str, str]) -> FakeInstance | None:
        found = [i for i in self.cloud.instances if i.instance_id == params.get("InstanceId")]
        if not found or found[0].region != params.get("RegionId"):
            self._error(404, "InvalidInstanceId.NotFound", f"The specified InstanceId {params.get('InstanceId')} does not exist.")
            return None
        return found[0]

    def _describe_instances(self, params: dict[str, str]) -> None:
        chosen = [i for i in self.cloud.instances if i.region == params.get("RegionId")]
        if "InstanceName" in params:
            chosen = [i for i in chosen if i.name == params["InstanceName"]]
        if "InstanceIds" in params:
            chosen = [i for i in chosen if i.instance_id in json.loads(params["InstanceIds"])]
        n = 1
        while f"Tag.{n}.Key" in params:
            key, value = params[f"Tag.{n}.Key"], params.get(f"Tag.{n}.Value")
            chosen = [i for i in chosen if key in i.tags and (value is None or i.tags[key] == value)]
            n += 1
        items = [{"InstanceId": i.instance_id, "InstanceName": i.name, "RegionId": i.region, "Status": i.status,
                  "ImageId": i.image_id,
                  "EipAddress": {"IpAddress": i.public_ip}, "PublicIpAddress": {"IpAddress": []},
                  "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in i.tags.items()]}} for i in chosen]
        self._ok({"Instances": {"Instance": items}, "TotalCount": len(items), "PageNumber": 1, "PageSize": 10})

    def _console_output(self, params: dict[str, str]) -> None:
        instance = self._instance(params)
        if instance is None:
            return None
        if instance.status not in ("Running", "Stopped", "Stopping", "Starting"):
            return self._error(403, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")
        output = base64.b64encode(instance.console.encode()).decode()
        return self._ok({"InstanceId": instance.instance_id, "ConsoleOutput": output,
                         "LastUpdateTime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})

    def _describe_disks(self, params: dict[str, str]) -> None:
        chosen = list(self.cloud.disks)
        if "DiskName" in params:
            chosen = [d for d in chosen if d.name == params["DiskName"]]
        if "DiskIds" in params:
            chosen = [d for d in chosen if d.disk_id in json.loads(params["DiskIds"])]
        if "InstanceId" in params:
            chosen = [d for d in chosen if d.instance_id == params["InstanceId"]]
        items = [{"DiskId": d.disk_id, "DiskName": d.name, "Size": d.size, "Category": d.category, "Type": "data",
                  "Status": "In_use" if d.instance_id else "Available", "InstanceId": d.instance_id} for d in chosen]
        self._ok({"Disks": {"Disk": items}, "TotalCount": len(items), "PageNumber": 1, "PageSize": 10})

    def _describe_snapshots(self, params: dict[str, str]) -> None:
        chosen = [s for s in self.cloud.snapshots if s["SourceDiskId"] == params.get("DiskId", s["SourceDiskId"])]
        self._ok({"Snapshots": {"Snapshot": chosen}, "TotalCount": len(chosen), "PageNumber": 1, "PageSize": 10})

    def _create_snapshot(self, params: dict[str, str]) -> None:
        if not any(d.disk_id == params.get("DiskId") for d in self.cloud.disks):
            return self._error(404, "InvalidDiskId.NotFound", f"The specified disk {params.get('DiskId')} does not exist.")
        snapshot_id = "s-" + secrets.token_hex(10)
        with self.cloud.lock:
            self.cloud.snapshots.append({
                "SnapshotId": snapshot_id, "SnapshotName": params.get("SnapshotName", ""), "SourceDiskId": params["DiskId"],
                "Status": "accomplished", "Progress": "100%", "Description": params.get("Description", ""),
                "CreationTime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        return self._ok({"SnapshotId": snapshot_id})


    def _describe_images(self, params: dict[str, str]) -> None:
        if params.get("ImageOwnerAlias") == "system":  # public images that InstanceType (when given) can run
            chosen = [{k: v for k, v in i.items() if k != "Runs"} for i in self.cloud.public_images
                      if params.get("InstanceType", "") in i.get("Runs", [params.get("InstanceType", "")])]
            size, page = int(params.get("PageSize", 10)), int(params.get("PageNumber", 1))
            return self._ok({"Images": {"Image": chosen[(page - 1) * size:page * size]}, "TotalCount": len(chosen),
                             "PageNumber": page, "PageSize": size, "RegionId": params.get("RegionId")})
        if params.get("ImageOwnerAlias") != "self":
            return self._error(400, "InvalidParameter", "this fake answers ImageOwnerAlias=self and system only")
        statuses = params.get("Status", "Available").split(",")  # the API's default: Available only
        chosen = [i for i in self.cloud.images if i["Status"] in statuses
                  and params.get("ImageName", "") in i["ImageName"]  # ImageName: a fuzzy match
                  and params.get("ImageId", i["ImageId"]) == i["ImageId"]]
        size, page = int(params.get("PageSize", 10)), int(params.get("PageNumber", 1))
        if size > 100:
            return self._error(400, "InvalidParameter.PageSize", "PageSize must be 1-100.")
        return self._ok({"Images": {"Image": chosen[(page - 1) * size:page * size]}, "TotalCount": len(chosen),
                         "PageNumber": page, "PageSize": size, "RegionId": params.get("RegionId")})

    def _image(self, params: dict[str, str], key: str = "ImageId") -> dict[str, Any] | None:
        found = [i for i in self.cloud.images if i["ImageId"] == params.get(key)]
        if not found:
            self._error(404, "InvalidImageId.NotFound", f"The specified ImageId {params.get(key)} does not exist.")
            return None
        return found[0]

    def _delete_image(self, params: dict[str, str]) -> None:
        image = self._image(params)
        if image is None:
            return None
        if any(i.image_id == image["ImageId"] for i in self.cloud.instances) and params.get("Force") != "true":
            return self._error(403, "IncorrectImageStatus", "The image is being used by instances.")
        with self.cloud.lock:
            self.cloud.images.remove(image)
        return self._ok({})

    def _tag_resources(self, params: dict[str, str]) -> None:
        if params.get("ResourceType") == "snapshot":
            with self.cloud.lock:
                n = 1
                while f"ResourceId.{n}" in params:
                    self.cloud.tagged_snapshots[params[f"ResourceId.{n}"]] = params.get("Tag.1.Value", "")
                    n += 1
            return self._ok({})
        if params.get("ResourceType") != "image":
            return self._error(400, "InvalidResourceType.NotSupported", "this fake tags images and snapshots only")
        image = self._image(params, "ResourceId.1")
        if image is None:
            return None
        n = 1
        with self.cloud.lock:
            tags = image.setdefault("Tags", {"Tag": []})["Tag"]
            while f"Tag.{n}.Key" in params:
                tags[:] = [t for t in tags if t["TagKey"] != params[f"Tag.{n}.Key"]]
                tags.append({"TagKey": params[f"Tag.{n}.Key"], "TagValue": params.get(f"Tag.{n}.Value", "")})
                n += 1
        return self._ok({})

    def _delete_snapshot(self, params: dict[str, str]) -> None:
        if any(params.get("SnapshotId") == m.get("SnapshotId") for i in self.cloud.images
               for m in (i.get("DiskDeviceMappings") or {}).get("DiskDeviceMapping", [])):
            return self._error(403, "IncorrectSnapshotStatus", "The snapshot is used by an image.")
        with self.cloud.lock:
            self.cloud.deleted_snapshots.append(params.get("SnapshotId", ""))
        return self._ok({})

    def _describe_executions(self, params: dict[str, str]) -> None:
        chosen = [e for e in self.cloud.executions if e["ExecutionId"] == params.get("ExecutionId", e["ExecutionId"])]
        return self._ok({"ImagePipelineExecution": {"ImagePipelineExecutionSet": chosen}, "TotalCount": len(chosen),
                         "MaxResults": 50})

    # -- the preflight ------------------------------------------------------------------------------

    def _available_resource(self, params: dict[str, str]) -> None:
        destination = params.get("DestinationResource", "")
        if destination not in ("Zone", "IoOptimized", "InstanceType", "SystemDisk", "DataDisk", "Network", "ddh"):
            return self._error(400, "InvalidParam.DestinationResource", f"{destination} is not valid.")
        if destination not in ("SystemDisk", "DataDisk"):
            return self._error(400, "InvalidParameter", "this fake answers SystemDisk and DataDisk only")
        if params.get("ResourceType") == "instance" and not params.get("InstanceType"):
            return self._error(400, "MissingParameter.InstanceType", "InstanceType is mandatory with ResourceType instance.")
        if destination == "DataDisk" and params.get("ResourceType") == "instance" and not (
                params.get("SystemDiskCategory") and params.get("DataDiskCategory")):
            return self._error(400, "MissingParameter", "DataDisk with ResourceType instance takes SystemDiskCategory and "
                                                        "DataDiskCategory.")
        zones = self.cloud.stock.get(params.get("InstanceType", ""), {})
        items = [{"ZoneId": zone, "RegionId": params.get("RegionId"), "Status": "Available", "StatusCategory": "WithStock",
                  "AvailableResources": {"AvailableResource": [{"Type": destination, "SupportedResources": {
                      "SupportedResource": [{"Value": category, "Status": "Available", "StatusCategory": "WithStock",
                                             "Min": 20, "Max": 32768, "Unit": "GiB"}
                                            for category in sorted(offer.get(destination, set()))]}}]}}
                 for zone, offer in sorted(zones.items()) if offer.get(destination)
                 and (destination == "SystemDisk" or params["SystemDiskCategory"] in offer.get("SystemDisk", set()))]
        return self._ok({"AvailableZones": {"AvailableZone": items}} if items else {})  # none: no AvailableZones at all

    def _instance_types(self, params: dict[str, str]) -> None:
        wanted = [params[k] for k in sorted(params) if k.startswith("InstanceTypes.")]
        items = [{"InstanceTypeId": t, "CpuCoreCount": n, "MemorySize": n * 2.0} for t, n in self.cloud.vcpus.items()
                 if not wanted or t in wanted]
        return self._ok({"InstanceTypes": {"InstanceType": items}})

    def _account_attributes(self, params: dict[str, str]) -> None:
        wanted = [params[k] for k in sorted(params) if k.startswith("AttributeName.")]
        items = [{"AttributeName": name, "AttributeValues": {"ValueItem": [{"Value": str(value), "Count": 1}]}}
                 for name, value in self.cloud.attributes.items() if not wanted or name in wanted]
        return self._ok({"AccountAttributeItems": {"AccountAttributeItem": items}})

    def _security_groups(self, params: dict[str, str]) -> None:
        # The SDK model: TotalCount "is not returned when you use MaxResults and NextToken" (paging by token).
        counted = {} if "MaxResults" in params else {"TotalCount": self.cloud.security_groups}
        return self._ok({"SecurityGroups": {"SecurityGroup": []}, **counted, "RegionId": params.get("RegionId"),
                         "PageSize": int(params.get("PageSize", 10)), "PageNumber": int(params.get("PageNumber", 1))})

    def _run_instances(self, params: dict[str, str]) -> None:
        if params.get("DryRun", "").lower() != "true":  # the SDK writes a bool as Python spells it
            return self._error(400, "InvalidParameter", "this fake launches nothing: DryRun=true only")
        # RAM first (above, in _serve), then the request's own checks: a VPC instance needs its vSwitch.
        if not params.get("VSwitchId") and not self.cloud.dry_run_without_network:
            return self._error(400, "MissingParameter", "The input parameter VSwitchId that is mandatory for processing "
                                                        "this request is not supplied.")
        zone = self.cloud.stock.get(params.get("InstanceType", ""), {}).get(params.get("ZoneId", ""))
        if not zone:
            return self._error(403, "Zone.NotOnSale", "The specified zone is not available for purchase.")
        return self._error(400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")


_ECS_ACTIONS = {
    "DescribeAvailableResource": "_available_resource",
    "DescribeInstanceTypes": "_instance_types",
    "DescribeAccountAttributes": "_account_attributes",
    "DescribeSecurityGroups": "_security_groups",
    "RunInstances": "_run_instances",
    "DescribeImages": "_describe_images",
    "DeleteImage": "_delete_image",
    "TagResources": "_tag_resources",
    "DescribeImagePipelineExecutions": "_describe_executions",
    "DeleteSnapshot": "_delete_snapshot",
    "DescribeInstances": "_describe_instances",
    "GetInstanceConsoleOutput": "_console_output",
    "DescribeDisks": "_describe_disks",
    "DescribeSnapshots": "_describe_snapshots",
    "CreateSnapshot": "_create_snapshot",
}


@dataclass
class OssAccount:
    """OSS buckets by name: 'mine' (the caller's account owns it), 'theirs' (another account's), or 'theirs-readable'
    (another account's, with a policy that lets the caller read its info)."""
    access_key_id: str
    access_key_secret: str
    region: str
    account_id: str
    buckets: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class OssBucketHandler(_Handler):
    """OSS GetBucketInfo, path style (GET /<bucket>/?bucketInfo): the V4 signature recomputed with the official
    SDK's signer from the request as it arrived; NoSuchBucket (404) for a name nobody owns, AccessDenied (403) for
    another account's bucket, the bucket's info for the caller's own."""

    cloud: OssAccount  # type: ignore[assignment]

    def _oss_error(self, status: int, code: str, message: str) -> None:
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{secrets.token_hex(12).upper()}</RequestId><HostId>127.0.0.1</HostId></Error>")
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-oss-request-id", secrets.token_hex(12).upper())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self) -> None:  # noqa: N802
        from alibabacloud_oss_v2 import types
        from alibabacloud_oss_v2.signer import SignerV4

        book = self.cloud
        split = urllib.parse.urlsplit(self.path)
        bucket = split.path.strip("/").split("/")[0]
        headers = dict(self.headers.items())
        given = headers.get("Authorization", "")
        fields = dict(part.strip().split("=", 1) for part in given.removeprefix("OSS4-HMAC-SHA256 ").split(",") if "=" in part)
        if not fields.get("Credential", "").startswith(book.access_key_id + "/"):
            return self._oss_error(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")
        when = datetime.datetime.strptime(headers.get("x-oss-date", "19700101T000000Z"), "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
        request = types.HttpRequest("GET", f"http://{headers.get('Host')}{self.path}",
                                    headers={k: v for k, v in headers.items() if k.lower() != "authorization"})
        context = types.SigningContext(product="oss", region=book.region, bucket=bucket, key=None, request=request,
                                       credentials=types.Credentials(book.access_key_id, book.access_key_secret),
                                       signing_time=when)
        SignerV4().sign(context)
        if not hmac.compare_digest(request.headers["Authorization"], given):
            return self._oss_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if "bucketInfo" not in urllib.parse.parse_qs(split.query, keep_blank_values=True):
            return self._oss_error(400, "InvalidArgument", "this fake answers GetBucketInfo only")
        with book.lock:
            book.requests.append(bucket)
        owner = book.buckets.get(bucket)
        if owner is None:
            return self._oss_error(404, "NoSuchBucket", "The specified bucket does not exist.")
        if owner == "theirs":
            return self._oss_error(403, "AccessDenied", "You have no right to access this bucket.")
        owner_id = self.cloud.account_id if owner == "mine" else "1999999999999999"
        body = (f'<?xml version="1.0" encoding="UTF-8"?><BucketInfo><Bucket><Name>{bucket}</Name>'
                f"<Owner><ID>{owner_id}</ID><DisplayName>{owner_id}</DisplayName></Owner>"
                f"<Location>oss-{book.region}</Location><CreationDate>2026-11-01T00:00:00.000Z</CreationDate>"
                "<StorageClass>Standard</StorageClass></Bucket></BucketInfo>")
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-oss-request-id", secrets.token_hex(12).upper())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
