"""opencode-alicloud: one tool for the whole life of a workspace. cdktf stays the engine
underneath and keeps working on its own.

Exit status: 0 done; 1 the workspace is not healthy (a failed bootstrap, a timeout) or an
operation was refused; 2 bad settings or usage; 3 cdktf or Terraform failed; 4 the cloud API:
no credentials, an API error, or nothing deployed; 130 interrupted."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, NoReturn

import questionary
import typer
from rich.console import Console
from rich.table import Table

from opencode_alicloud.ssh import opencode_host, ssh_argv
from opencode_api import ApiUnavailable, default_credential
from opencode_settings import CONFIG_FILE_ENV, Settings, SettingsError, load_settings, team_settings
from opencode_settings.egress import allowed_names
from opencode_settings.workspace import KNOWN_OPENCODE_VERSIONS

from opencode_alicloud.instance.recipe import IMAGE_PREFIX

from . import doctor as preflight, image, wizard
from .boot import BootResult, Health, follow, health
from .cloud import Ecs
from .probe import Probe
from .engine import ROLES_STACK, STACK, Engine, EngineError

DEFAULT_FILE = "opencode-alicloud.toml"
EXIT_UNHEALTHY, EXIT_USAGE, EXIT_ENGINE, EXIT_CLOUD = 1, 2, 3, 4

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode=None)
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


class Context:
    api_endpoint: str | None = None


CTX = Context()


def fail(code: int, message: str) -> NoReturn:
    err.print(f"opencode-alicloud: {message}")
    raise typer.Exit(code)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        err.print(error.render())
        raise typer.Exit(EXIT_USAGE) from None


WorkspaceArg = Annotated[str | None, typer.Argument(help="The team workspace, when the settings declare several.")]


def workspace(name: str | None) -> tuple[str, Settings]:
    """(stack id, settings) of the workspace named, or of the file's only one."""
    values = settings()
    team = team_settings(values)
    if not team:
        if name not in (None, values.name):
            fail(EXIT_USAGE, f"unknown workspace {name!r}: the settings describe one workspace, {values.name!r}")
        return STACK, values
    if name is None:
        fail(EXIT_USAGE, f"the settings declare workspaces {', '.join(team)}: name one, e.g. opencode-alicloud up {next(iter(team))}")
    if name not in team:
        fail(EXIT_USAGE, f"unknown workspace {name!r}; the settings declare {', '.join(team)}")
    return name, team[name]


def ecs(region: str) -> Ecs:
    try:
        return Ecs(region, default_credential(), CTX.api_endpoint)
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))


def outputs(engine: Engine, name: str, required: bool = True) -> dict[str, Any]:
    """The workspace's outputs; with `required`, a workspace with none is an error (exit 4)."""
    try:
        found = engine.outputs()
    except EngineError as error:
        fail(EXIT_ENGINE, str(error))
    if required and "url" not in found:
        fail(EXIT_CLOUD, f"nothing is deployed for workspace {name!r} (no outputs in its state): run opencode-alicloud up")
    return found


def probe_for(values: Settings, found: dict[str, Any], url: str | None = None) -> tuple[Any, bool]:
    """The health probe for this TLS mode, and whether the bootstrap's own `ready` is trusted."""
    target = url or found["url"]
    if values.tls_mode == "acme" or url:
        return (lambda: health(target, found["username"], found["password"])), False
    if values.tls_mode == "internal":  # Caddy's own CA: nothing to verify the login against from here
        return (lambda: health(target, found["username"], None, verify=False)), True
    return (lambda: Health(0, False, detail="tunnel-only: no public login")), True


@app.callback()
def main_options(
    config: Annotated[Path | None, typer.Option("--config", "-c", help=f"Settings file (default: ${CONFIG_FILE_ENV}, else ./{DEFAULT_FILE} when it exists).")] = None,
    api_endpoint: Annotated[str | None, typer.Option(help="Send every cloud API call here: ECS, prices, and the preflight's STS and OSS (a local fake, or a "
         "private endpoint that serves them all).")] = None,
) -> None:
    if config is not None:
        os.environ[CONFIG_FILE_ENV] = str(config.resolve())
    elif CONFIG_FILE_ENV not in os.environ and Path(DEFAULT_FILE).is_file():
        os.environ[CONFIG_FILE_ENV] = str(Path(DEFAULT_FILE).resolve())
    CTX.api_endpoint = api_endpoint


# -- init --------------------------------------------------------------------------------------

@app.command()
def init(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the settings file.")] = Path(DEFAULT_FILE),
    non_interactive: Annotated[bool, typer.Option(help="Ask nothing: the flags below and the defaults.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    name: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    instance_type: Annotated[str | None, typer.Option()] = None,
    web_cidr: Annotated[list[str] | None, typer.Option(help="Who may reach the login (repeat).")] = None,
    domain: Annotated[str | None, typer.Option()] = None,
    model_server: Annotated[bool | None, typer.Option("--model-server/--no-model-server")] = None,
    model_provider: Annotated[str | None, typer.Option()] = None,
    model: Annotated[str | None, typer.Option()] = None,
    model_base_url: Annotated[str | None, typer.Option()] = None,
    model_key_parameter: Annotated[str | None, typer.Option(help="Existing OOS secret parameter with the model API key.")] = None,
    github_token: Annotated[bool | None, typer.Option("--github-token/--no-github-token")] = None,
    github_token_parameter: Annotated[str | None, typer.Option()] = None,
    ssh_cidr: Annotated[list[str] | None, typer.Option(help="Who may reach SSH (repeat); SSH stays closed without it.")] = None,
    ssh_public_key_file: Annotated[Path | None, typer.Option()] = None,
    backend: Annotated[str | None, typer.Option(help="local, oss, cloud or remote.")] = None,
    backend_bucket: Annotated[str | None, typer.Option()] = None,
    tablestore_endpoint: Annotated[str | None, typer.Option()] = None,
    tablestore_table: Annotated[str | None, typer.Option()] = None,
    organization: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Write a validated settings file: a wizard, or --non-interactive with flags (the same file)."""
    flags = {
        "name": name, "region": region, "instance_type": instance_type, "web_cidrs": web_cidr or None,
        "domain": domain, "model_server.enabled": model_server, "model.provider": model_provider,
        "model.model": model, "model.base_url": model_base_url, "model.api_key_parameter": model_key_parameter,
        "use_github_token": github_token, "github_token_parameter": github_token_parameter,
        "ssh_cidrs": ssh_cidr or None, "ssh_public_key": str(ssh_public_key_file) if ssh_public_key_file else None,
        "backend.kind": backend, "backend.bucket": backend_bucket, "backend.tablestore_endpoint": tablestore_endpoint,
        "backend.tablestore_table": tablestore_table, "backend.organization": organization,
    }
    given = {key: value for key, value in flags.items() if value is not None}
    if output.exists() and not force:
        if non_interactive or not questionary.confirm(f"{output} exists. Overwrite it?", default=False).unsafe_ask():
            fail(EXIT_USAGE, f"{output} exists; use --force to overwrite it")
    os.environ.pop(CONFIG_FILE_ENV, None)  # the file being written is not read while it is made
    try:
        values = wizard.run(given, interactive=not non_interactive)
        wizard.write(values, output)
    except SettingsError as error:
        err.print(error.render())
        raise typer.Exit(EXIT_USAGE) from None
    except ValueError as error:
        fail(EXIT_USAGE, str(error))
    out.print(f"Wrote {output}. Next: opencode-alicloud up" + ("" if output.name == DEFAULT_FILE and output.parent.resolve() == Path.cwd() else f" --config {output}"))


# -- up ------------------------------------------------------------------------------------------

ROLES_HELP = ("{verb} the RAM roles' stack (" + ROLES_STACK + ") too, for a single workspace: an administrator's right; "
              "--no-roles with a deployer's key (a team's roles are never touched).")

@app.command()
def up(
    name: WorkspaceArg = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before deploying.")] = False,
    timeout: Annotated[int, typer.Option(help="Minutes to wait for the login after the deploy.")] = 20,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
    roles: Annotated[bool, typer.Option("--roles/--no-roles", help=ROLES_HELP.format(verb="Apply"))] = True,
    check: Annotated[bool, typer.Option("--preflight/--no-preflight", help="Run doctor's checks first.")] = True,
    health_url: Annotated[str | None, typer.Option(hidden=True)] = None,
    poll: Annotated[float, typer.Option(hidden=True)] = 10.0,
) -> None:
    """Check the account (doctor), deploy (synth + cdktf deploy), then follow the first boot until the login works."""
    stack, values = workspace(name)
    if values.image_source == "baked" and not values.image_id:
        offer_to_bake(values, yes, skip_provider_lock)
    if check and (code := run_preflight(values)):
        fail(code, "the preflight failed (above): fix what it says, or add --no-preflight to deploy anyway")
    engine = Engine(skip_provider_lock=skip_provider_lock, stack=stack)
    result = estimate_of(engine, values)
    views = result.views()
    out.print(f"Estimate: {views['always_on']['usd']:,.2f} USD a month always on, {views['stopped']['usd']:,.2f} "
              f"stopped ({', '.join(f'{n} {o}' for o, n in sorted(result.sources().items()))} prices; "
              "scripts/cost for the details)")
    if interactive() and not yes and not questionary.confirm("Deploy?", default=True).unsafe_ask():
        fail(EXIT_UNHEALTHY, "not deployed")
    try:  # a single workspace's roles too (a team's are its administrator's: cdktf deploy opencode-roles)
        engine.deploy(roles=roles and stack == STACK)
    except EngineError as error:
        fail(EXIT_ENGINE, str(error))
    boot, found = follow_boot(engine, values, timeout, health_url, poll)
    if not boot.ready:
        fail(EXIT_UNHEALTHY, f"{boot.why}. Next: opencode-alicloud logs, then opencode-alicloud up again "
                             "(the instance is replaced only when its settings change)")
    out.print(f"Ready in {boot.seconds:.0f} s: {found['url']}\n  user: {found['username']}\n"
              "  password: opencode-alicloud password (or: terraform output -raw password)")


# -- doctor ----------------------------------------------------------------------------------------

def run_preflight(values: Settings, as_json: bool = False) -> int:
    """Doctor's checks for one workspace, printed (or as JSON): 0 all passed, 1 one failed, 4 no account."""
    try:
        probe = Probe(values.region, default_credential(), CTX.api_endpoint)
        found = preflight.checks(values, probe)
    except (ApiUnavailable, preflight.NoAccount) as error:
        if as_json:
            typer.echo(json.dumps({"workspace": values.name, "ok": False, "error": str(error)}, indent=2))
        err.print(f"opencode-alicloud: {error}", markup=False)
        return EXIT_CLOUD
    if as_json:
        typer.echo(json.dumps(preflight.as_json(values.name, found), indent=2, ensure_ascii=False))
    else:
        out.print(f"Preflight of workspace {values.name} in {values.region}:", markup=False)
        for item in found:  # the API's words (image names, messages) without a terminal escape
            out.print("  " + printable(item.line()), markup=False)
    return preflight.verdict(found)


@app.command()
def doctor(
    name: WorkspaceArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the account before a deploy: credentials, image, stock, quotas, permissions, buckets, domain, version.
    Exit 0 all passed, 1 a check failed, 4 no credentials or no answer from the API."""
    _, values = workspace(name)
    raise typer.Exit(run_preflight(values, as_json))


def console_reader(values: Settings) -> Callable[[], str] | None:
    """A reader of the workspace instance's serial console (None: no instance); ApiUnavailable without the API."""
    cloud = Ecs(values.region, default_credential(), CTX.api_endpoint)
    instance = cloud.instance(values.name)
    return (lambda: cloud.console(instance.instance_id)) if instance else None


def follow_boot(engine: Engine, values: Settings, timeout: int, health_url: str | None,
                poll: float) -> tuple[BootResult, dict[str, Any]]:
    """After a deploy: follow the instance's boot through its serial console until the login is healthy; the
    result and the stack's outputs."""
    found = outputs(engine, values.name)
    console = None
    try:
        console = console_reader(values)
    except ApiUnavailable as error:
        out.print(f"(no boot progress from the serial console: {error})")
    probe, trust_console = probe_for(values, found, health_url)
    out.print(f"Following the boot (up to {timeout} min; the serial console shows each phase):")
    with out.status("booting") as status:
        def on_phase(phase: str) -> None:
            out.print(f"  {phase}")
            status.update(phase)
        boot = follow(console, probe, on_phase, timeout * 60, trust_console=trust_console, poll=poll)
    return boot, found


# -- status --------------------------------------------------------------------------------------

def offer_to_bake(values: Settings, yes: bool, skip_provider_lock: bool) -> None:
    """image_source = baked and no image of the recipe yet: bake first (asked), or stop with one line."""
    (recipe,) = image.recipes([values])
    try:
        ready = image.available(Ecs(values.region, default_credential(), CTX.api_endpoint).images(recipe.image_name + "_"), recipe)
    except ApiUnavailable as error:
        out.print(f"(could not look for the baked image {recipe.image_name}: {error}; the plan checks it)")
        return
    if ready:
        return
    asked = f"No baked image {recipe.image_name} in {values.region} yet. Bake it now (about 15-25 minutes)?"
    if not yes and not (interactive() and questionary.confirm(asked, default=True).unsafe_ask()):
        fail(EXIT_UNHEALTHY, f"no baked image {recipe.image_name} in {values.region}: run opencode-alicloud image bake "
                             '(or set image_source = "public")')
    bake(values, True, 90, skip_provider_lock, 30.0)


def estimate_of(engine: Engine, values: Settings) -> Any:
    """The cost estimate of the engine's stack, from its synth (live prices when credentials exist)."""
    from opencode_cost.cli import live_or_table
    from opencode_cost.estimate import estimate

    try:
        document = engine.document()
    except EngineError:
        raise typer.Exit(EXIT_USAGE) from None  # main.py printed its own lines
    return estimate({engine.stack: document}, values.cost, schedule=values.schedule,
                    **live_or_table(values.region, CTX.api_endpoint))


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


def all_workspaces() -> dict[str, Settings]:
    values = settings()
    return team_settings(values) or {STACK: values}


@app.command()
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


@app.command(name="list")
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


# -- password, ssh, tunnel ---------------------------------------------------------------------------

CLIPBOARDS = (["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"], ["pbcopy"], ["clip.exe"])


@app.command()
def password(
    name: WorkspaceArg = None,
    copy: Annotated[bool, typer.Option(help="Copy it to the clipboard instead of printing it.")] = False,
) -> None:
    """The web password, from the state."""
    stack, values = workspace(name)
    found = outputs(Engine(stack=stack), values.name)
    if not copy:
        typer.echo(found["password"])
        return
    for command in CLIPBOARDS:
        if shutil.which(command[0]):  # the password goes through stdin, never into a process's arguments
            if subprocess.run(command, input=found["password"], text=True).returncode == 0:
                out.print(f"Copied with {command[0]}.")
                return
    fail(EXIT_UNHEALTHY, "no clipboard here (wl-copy, xclip, xsel, pbcopy); run without --copy")


def _ssh(name: str | None, tunnel: bool = False, extra: list[str] | None = None) -> NoReturn:
    """Run ssh built here from the state's public_ip, checked as an address: never a command string from the
    state, which a teammate who can write it could point at any program."""
    stack, values = workspace(name)
    found = outputs(Engine(stack=stack), values.name)
    if "ssh_command" not in found:
        fail(EXIT_UNHEALTHY, "SSH is closed on this workspace: set ssh_cidrs (and a key) and run opencode-alicloud up")
    try:
        command = ssh_argv(str(found.get("public_ip", "")), opencode_host(values.egress.mode), tunnel=tunnel) + (extra or [])
    except ValueError:
        fail(EXIT_UNHEALTHY, f"the state's public_ip {found.get('public_ip')!r} is not an IP address: check the state "
             "(opencode-alicloud status), or run opencode-alicloud up")
    os.execvp(command[0], command)


@app.command()
def ssh(name: WorkspaceArg = None) -> None:
    """Open a shell on the instance (needs ssh_cidrs)."""
    _ssh(name)


@app.command()
def tunnel(name: WorkspaceArg = None) -> None:
    """Forward the UI to localhost over SSH (the only way in for tls_mode = tunnel-only)."""
    _ssh(name, tunnel=True)


# -- down ----------------------------------------------------------------------------------------

@app.command()
def down(
    name: WorkspaceArg = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Destroy without asking (needed when not interactive).")] = False,
    snapshot: Annotated[bool | None, typer.Option("--snapshot/--no-snapshot", help="Snapshot the data disk first (asked when interactive).")] = None,
    wait: Annotated[int, typer.Option(help="Minutes to wait for the snapshot.")] = 30,
    roles: Annotated[bool, typer.Option("--roles/--no-roles", help=ROLES_HELP.format(verb="Destroy"))] = True,
) -> None:
    """Destroy the workspace (cdktf destroy), after listing what goes, the data disk above all."""
    stack, values = workspace(name)
    with_roles = roles and stack == STACK  # a single workspace's; a team's roles are its administrator's
    engine = Engine(stack=stack)
    try:
        addresses = engine.resources()
    except EngineError as error:
        fail(EXIT_ENGINE, str(error))
    managed = [a for a in addresses if not a.startswith("data.")]
    if not managed:
        out.print(f"Nothing is deployed for workspace {values.name!r}.")
        return
    out.print(f"These {len(managed)} resources will be destroyed:")
    for address in managed:
        mark = "   <- your workspace files (the data disk)" if address.startswith("alicloud_ecs_disk.") else ""
        out.print(f"  {address}{mark}")
    if with_roles:
        out.print(f"Then its RAM roles and their policies (the stack {ROLES_STACK}).")
    if not interactive() and not yes:
        fail(EXIT_USAGE, "not interactive: add --yes to destroy (and --snapshot to keep the data disk's contents)")
    if snapshot is None:
        snapshot = interactive() and questionary.confirm("Snapshot the data disk first?", default=True).unsafe_ask()
    if interactive() and not yes and not questionary.confirm("Destroy all of it?", default=False).unsafe_ask():
        fail(EXIT_UNHEALTHY, "nothing destroyed")
    if snapshot:
        cloud = ecs(values.region)
        try:
            disk = cloud.data_disk(values.name)
            if disk is None:
                fail(EXIT_CLOUD, f"no data disk named {values.name}-workspace in {values.region}; nothing destroyed")
            name = f"{values.name}-before-down-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
            snapshot_id = cloud.snapshot(disk.disk_id, name, values.resource_tags())
            deadline = time.monotonic() + wait * 60
            with out.status(f"snapshot {snapshot_id} of {disk.disk_id}") as progress:
                while True:
                    item = next((s for s in cloud.snapshots(disk.disk_id) if s["SnapshotId"] == snapshot_id), {})
                    if item.get("Status") == "accomplished":
                        break
                    if item.get("Status") == "failed" or time.monotonic() > deadline:
                        fail(EXIT_CLOUD, f"snapshot {snapshot_id} is {item.get('Status', 'missing')}; nothing destroyed")
                    progress.update(f"snapshot {snapshot_id}: {item.get('Progress', '?')}")
                    time.sleep(10)
        except ApiUnavailable as error:
            fail(EXIT_CLOUD, f"{error}; nothing destroyed")
        out.print(f"Snapshot {snapshot_id} ({name}) kept; it outlives the disk and is billed as a snapshot.")
    try:
        engine.destroy(roles=with_roles)
    except EngineError as error:
        fail(EXIT_ENGINE, str(error))
    out.print(f"Workspace {values.name!r} destroyed.")


# -- stop, start ---------------------------------------------------------------------------------

def settings_path(what: str) -> Path:
    """The settings file, where `what` is recorded; exit 2 when there is none."""
    path = Path(os.environ[CONFIG_FILE_ENV]) if CONFIG_FILE_ENV in os.environ else None
    if path is None or not path.is_file():
        fail(EXIT_USAGE, f"{what} is recorded in the settings file: make one (opencode-alicloud init) or name it (--config)")
    return path


def recorded(text: str, stack: str, key: str, value: str) -> str:
    """The settings file's text with `key = value` for the workspace (a team workspace: its own table), its comments
    and layout kept (tomlkit)."""
    import tomlkit

    document = tomlkit.parse(text)
    table = document
    if stack != STACK:
        table = document.setdefault("workspaces", tomlkit.table()).setdefault(stack, tomlkit.table())
    table[key] = value
    return tomlkit.dumps(document)


def not_overridden(key: str) -> None:
    variable = "OPENCODE_ALICLOUD_" + key.upper()
    if variable in os.environ:
        fail(EXIT_USAGE, f"{variable} is set in the environment and overrides the settings file; unset it")


def set_power(name: str | None, power: str) -> tuple[str, Settings, Path]:
    """Record `power` for the workspace in the settings file (its comments kept); the settings again."""
    stack, _ = workspace(name)
    not_overridden("power")
    path = settings_path(power)
    path.write_text(recorded(path.read_text(), stack, "power", power))
    return workspace(name) + (path,)


def apply_power(name: str | None, power: str, skip_provider_lock: bool) -> tuple[Engine, Settings]:
    stack, values, path = set_power(name, power)
    out.print(f"power = \"{power}\" recorded in {path}")
    engine = Engine(skip_provider_lock=skip_provider_lock, stack=stack)
    try:
        engine.deploy()
    except EngineError as error:
        fail(EXIT_ENGINE, str(error))
    return engine, values


@app.command()
def stop(
    name: WorkspaceArg = None,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
) -> None:
    """Stop the instance in economical mode (compute is not billed; disks, snapshots and the EIP are)."""
    engine, values = apply_power(name, "stopped", skip_provider_lock)
    cost = estimate_of(engine, values).views()
    out.print(f"Stopped. While stopped it bills about {cost['stopped']['usd']:,.2f} USD a month "
              f"(always on: {cost['always_on']['usd']:,.2f}); opencode-alicloud start brings it back with its data.")


@app.command()
def start(
    name: WorkspaceArg = None,
    timeout: Annotated[int, typer.Option(help="Minutes to wait for the login.")] = 10,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
    health_url: Annotated[str | None, typer.Option(hidden=True)] = None,
    poll: Annotated[float, typer.Option(hidden=True)] = 10.0,
) -> None:
    """Start the instance again and wait for the login."""
    engine, values = apply_power(name, "running", skip_provider_lock)
    found = outputs(engine, values.name)
    probe, _ = probe_for(values, found, health_url)
    if values.tls_mode != "acme" and health_url is None:  # nothing verifiable from outside
        out.print(f"Started: {found['url']} (the login answers a minute or two after boot)")
        return
    with out.status("starting"):
        boot = follow(None, probe, lambda _: None, timeout * 60, poll=poll)
    if not boot.ready:
        fail(EXIT_UNHEALTHY, f"{boot.why}. Next: opencode-alicloud logs")
    out.print(f"Ready in {boot.seconds:.0f} s: {found['url']}")


# -- upgrade -------------------------------------------------------------------------------------

@app.command()
def upgrade(
    name: WorkspaceArg = None,
    to: Annotated[str | None, typer.Option("--to", help="The OpenCode version (default: the newest the project knows).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before upgrading.")] = False,
    timeout: Annotated[int, typer.Option(help="Minutes to wait for the new version's login before rolling back.")] = 20,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
    health_url: Annotated[str | None, typer.Option(hidden=True)] = None,
    poll: Annotated[float, typer.Option(hidden=True)] = 10.0,
) -> None:
    """Move the workspace to another OpenCode version: bake first (image_source = baked), deploy, follow the boot.
    A login not healthy in time rolls back to the version before, by itself (the data disk is kept). The settings
    file records the new version only when the upgrade succeeded."""
    stack, values = workspace(name)
    target, before = to or KNOWN_OPENCODE_VERSIONS[-1], values.opencode_version
    if not re.fullmatch(r"\d+\.\d+\.\d+", target):
        fail(EXIT_USAGE, f"--to {target!r} is not a release version such as {KNOWN_OPENCODE_VERSIONS[-1]}")
    not_overridden("opencode_version")
    path = settings_path("the OpenCode version")
    if target == before:
        out.print(f"Workspace {values.name!r} runs OpenCode {before} already.")
        return
    if values.power != "running":
        fail(EXIT_USAGE, f"workspace {values.name!r} is kept stopped (power = \"{values.power}\"): opencode-alicloud "
                         "start first, so the new version's boot can be judged")
    if values.image_source == "baked" and values.image_id:
        fail(EXIT_USAGE, f"image_id pins the baked image {values.image_id}, made for its own OpenCode version: remove "
                         "image_id (upgrade bakes the new recipe) or pin an image baked for the new version")
    outputs(Engine(stack=stack), values.name)  # deployed (else exit 4: set the version and run up)
    if target not in KNOWN_OPENCODE_VERSIONS:
        out.print(f"OpenCode {target} is not a version the project knows ({', '.join(KNOWN_OPENCODE_VERSIONS)}); "
                  "a boot that fails rolls back.")
    if interactive() and not yes and not questionary.confirm(
            f"Upgrade {values.name} from OpenCode {before} to {target}? The instance is replaced; the data disk is kept.",
            default=True).unsafe_ask():
        fail(EXIT_UNHEALTHY, "not upgraded")
    # The new version in a copy of the file beside it (relative paths in it still hold) until it proves itself:
    # made exclusively, readable by its owner only.
    handle, trial_name = tempfile.mkstemp(prefix=f".{path.name}.upgrade-", suffix=".toml", dir=path.parent)
    trial = Path(trial_name)
    with os.fdopen(handle, "w") as written:
        written.write(recorded(path.read_text(), stack, "opencode_version", target))
    os.environ[CONFIG_FILE_ENV] = str(trial)
    try:
        why, console = try_version(stack, name, target, timeout, skip_provider_lock, health_url, poll)
    except KeyboardInterrupt:
        fail(130, f"interrupted: the cloud may run OpenCode {target} or {before}, and the settings file says {before}; "
                  "opencode-alicloud status tells which, opencode-alicloud up deploys the file's")
    finally:
        os.environ[CONFIG_FILE_ENV] = str(path)
        trial.unlink(missing_ok=True)
    if not why:
        path.write_text(recorded(path.read_text(), stack, "opencode_version", target))
        out.print(f"Upgraded {values.name!r} to OpenCode {target}; opencode_version = \"{target}\" recorded in {path}")
        return
    log = path.parent / f"opencode-upgrade-{values.name}-{target}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.console.log"
    with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w") as saved:
        saved.write(printable(console))  # no terminal escapes from the console when it is read with cat
    out.print(f"OpenCode {target} did not come up ({why}): rolling back to {before}")
    engine = Engine(skip_provider_lock=skip_provider_lock, stack=stack)
    try:
        engine.deploy()
    except EngineError as error:
        fail(EXIT_ENGINE, f"{error}: the rollback to {before} failed too; the settings file still says {before}: run "
                          f"opencode-alicloud up. The failed boot's serial console is in {log}")
    back, _ = follow_boot(engine, values, timeout, health_url, poll)
    now = "healthy again" if back.ready else f"not healthy either ({back.why}): opencode-alicloud logs"
    fail(EXIT_UNHEALTHY, f"the upgrade to OpenCode {target} rolled back: {before} is {now}. The data disk was kept; "
                         f"the failed boot's serial console is in {log}")


def try_version(stack: str, name: str | None, target: str, timeout: int, skip_provider_lock: bool,
                health_url: str | None, poll: float) -> tuple[str, str]:
    """Deploy the settings of now (the trial file, with `target`) and follow the boot: why it failed ("" when its
    login is healthy and runs `target`), and the serial console so far."""
    _, values = workspace(name)
    if values.opencode_version != target:  # a .env entry outranks the file
        fail(EXIT_USAGE, "OPENCODE_ALICLOUD_OPENCODE_VERSION in .env overrides the settings file; remove it")
    if values.image_source == "baked" and not values.image_id:
        offer_to_bake(values, True, skip_provider_lock)  # asked already: the upgrade bakes its recipe first
    engine = Engine(skip_provider_lock=skip_provider_lock, stack=stack)
    try:
        engine.deploy()
    except EngineError as error:  # the health gate refused the boot, or the apply failed before it
        return f"the deploy failed: {error}", serial_console(values)
    boot, _ = follow_boot(engine, values, timeout, health_url, poll)
    running = boot.health.version if boot.health else None
    if boot.ready and running and running != target:
        return f"the login answers with OpenCode {running}, not {target}", serial_console(values)
    return ("" if boot.ready else boot.why), serial_console(values)


def serial_console(values: Settings) -> str:
    """The workspace instance's serial console so far, or why there is none."""
    try:
        read = console_reader(values)
        return read() if read else f"(no instance named {values.name}-workspace)"
    except ApiUnavailable as error:
        return f"(no serial console: {error})"


# -- cost, open ----------------------------------------------------------------------------------

@app.command()
def cost(
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON (for scripts).")] = False,
    live: Annotated[bool, typer.Option(help="Ask the price APIs when credentials exist (--no-live: the table only).")] = True,
    refresh: Annotated[bool, typer.Option(help="Ask the APIs again even when a cached answer is less than a day old.")] = False,
) -> None:
    """The monthly cost estimate of every stack the settings synthesize (the same as scripts/cost)."""
    from opencode_cost.cli import main as estimate

    estimate(as_json=as_json, live=live, refresh=refresh, api_endpoint=CTX.api_endpoint)


def printable(text: str) -> str:
    """`text` without control characters but newlines and tabs (no terminal escape sequence survives)."""
    return "".join(c for c in text if c in "\n\t" or (c.isprintable()))


def browser_here() -> bool:
    """A desktop to open a browser on (a terminal browser on a server would take the terminal over)."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@app.command(name="open")
def open_workspace(
    name: WorkspaceArg = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Start a stopped workspace without asking.")] = False,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the URL in a browser, where there is one.")] = True,
    timeout: Annotated[int, typer.Option(help="Minutes to wait for the login after a start.")] = 10,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
    health_url: Annotated[str | None, typer.Option(hidden=True)] = None,
    poll: Annotated[float, typer.Option(hidden=True)] = 10.0,
) -> None:
    """Print the workspace's URL and open it in a browser; a stopped workspace is started first (asked)."""
    stack, values = workspace(name)
    found = outputs(Engine(stack=stack), values.name)
    if values.tls_mode == "tunnel-only":
        fail(EXIT_UNHEALTHY, "tls_mode = tunnel-only has no public URL: opencode-alicloud tunnel")
    url = str(found.get("url", ""))
    if not re.fullmatch(r"https://[a-z0-9.-]+(:\d{1,5})?/?", url):  # the state is shared: never a path, flag or escape
        fail(EXIT_UNHEALTHY, f"the state's url {printable(url)!r} is not an https address of a host: check the state "
                             "(opencode-alicloud status), or run opencode-alicloud up")
    try:
        instance = ecs(values.region).instance(values.name)
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    if instance is None:
        fail(EXIT_CLOUD, f"no instance named {values.name}-workspace in {values.region}: run opencode-alicloud up")
    if instance.status != "Running":
        asked = f"Workspace {values.name!r} is {instance.status}. Start it now?"
        if not yes and not (interactive() and questionary.confirm(asked, default=True).unsafe_ask()):
            fail(EXIT_UNHEALTHY, f"workspace {values.name!r} is {instance.status}: opencode-alicloud start "
                                 "(or open --yes)")
        start(name, timeout, skip_provider_lock, health_url, poll)
    out.print(f"{url}\n  user: {printable(str(found['username']))}\n  password: opencode-alicloud password --copy",
              markup=False)
    if browser and browser_here():
        import webbrowser

        webbrowser.open(url)


# -- logs ----------------------------------------------------------------------------------------

@app.command()
def logs(
    name: WorkspaceArg = None,
    over_ssh: Annotated[bool, typer.Option("--ssh", help="The bootstrap log and the container logs over SSH.")] = False,
    everything: Annotated[bool, typer.Option("--all", help="The whole serial console, not only the bootstrap's lines.")] = False,
) -> None:
    """The bootstrap's progress from the serial console (no SSH needed), or the full logs over SSH."""
    _, values = workspace(name)
    if over_ssh:
        _ssh(name, extra=["sudo tail -n 200 /var/log/opencode-bootstrap.log; "
                             "sudo docker compose -f /etc/opencode/compose.yaml logs --tail 200"])
    cloud = ecs(values.region)
    try:
        instance = cloud.instance(values.name)
        if instance is None:
            fail(EXIT_CLOUD, f"no instance named {values.name}-workspace in {values.region}: run opencode-alicloud up")
        text = cloud.console(instance.instance_id)
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    from .boot import phases

    lines = text.splitlines() if everything else [f"opencode-bootstrap: {p}" for p in phases(text)]
    for line in lines:
        typer.echo(line)
    if not lines:
        out.print(f"(the serial console of {instance.instance_id} has no bootstrap lines yet; --all shows all of it)")


# -- image ---------------------------------------------------------------------------------------

image_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="The workspace's baked system image (image_source = baked): bake, list, prune.")
app.add_typer(image_app, name="image")
IMAGE_STACK = "opencode-image"


def bake(values: Settings, yes: bool, timeout: int, skip_provider_lock: bool, poll: float) -> None:
    """Deploy the image stack (Image Builder starts a bake for each new recipe), follow each bake until its
    image is Available, and tag the image as the project's."""
    wanted = image.recipes(list((team_settings(values) or {values.name: values}).values()))
    if not wanted:
        fail(EXIT_USAGE, 'image_source is "public" (or image_id names the image): nothing to bake; set image_source = "baked"')
    out.print(f"Baking {', '.join(r.image_name for r in wanted)} with ECS Image Builder in {values.region} (stack "
              f"{IMAGE_STACK}: a temporary {values.instance_type} runs the bake recipe; about 15-25 minutes)")
    if interactive() and not yes and not questionary.confirm("Bake?", default=True).unsafe_ask():
        fail(EXIT_UNHEALTHY, "not baked")
    engine = Engine(skip_provider_lock=skip_provider_lock, stack=IMAGE_STACK)
    try:
        engine.deploy()
        found = engine.outputs()
    except EngineError as error:
        fail(EXIT_ENGINE, str(error))
    cloud = ecs(values.region)
    for recipe in wanted:
        try:
            made = follow_bake(engine, cloud, recipe, found, timeout, poll)
            cloud.tag("image", [made["ImageId"]], {"workspace": values.name, **image.MANAGED})
            if image.snapshots_of(made):
                cloud.tag("snapshot", image.snapshots_of(made), {"workspace": values.name, **image.MANAGED})
        except image.BakeFailed as error:
            fail(EXIT_UNHEALTHY, str(error))
        except ApiUnavailable as error:
            fail(EXIT_CLOUD, str(error))
        except EngineError as error:
            fail(EXIT_ENGINE, str(error))
        if not made["ImageName"].startswith(recipe.image_name + "_"):
            fail(EXIT_UNHEALTHY, f"Image Builder named the image {made['ImageName']} ({made['ImageId']}), which the "
                                 f"workspace's lookup (^{recipe.image_name}_) does not find: set image_id = \"{made['ImageId']}\"")
        out.print(f"Baked: {made['ImageId']} ({made['ImageName']}); workspaces with image_source = \"baked\" boot it")


def follow_bake(engine: Engine, cloud: Ecs, recipe: Any, found: dict[str, Any], timeout: int, poll: float) -> dict[str, Any]:
    """The recipe's image: its bake followed until the image is Available; a bake that failed before, or whose
    image is gone, is started again first (the execution resource is replaced)."""
    output = f"execution_{recipe.digest}"
    execution_id = found.get(output)
    if not execution_id:
        raise EngineError(f"the image stack has no bake of {recipe.image_name} (output {output})")
    current = cloud.execution(execution_id)
    made_before = cloud.image(current["ImageId"]) if current and current.get("ImageId") else None
    if image.needs_new_bake(current, made_before is not None):
        out.print(f"  {recipe.image_name}: the last bake is {current.get('Status') if current else '?'}"
                  f"{' and its image is gone' if current and current.get('Status') in image.SUCCEEDED else ''}: baking again")
        engine.replace(f"alicloud_ecs_image_pipeline_execution.bake-{recipe.digest}")
        execution_id = engine.outputs()[output]
    with out.status(f"baking {recipe.image_name}") as status:
        def on_progress(progress: image.Progress) -> None:
            out.print(f"  {recipe.image_name}: {progress.status} ({progress.seconds / 60:.0f} min)")
            status.update(f"{recipe.image_name}: {progress.status}")

        def usable(item: dict[str, Any]) -> dict[str, Any] | None:
            made = cloud.image(item["ImageId"]) if item.get("ImageId") else None
            return made if made and made.get("Status") == "Available" else None
        return image.wait_for_bake(lambda: cloud.execution(execution_id), usable, on_progress, timeout * 60, poll)


@image_app.command("bake")
def image_bake(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before baking.")] = False,
    timeout: Annotated[int, typer.Option(help="Minutes to wait for each image.")] = 90,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
    poll: Annotated[float, typer.Option(hidden=True)] = 30.0,
) -> None:
    """Bake the image of every baked workspace's recipe (ECS Image Builder), and wait until each is Available."""
    bake(settings(), yes, timeout, skip_provider_lock, poll)


@image_app.command("list")
def image_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False) -> None:
    """This project's baked images in the region: id, name, status, when made, and the instances running each."""
    values = settings()
    cloud = ecs(values.region)
    try:
        images, in_use = cloud.images(IMAGE_PREFIX), cloud.images_in_use()
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    rows = [{"id": i["ImageId"], "name": i["ImageName"], "status": i.get("Status", ""), "created": i.get("CreationTime", ""),
             "used_by": in_use.get(i["ImageId"], [])} for i in images]
    if as_json:
        return typer.echo(json.dumps(rows, indent=2))
    table = Table("image", "name", "status", "created", "used by")
    for row in rows:
        table.add_row(row["id"], row["name"], row["status"], row["created"], ", ".join(row["used_by"]) or "-")
    out.print(table if rows else f"no baked images in {values.region} (opencode-alicloud image bake makes one)")


@image_app.command("prune")
def image_prune(
    keep: Annotated[int, typer.Option(min=0, help="Keep this many of the newest images no instance runs.")] = 1,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before deleting.")] = False,
) -> None:
    """Delete this project's baked images that no instance runs, but the newest `--keep`."""
    values = settings()
    cloud = ecs(values.region)
    names = set(team_settings(values) or {values.name: values})
    try:
        kept, deleted = image.prune_plan(cloud.images(IMAGE_PREFIX), cloud.images_in_use(), keep, names)
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    out.print(f"Keeping {len(kept)}: {', '.join(i['ImageId'] for i in kept) or '-'}; deleting {len(deleted)}: "
              f"{', '.join(i['ImageId'] + ' (' + i['ImageName'] + ')' for i in deleted) or '-'}")
    if not deleted:
        return
    if not yes and not interactive():
        fail(EXIT_USAGE, "image prune deletes images: add --yes, or run it in a terminal to be asked")
    if not yes and not questionary.confirm("Delete?", default=False).unsafe_ask():
        return
    try:
        for item in deleted:
            cloud.delete_image(item["ImageId"])
            for snapshot in image.snapshots_of(item):  # DeleteImage keeps them, and they bill
                cloud.delete_snapshot(snapshot)
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    out.print(f"Deleted {len(deleted)} image(s) and their snapshots")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
