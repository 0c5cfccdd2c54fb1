"""status, list and cost: what is deployed, how it is kept running, and what it costs."""
from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from opencode_api import ApiUnavailable
from opencode_settings import Settings
from opencode_settings.egress import allowed_names

from ..boot import Health
from ..engine import Engine
from .common import (
    CTX, EXIT_CLOUD, WorkspaceArg, all_workspaces, ecs, estimate_of, fail, out, outputs, probe_for, workspace,
)


def cost_summary(engine: Engine, values: Settings) -> dict[str, Any]:
    result = estimate_of(engine, values)
    views = result.views()
    return {"always_on": views["always_on"]["usd"], "stopped": views["stopped"]["usd"], "prices": result.sources()}


def power_summary(values: Settings) -> str:
    """How the workspace is kept running: the power setting, the idle stop and the schedule."""
    parts = [values.power + (" (spot)" if values.spot else "")]
    parts.append(f"stops after {values.idle_stop_minutes} idle minutes" if values.idle_stop_minutes else "no idle stop")
    schedule = values.schedule
    if schedule.enabled:
        parts.append(f"schedule {schedule.start}-{schedule.stop} {schedule.weekdays} ({schedule.time_zone})")
    return "; ".join(parts)


def controls_summary(values: Settings) -> str:
    """The enterprise controls: where the agent may connect, and what is recorded where."""
    egress = values.egress
    parts = [{"open": "egress open",
              "allowlist": f"egress allowlist ({len(allowed_names(values))} names, through the proxy)",
              "none": "egress none (the private model only)"}[egress.mode]]
    audit = values.audit
    if audit.existing_trail:
        parts.append(f"audit trail {audit.existing_trail} (existing)")
    elif audit.enabled:
        parts.append(f"audit trail to oss://{audit.bucket}, kept {audit.retention_days} days")
    else:
        parts.append("no audit trail")
    parts.append(f"access log kept {audit.access_log_days} days" + (", copied to the audit bucket hourly"
                                                                     if audit.ship_access_log else ""))
    return "; ".join(parts)


def report(stack: str, values: Settings, health_url: str | None = None, deployed_only: bool = True) -> dict[str, Any]:
    """What `status` and `list` show of one workspace."""
    engine = Engine(stack=stack)
    found = outputs(engine, values.name, required=deployed_only)
    if "url" not in found:
        return {"name": values.name, "region": values.region, "deployed": False, "url": None, "instance": None,
                "power": power_summary(values), "controls": controls_summary(values),
                "cost_usd_month": cost_summary(engine, values)}
    cloud = ecs(values.region)
    try:
        instance = cloud.instance(values.name)
        disk = cloud.data_disk(values.name)
        snapshots = cloud.snapshots(disk.disk_id) if disk else []
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    probe, _ = probe_for(values, found, health_url)
    checked = probe() if instance and instance.status == "Running" else Health(0, False, detail="not running")
    return {
        "name": values.name, "region": values.region, "deployed": True, "url": found["url"],
        "instance": {"id": instance.instance_id, "status": instance.status} if instance else None,
        "health": {"status": checked.status, "healthy": checked.healthy, "detail": checked.detail},
        "opencode_version": checked.version or values.opencode_version,
        "opencode_version_source": "running" if checked.version else "configured",
        "disk": {"id": disk.disk_id, "size_gib": disk.size, "category": disk.category} if disk else None,
        "last_snapshot": {"id": snapshots[0]["SnapshotId"], "time": snapshots[0].get("CreationTime"),
                          "status": snapshots[0].get("Status")} if snapshots else None,
        "power": power_summary(values),
        "controls": controls_summary(values),
        "cost_usd_month": cost_summary(engine, values),
    }


def status(
    name: WorkspaceArg = None,
    every: Annotated[bool, typer.Option("--all", help="Every workspace the settings declare.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same as JSON.")] = False,
    health_url: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """The instance's state, the URL and its health, the OpenCode version, the disk, the last snapshot and the cost."""
    chosen = all_workspaces() if every else dict([workspace(name)])
    reports = [report(stack, values, health_url, deployed_only=not every) for stack, values in chosen.items()]
    if as_json:
        typer.echo(json.dumps(reports if every else reports[0], indent=2))
        return
    for item in reports:
        table = Table(title=f"Workspace {item['name']} ({item['region']})", title_justify="left", show_header=False)
        table.add_column()
        table.add_column(overflow="fold")
        cost = item["cost_usd_month"]
        if not item["deployed"]:
            table.add_row("state", "not deployed")
        else:
            instance, disk, snapshot, health_of = item["instance"], item["disk"], item["last_snapshot"], item["health"]
            table.add_row("instance", f"{instance['id']} {instance['status']}" if instance else "not found")
            table.add_row("url", item["url"])
            table.add_row("health", "healthy" if health_of["healthy"] else f"not healthy ({health_of['detail'] or health_of['status']})")
            table.add_row("OpenCode", f"{item['opencode_version']} ({item['opencode_version_source']})")
            table.add_row("data disk", f"{disk['id']}, {disk['size_gib']} GiB {disk['category']}" if disk else "not found")
            table.add_row("last snapshot", f"{snapshot['id']} at {snapshot['time']}" if snapshot else "none yet")
        table.add_row("power", item["power"])
        table.add_row("controls", item["controls"])
        table.add_row("cost", f"{cost['always_on']:,.2f} USD a month always on, {cost['stopped']:,.2f} stopped "
                              "(scripts/cost for the details)")
        out.print(table)


def list_workspaces(
    as_json: Annotated[bool, typer.Option("--json", help="Print the same as JSON.")] = False,
    health_url: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """Every workspace of the settings: name, state, URL and monthly cost."""
    rows = []
    for stack, values in all_workspaces().items():
        item = report(stack, values, health_url, deployed_only=False)
        state = "not deployed" if not item["deployed"] else (item["instance"] or {}).get("status", "instance not found")
        rows.append({"name": item["name"], "state": state, "url": item["url"],
                     "cost_usd_month": item["cost_usd_month"]["always_on"]})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Workspaces", title_justify="left")
    for column in ("name", "state", "url", "USD a month (always on)"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["state"], row["url"] or "-", f"{row['cost_usd_month']:,.2f}")
    out.print(table)


def cost(
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON (for scripts).")] = False,
    live: Annotated[bool, typer.Option(help="Ask the price APIs when credentials exist (--no-live: the table only).")] = True,
    refresh: Annotated[bool, typer.Option(help="Ask the APIs again even when a cached answer is less than a day old.")] = False,
) -> None:
    """The monthly cost estimate of every stack the settings synthesize (the same as scripts/cost)."""
    from opencode_cost.cli import main as estimate

    estimate(as_json=as_json, live=live, refresh=refresh, api_endpoint=CTX.api_endpoint)
