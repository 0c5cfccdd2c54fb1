"""The estimate: each usage of the synthesized stacks, priced (your price, else live, else the
table), as a month of pay-as-you-go and of subscription, and the savings views side by side."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opencode_settings import CostSettings, ScheduleSettings

from .live import LivePrices, LiveUnavailable, Quote
from .resources import Unpriced, Usage, region_of, usages
from .table import Price, PriceTable, to_usd

SPOT_DISCOUNT = (0.10, 0.90)  # "up to 90 % less than pay-as-you-go" (ECS spot docs); no per-type figure exists


@dataclass(frozen=True)
class Line:
    usage: Usage
    payg: Price | None  # None: no price anywhere (the line is outside the totals)
    month: Price | None  # the subscription price, where one applies and is known

    def monthly(self, cost: CostSettings, running_hours: float, traffic: bool = True) -> float:
        """This line's pay-as-you-go amount for a month in which the instances run `running_hours`."""
        if self.payg is None:
            return 0.0
        unit, basis, quantity = self.payg.usd, self.usage.basis, self.usage.quantity
        if basis == "running":
            return unit * quantity * running_hours
        if basis == "calendar":
            return unit * quantity * cost.hours_per_month
        if basis == "traffic":
            return unit * cost.traffic_gb_per_month if traffic else 0.0
        return unit * quantity

    def subscription(self, cost: CostSettings) -> float:
        """A month of the 1-month subscription where it applies, else the always-on pay-as-you-go amount."""
        if self.month is not None:
            return self.month.usd * self.usage.quantity
        return self.monthly(cost, cost.hours_per_month)


@dataclass
class Estimate:
    region: str
    cost: CostSettings
    lines: list[Line]
    not_priced: list[Unpriced]
    free: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)

    def schedule_hours(self) -> float:
        """Hours a month the schedule runs the instances (weeks of 365 / 7 / 12 a month)."""
        return min(self.schedule.hours_per_week() * 365 / 7 / 12, self.cost.hours_per_month)

    def total(self, running_hours: float, traffic: bool = True) -> float:
        return sum(line.monthly(self.cost, running_hours, traffic) for line in self.lines)

    def compute(self) -> float:
        return sum(line.monthly(self.cost, self.cost.hours_per_month) for line in self.lines if line.usage.basis == "running")

    def views(self) -> dict[str, dict[str, Any]]:
        cost, always_on, compute = self.cost, self.total(self.cost.hours_per_month), self.compute()
        spot_low = always_on - compute * SPOT_DISCOUNT[1]
        spot_high = always_on - compute * SPOT_DISCOUNT[0]
        return {
            "always_on": {"usd": always_on, "what": f"running {cost.hours_per_month:g} h a month, pay-as-you-go"},
            "subscription": {"usd": sum(line.subscription(cost) for line in self.lines),
                             "what": "1-month subscription where it applies (instances, system disks); the rest pay-as-you-go"},
            "stopped": {"usd": self.total(0, traffic=False),
                        "what": "stopped all month in economical mode: disks, snapshots and the EIP still bill; compute does not"},
            "schedule": {"usd": self.total(self.schedule_hours()),
                         "what": f"running {self.schedule.start}-{self.schedule.stop} {self.schedule.weekdays} "
                                 f"({self.schedule.time_zone}): {self.schedule_hours():.0f} h a month, stopped "
                                 "(economical mode) otherwise" + ("" if self.schedule.enabled else
                                                                  "; not enabled (schedule.enabled)")},
            "idle_stop": {"usd": self.total(cost.usage_hours_per_month),
                          "what": f"in use {cost.usage_hours_per_month:g} h a month, stopped (economical mode) when idle"},
            "spot": {"usd_low": spot_low, "usd_high": spot_high,
                     "what": "spot instances: 10-90 % off compute (spot prices float; up to 90 % off pay-as-you-go)"},
        }

    def sources(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in self.lines:
            origin = line.payg.origin if line.payg else "none"
            counts[origin] = counts.get(origin, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        def price(value: Price | None) -> dict[str, Any] | None:
            if value is None:
                return None
            return {"usd": value.usd, "origin": value.origin, "label": value.label, "source": value.source,
                    "source_date": value.source_date, "confidence": value.confidence, "notes": list(value.notes)}

        return {
            "region": self.region,
            "currency": "USD",
            "assumptions": self.cost.model_dump(),
            "lines": [
                {"resource": line.usage.resource, "stack": line.usage.stack, "what": line.usage.what,
                 "price_key": line.usage.key, "quantity": line.usage.quantity, "basis": line.usage.basis,
                 "assumption": line.usage.assumption,
                 "payg_month_usd": line.monthly(self.cost, self.cost.hours_per_month) if line.payg else None,
                 "subscription_month_usd": line.subscription(self.cost) if line.payg else None,
                 "payg_price": price(line.payg), "subscription_price": price(line.month)}
                for line in self.lines
            ],
            "views": self.views(),
            "price_origins": self.sources(),
            "not_priced": [{"resource": item.resource, "stack": item.stack, "reason": item.reason} for item in self.not_priced],
            "unpriced_lines": [line.usage.resource for line in self.lines if line.payg is None],
            "free": [f"{stack}: {address}" for stack, address in self.free],
            "notes": self.notes,
        }


class Pricer:
    """Your price, else a live quote, else the table; the first live failure turns live off."""

    def __init__(self, region: str, cost: CostSettings, table: PriceTable, live: LivePrices | None,
                 live_note: str | None = None) -> None:
        self.region, self.cost, self.table, self.live = region, cost, table, live
        self.notes: list[str] = [live_note] if live_note else []

    def _from_quote(self, quote: Quote, per: float) -> Price:
        usd, notes = to_usd(quote.amount / per, quote.currency, self.cost.cny_per_usd)
        return Price(usd, "live", quote.source, quote.date, "quote", notes)

    def _live(self, key: str, usage: Usage) -> Price | None:
        if self.live is None:
            return None
        kind, _, _ = key.partition("/")
        spec = usage.spec
        try:
            if kind in ("instance", "instance-month") and usage.basis == "running":
                unit = "Hour" if kind == "instance" else "Month"
                quote = self.live.instance(spec["instance_type"], spec["system_disk_category"], spec["system_disk_size"], unit)
                return self._from_quote(quote["instanceType"], 1)
            if kind in ("disk", "disk-month") and "instance_type" in spec:  # a system disk, priced with its instance
                unit = "Hour" if kind == "disk" else "Month"
                quote = self.live.instance(spec["instance_type"], spec["system_disk_category"], spec["system_disk_size"], unit)
                return self._from_quote(quote["systemDisk"], usage.quantity)
            if kind == "disk":
                return self._from_quote(self.live.disk(spec["category"], spec["size"]), usage.quantity)
            if kind == "eip-traffic":
                return self._from_quote(self.live.eip_traffic(), 1)
        except (LiveUnavailable, KeyError, TypeError, ValueError) as error:
            reason = str(error) if isinstance(error, LiveUnavailable) else f"an answer without {error}"
            self.notes.append(f"live prices failed ({reason}); the table is used instead")
            self.live = None
        return None

    def price(self, key: str | None, usage: Usage) -> Price | None:
        if key is None:
            return None
        if key in self.cost.prices:
            return Price(self.cost.prices[key], "yours", "cost.prices", "", "yours")
        return self._live(key, usage) or self.table.price(key, self.region, self.cost.cny_per_usd)


def estimate(documents: dict[str, dict[str, Any]], cost: CostSettings, *, table: PriceTable | None = None,
             live: LivePrices | None = None, live_note: str | None = None,
             schedule: ScheduleSettings | None = None) -> Estimate:
    """Price every billable resource of the synthesized stacks (stack name -> cdk.tf.json)."""
    region = next((region_of(doc) for doc in documents.values() if region_of(doc)), "")
    priced, not_priced, free = usages(documents, cost)
    pricer = Pricer(region, cost, table or PriceTable.load(), live, live_note)
    lines = [Line(usage, pricer.price(usage.key, usage), pricer.price(usage.month_key, usage)) for usage in priced]
    notes = pricer.notes
    stopped = sorted({u.part for u in priced if u.basis == "running" and u.spec.get("status") == "Stopped"})
    if stopped:
        notes.append(f"{', '.join(stopped)} set to stopped (power): the 'stopped' view is what it bills while it stays so")
    spot = sorted({u.part for u in priced if u.basis == "running" and u.spec.get("spot")})
    if spot:
        notes.append(f"{', '.join(spot)} runs as spot: its compute line is the pay-as-you-go ceiling; "
                     "the 'spot' view's range is the estimate")
    missing = [line.usage.key for line in lines if line.payg is None]
    if missing:
        notes.append("no price known for " + ", ".join(sorted(set(missing))) +
                     ": these lines are outside the totals; set cost.prices or use live prices")
    return Estimate(region, cost, lines, not_priced, free, notes, schedule or ScheduleSettings())
