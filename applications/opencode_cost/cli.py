"""`scripts/cost`: what the stack of your settings would cost a month, before anything exists.

Exit status: 0 estimate printed; 2 bad settings or a synth that failed (one line per problem)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from opencode_api import default_credential
from opencode_settings import SettingsError, load_settings
from opencode_settings.cost import PRICE_KEY_UNITS

from .estimate import Estimate, estimate
from .live import LivePrices, LiveUnavailable
from .resources import region_of

ROOT = Path(__file__).resolve().parents[2]
app = typer.Typer(add_completion=False, help=__doc__)


def synthesize() -> dict[str, dict[str, Any]]:
    """Run main.py (the same synth and policy check as `cdktf synth`) into a scratch folder; the
    documents by stack. SystemExit(2) with main.py's own lines when the settings are bad."""
    with tempfile.TemporaryDirectory(prefix="opencode-cost-") as scratch:
        env = {**os.environ, "CDKTF_OUTDIR": scratch}
        result = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            raise typer.Exit(2)
        stacks = Path(scratch) / "stacks"
        return {path.name: json.loads((path / "cdk.tf.json").read_text()) for path in sorted(stacks.iterdir())}


def live_or_table(region: str, endpoint: str | None, live: bool = True, refresh: bool = False) -> dict[str, Any]:
    """estimate()'s live arguments: live prices when asked for and credentials exist, else why not."""
    if not live:
        return {"live": None, "live_note": "live prices off (--no-live)"}
    try:
        return {"live": LivePrices(region, default_credential(), endpoint=endpoint, refresh=refresh), "live_note": None}
    except LiveUnavailable as error:
        return {"live": None, "live_note": f"live prices unavailable: {error}; the table is used"}


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def render(result: Estimate, console: Console) -> None:
    cost = result.cost
    table = Table(title=f"Monthly cost estimate, {result.region}, USD", title_justify="left", show_lines=False)
    for column, justify in (("item", "left"), ("price", "right"), ("pay-as-you-go", "right"),
                            ("subscription", "right"), ("price from", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for line in result.lines:
        unit = PRICE_KEY_UNITS[line.usage.key.split("/")[0]]
        price = f"{line.payg.usd:.6g}/{unit}" if line.payg else "unknown"
        what = line.usage.what + (f"\n  ({line.usage.assumption})" if line.usage.assumption else "")
        table.add_row(what, price,
                      _usd(line.monthly(cost, cost.hours_per_month)) if line.payg else "-",
                      _usd(line.subscription(cost)) if line.payg else "-",
                      line.payg.label if line.payg else "no price: set cost.prices")
    views = result.views()
    table.add_section()
    table.add_row("[bold]total[/bold]", "", f"[bold]{_usd(views['always_on']['usd'])}[/bold]",
                  f"[bold]{_usd(views['subscription']['usd'])}[/bold]",
                  f"≈ {views['always_on']['usd'] * cost.cny_per_usd:,.0f} CNY at {cost.cny_per_usd:g} CNY/USD (assumed)")
    console.print(table)

    side = Table(title="The same stack, used differently (a month, USD)", title_justify="left")
    side.add_column("view")
    side.add_column("USD", justify="right")
    side.add_column("what it assumes", overflow="fold")
    for name in ("always_on", "subscription", "schedule", "idle_stop", "stopped"):
        side.add_row(name.replace("_", " "), _usd(views[name]["usd"]), views[name]["what"])
    side.add_row("spot", f"{_usd(views['spot']['usd_low'])} - {_usd(views['spot']['usd_high'])}", views["spot"]["what"])
    console.print(side)

    origins = result.sources()
    console.print("Prices: " + ", ".join(f"{count} {origin}" for origin, count in sorted(origins.items()))
                  + ". Table rows are estimates with their date and confidence, never quotes.")
    for item in result.not_priced:
        console.print(f"Not priced: {item.resource} ({item.stack}): {item.reason}", highlight=False)
    for note in result.notes:
        console.print(f"Note: {note}", highlight=False)
    console.print(f"{len(result.free)} more resources carry no charge of their own (network, RAM, attachments).")


@app.command()
def main(
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON (for scripts).")] = False,
    live: Annotated[bool, typer.Option(help="Ask the price APIs when credentials exist (--no-live: the table only).")] = True,
    refresh: Annotated[bool, typer.Option(help="Ask the APIs again even when a cached answer is less than a day old.")] = False,
    api_endpoint: Annotated[str | None, typer.Option(
        help="Send the price queries to this endpoint (host:port or URL) instead of Alibaba Cloud's.")] = None,
) -> None:
    """Estimate the monthly cost of the stacks your settings synthesize."""
    try:
        settings = load_settings()
    except SettingsError as error:
        typer.echo(error.render(), err=True)
        raise typer.Exit(2) from None
    documents = synthesize()
    region = next((region_of(doc) for doc in documents.values() if region_of(doc)), settings.region)
    result = estimate(documents, settings.cost, schedule=settings.schedule,
                      **live_or_table(region, api_endpoint, live, refresh))
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        render(result, Console(width=max(Console().width, 120)))
