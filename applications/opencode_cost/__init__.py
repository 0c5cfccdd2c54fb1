"""The cost estimate: what the synthesized stacks would cost a month, priced live through the
official SDKs when credentials exist, else from a dated table. `scripts/cost` runs it."""
from .estimate import Estimate, Line, estimate
from .live import LivePrices, LiveUnavailable
from .resources import FREE, NOT_PRICED, PRICED, UnknownResource, usages
from .table import Price, PriceTable

__all__ = ["FREE", "NOT_PRICED", "PRICED", "Estimate", "Line", "LivePrices", "LiveUnavailable", "Price",
           "PriceTable", "UnknownResource", "estimate", "usages"]
