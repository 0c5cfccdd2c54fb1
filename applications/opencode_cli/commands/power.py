"""stop and start: the power setting, recorded in the settings file and deployed."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opencode_settings import Settings

from ..boot import follow
from ..engine import Engine, EngineError
from .common import (
    EXIT_ENGINE, EXIT_UNHEALTHY, WorkspaceArg, estimate_of, fail, not_overridden, out, outputs, probe_for, recorded,
    settings_path, workspace,
)


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


def stop(
    name: WorkspaceArg = None,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
) -> None:
    """Stop the instance in economical mode (compute is not billed; disks, snapshots and the EIP are)."""
    engine, values = apply_power(name, "stopped", skip_provider_lock)
    cost = estimate_of(engine, values).views()
    out.print(f"Stopped. While stopped it bills about {cost['stopped']['usd']:,.2f} USD a month "
              f"(always on: {cost['always_on']['usd']:,.2f}); opencode-alicloud start brings it back with its data.")


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
