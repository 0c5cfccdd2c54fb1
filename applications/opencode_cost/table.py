"""The fallback price table (prices.json) and the one shape every price takes, wherever it came from."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

TABLE = Path(__file__).with_name("prices.json")
_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}

Origin = Literal["yours", "live", "table"]


@dataclass(frozen=True)
class Price:
    """A unit price in USD, and where it came from; `label` is what the estimate prints beside it."""

    usd: float
    origin: Origin
    source: str
    source_date: str
    confidence: str  # "quote" (live), "yours", or the table row's high / medium / low
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.origin == "yours":
            return "your price (cost.prices)"
        if self.origin == "live":
            return f"live quote, {self.source}, {self.source_date}"
        dated = f"prices of {self.source_date}" if self.source_date[:1].isdigit() else f"{self.source_date} documentation"
        return f"estimate, {dated}, {self.confidence} confidence" + "".join(f"; {n}" for n in self.notes)


@dataclass(frozen=True)
class Row:
    key: str
    region: str
    price: float
    currency: str
    source: str
    source_date: str
    confidence: str


def to_usd(amount: float, currency: str, cny_per_usd: float) -> tuple[float, tuple[str, ...]]:
    if currency == "USD":
        return amount, ()
    if currency == "CNY":
        return amount / cny_per_usd, (f"converted from {amount:g} CNY at {cny_per_usd:g} CNY/USD (assumed rate)",)
    raise ValueError(f"unknown currency {currency!r}")


class PriceTable:
    def __init__(self, document: dict[str, Any]) -> None:
        self.collected: str = document["collected"]
        self.rows = [Row(**row) for row in document["rows"]]

    @classmethod
    def load(cls, path: Path = TABLE) -> "PriceTable":
        return cls(json.loads(path.read_text()))

    def find(self, key: str, region: str) -> Row | None:
        """This region's row, else an every-region row, else another region's (best confidence, newest)."""
        rows = [row for row in self.rows if row.key == key]
        for wanted in (region, "*"):
            exact = [row for row in rows if row.region == wanted]
            if exact:
                return exact[0]
        best = sorted(rows, key=lambda row: (_CONFIDENCE_RANK[row.confidence], _newest_first(row.source_date)))
        return best[0] if best else None

    def price(self, key: str, region: str, cny_per_usd: float) -> Price | None:
        row = self.find(key, region)
        if row is None:
            return None
        usd, notes = to_usd(row.price, row.currency, cny_per_usd)
        if row.region not in (region, "*"):
            notes = (f"{row.region} list, not {region}", *notes)
        return Price(usd, "table", row.source, row.source_date, row.confidence, notes)


def _newest_first(date: str) -> str:
    # ISO dates sort as text; invert each digit so the newest comes first in an ascending sort.
    return "".join(chr(ord("9") - ord(c) + ord("0")) if c.isdigit() else c for c in date)
