"""up, doctor and down: check the account, deploy and follow the first boot; destroy."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Annotated, Any

import questionary
import typer

from opencode_api import ApiUnavailable, default_credential
from opencode_settings import Settings

from .. import doctor as preflight, image
from ..boot import BootResult, follow
from ..cloud import Ecs
from ..engine import ROLES_STACK, STACK, Engine, EngineError
from ..probe import Probe
from .common import (
    CTX, EXIT_CLOUD, EXIT_ENGINE, EXIT_UNHEALTHY, EXIT_USAGE, ROLES_HELP, WorkspaceArg, ecs, err, estimate_of, fail,
    interactive, out, outputs, printable, probe_for, workspace,
)
from .images import bake


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
