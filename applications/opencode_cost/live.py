"""Live prices through the official SDKs: ECS DescribePrice for instances and disks, and BSS
GetPayAsYouGoPrice for EIP traffic. Answers are cached for a day; any failure is reported to the
caller as a `LiveUnavailable` with the API's code and message, never as a traceback."""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from opencode_api import ApiUnavailable, api_error, client_config

CACHE_SECONDS = 24 * 3600
BSS_ENDPOINT = "business.ap-southeast-1.aliyuncs.com"  # the international site's BSS (the SDK's own map)


LiveUnavailable = ApiUnavailable  # no live price: no credentials, or the API said no


@dataclass(frozen=True)
class Quote:
    amount: float  # TradePrice (after the account's discounts) or UnitPrice, in `currency`
    currency: str
    source: str  # e.g. "ECS DescribePrice"
    date: str  # when the API answered (UTC date)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opencode-alicloud" / "prices"


class LivePrices:
    """Price queries for one region. `endpoint` (host:port or URL) replaces both APIs' endpoints,
    for a local fake or a private endpoint."""

    def __init__(self, region: str, credential: Any, *, endpoint: str | None = None, cache: Path | None = None,
                 refresh: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.region = region
        self.cache = cache or cache_dir()
        self.refresh = refresh
        self.clock = clock
        self._endpoint = endpoint or ""
        self._asked: dict[str, dict[str, Any]] = {}  # this run's answers (also with refresh)

        from alibabacloud_bssopenapi20171214.client import Client as BssClient
        from alibabacloud_ecs20140526.client import Client as EcsClient

        self._ecs = EcsClient(client_config(region, credential, endpoint))
        self._bss = BssClient(client_config(region, credential, endpoint, BSS_ENDPOINT))

    # -- the queries ---------------------------------------------------------------------------

    def instance(self, instance_type: str, disk_category: str, disk_size: int, unit: str) -> dict[str, Quote]:
        """DescribePrice for an instance with its system disk; quotes by DetailInfo resource
        (instanceType, systemDisk, ...) per hour (unit Hour) or per month (unit Month)."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribePriceRequest(
            region_id=self.region, resource_type="instance", instance_type=instance_type,
            instance_network_type="vpc", io_optimized="optimized", price_unit=unit, period=1, amount=1,
            system_disk=models.DescribePriceRequestSystemDisk(category=disk_category, size=disk_size),
        )
        body = self._cached("DescribePrice", request.to_map(), lambda: self._ecs.describe_price(request).body.to_map())
        return self._details(body, "ECS DescribePrice")

    def disk(self, category: str, size: int) -> Quote:
        """DescribePrice for a pay-as-you-go disk of this size, per hour (the API prices disks by the hour only)."""
        from alibabacloud_ecs20140526 import models

        request = models.DescribePriceRequest(
            region_id=self.region, resource_type="disk", price_unit="Hour", period=1, amount=1,
            data_disk=[models.DescribePriceRequestDataDisk(category=category, size=size)],
        )
        body = self._cached("DescribePrice", request.to_map(), lambda: self._ecs.describe_price(request).body.to_map())
        price = body["PriceInfo"]["Price"]
        return Quote(float(price["TradePrice"]), price["Currency"], "ECS DescribePrice", body["_date"])

    def eip_traffic(self) -> Quote:
        """GetPayAsYouGoPrice for a pay-by-traffic EIP: the unit price of 1 GB out."""
        from alibabacloud_bssopenapi20171214 import models

        request = models.GetPayAsYouGoPriceRequest(
            product_code="eip", subscription_type="PayAsYouGo", region=self.region,
            module_list=[models.GetPayAsYouGoPriceRequestModuleList(
                module_code="InternetTrafficOut", config="InternetTrafficOut:1", price_type="Usage")],
        )
        body = self._cached("GetPayAsYouGoPrice", request.to_map(),
                            lambda: self._bss.get_pay_as_you_go_price(request).body.to_map())
        if not body.get("Success", False):
            raise LiveUnavailable(f"BSS GetPayAsYouGoPrice: {body.get('Code')}: {body.get('Message')}")
        data = body["Data"]
        for module in data["ModuleDetails"]["ModuleDetail"]:
            if module["ModuleCode"] == "InternetTrafficOut":
                return Quote(float(module["UnitPrice"]), data["Currency"], "BSS GetPayAsYouGoPrice", body["_date"])
        raise LiveUnavailable("BSS GetPayAsYouGoPrice: no InternetTrafficOut module in the answer")

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _details(body: dict[str, Any], source: str) -> dict[str, Quote]:
        price = body["PriceInfo"]["Price"]
        currency = price["Currency"]
        quotes = {"total": Quote(float(price["TradePrice"]), currency, source, body["_date"])}
        for detail in price.get("DetailInfos", {}).get("DetailInfo", []):
            amount = detail.get("TradePrice", detail.get("OriginalPrice"))
            if amount is not None:
                quotes[detail["Resource"]] = Quote(float(amount), currency, source, body["_date"])
        return quotes

    def _cached(self, action: str, request: dict[str, Any], call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = json.dumps({"endpoint": self._endpoint, "action": action, "request": request}, sort_keys=True)
        if key in self._asked:
            return self._asked[key]
        path = self.cache / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
        now = self.clock()
        if not self.refresh and path.is_file():
            try:
                stored = json.loads(path.read_text())
                if now - stored["time"] < CACHE_SECONDS:
                    self._asked[key] = stored["body"]
                    return stored["body"]
            except (ValueError, KeyError):
                pass  # a damaged cache entry is asked again
        try:
            body = call()
        except Exception as error:  # noqa: BLE001 - TeaException, network errors: all mean "no live price"
            raise LiveUnavailable(f"{action}: {api_error(error)}") from None
        body["_date"] = datetime.fromtimestamp(now, timezone.utc).date().isoformat()
        self.cache.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"time": now, "body": body}))
        self._asked[key] = body
        return body
