"""upgrade: another OpenCode version, proven by its boot, rolled back by itself when it fails."""
from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, NoReturn

import questionary
import typer

from opencode_api import ApiUnavailable
from opencode_settings import CONFIG_FILE_ENV, Settings
from opencode_settings.workspace import KNOWN_OPENCODE_VERSIONS

from ..engine import Engine, EngineError
from .common import (
    EXIT_ENGINE, EXIT_UNHEALTHY, EXIT_USAGE, WorkspaceArg, fail, interactive, not_overridden, out, outputs,
    printable, recorded, settings_path, workspace,
)
from .deploy import console_reader, follow_boot, offer_to_bake


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
    trial = trial_file(path, stack, target)
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
    roll_back(stack, values, target, why, console, path, (timeout, skip_provider_lock, health_url, poll))


def trial_file(path: Path, stack: str, target: str) -> Path:
    """The new version in a copy of the settings file beside it (relative paths in it still hold) until it proves
    itself: made exclusively, readable by its owner only."""
    handle, trial_name = tempfile.mkstemp(prefix=f".{path.name}.upgrade-", suffix=".toml", dir=path.parent)
    with os.fdopen(handle, "w") as written:
        written.write(recorded(path.read_text(), stack, "opencode_version", target))
    return Path(trial_name)


def roll_back(stack: str, values: Settings, target: str, why: str, console: str, path: Path,
              follow_options: tuple[int, bool, str | None, float]) -> NoReturn:
    """Save the failed boot's serial console beside the settings file, deploy the version before again (the file's)
    and follow its boot; always exits 1 (or 3 when the rollback's deploy fails)."""
    timeout, skip_provider_lock, health_url, poll = follow_options
    before = values.opencode_version
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
