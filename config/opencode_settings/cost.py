"""The cost concern: the assumptions of the cost estimate (scripts/cost), and price overrides.

Nothing here reaches a resource: these settings only change what the estimate prints."""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A price key names what is priced; each kind has one unit, always in USD.
PRICE_KEY_UNITS: dict[str, str] = {
    "instance": "hour",  # pay-as-you-go
    "instance-month": "month",  # 1-month subscription
    "disk": "GiB-hour",  # pay-as-you-go
    "disk-month": "GiB-month",  # subscription (system disks only)
    "snapshot": "GB-month",
    "eip-traffic": "GB",  # sent out
    "eip-config": "hour",
    "oss-storage": "GB-month",
}
_PRICE_KEY_RE = re.compile(
    r"^(instance|instance-month)/ecs\.[a-z0-9-]+\.[a-z0-9]+$"
    r"|^(disk|disk-month)/(cloud_essd_entry|cloud_auto|cloud_essd|cloud_ssd|cloud_efficiency)$"
    r"|^(snapshot|eip-traffic|eip-config|oss-storage)$"
)


class CostSettings(BaseModel):
    """Assumptions of the cost estimate, each with a default, and prices you know better."""

    model_config = ConfigDict(extra="forbid")

    hours_per_month: float = Field(730, gt=0, le=744, description="Hours in a billed month (730 = 365 × 24 / 12).")
    usage_hours_per_month: float = Field(
        176, ge=0, le=744, description="Hours a month the workspace is in use (the idle-stop view; 176 = 8 h × 22 days)."
    )
    traffic_gb_per_month: float = Field(20, ge=0, le=1_000_000, description="GB sent out through the EIP a month.")
    disk_used_percent: float = Field(
        50, gt=0, le=100, description="Share of the data disk that holds data (the first snapshot's size)."
    )
    snapshot_change_percent_per_day: float = Field(
        2, ge=0, le=100, description="Share of the used data that changes a day (each later snapshot's size)."
    )
    state_bucket_gb: float = Field(1, ge=0, le=1_000_000, description="GB kept in the state bucket (state and its old versions).")
    audit_bucket_gb: float = Field(5, ge=0, le=1_000_000, description="GB kept in the audit trail's bucket (its retention's worth).")
    bakes_per_month: float = Field(
        1, ge=0, le=1000, description="Image bakes a month (image_source = baked: one per OpenCode upgrade or recipe change).")
    bake_minutes: float = Field(
        20, gt=0, le=1440, description="Minutes a bake's temporary instance runs (Image Builder: boot, the recipe, "
        "the image; the recipe took about 13 minutes under emulation in the boot rehearsal, 2026-12-02).")
    baked_image_gb: float = Field(
        4, ge=0, le=500, description="GB a baked image's snapshot holds (the used part of its system disk).")
    cny_per_usd: float = Field(
        7.2, gt=0, le=100, description="Exchange rate used for CNY prices (an assumption; shown wherever it is used)."
    )
    prices: dict[str, float] = Field(
        default_factory=dict,
        description="Your own prices, in USD, by price key (e.g. `instance/ecs.e-c1m2.large` per hour; "
        "docs/guides/cost.md lists the keys); they win over live and table prices.",
    )

    @field_validator("prices")
    @classmethod
    def _price_keys(cls, value: dict[str, float]) -> dict[str, float]:
        for key, price in value.items():
            if not _PRICE_KEY_RE.fullmatch(key):
                raise ValueError(
                    f"{key!r} is not a price key; use one of "
                    + ", ".join(f"{kind}{'/<type>' if kind.startswith('instance') else '/<category>' if kind.startswith('disk') else ''}"
                                for kind in PRICE_KEY_UNITS)
                )
            if not 0 <= price < 1_000_000:
                raise ValueError(f"{key!r}: price {price} must be 0 or more, in USD")
        return value
