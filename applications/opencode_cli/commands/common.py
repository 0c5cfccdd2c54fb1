"""What every command shares: the consoles, the exit codes, the settings and the workspace named, the state's
outputs, the cloud client, the login's probe, and the settings file where a command records a change."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from opencode_api import ApiUnavailable, default_credential
from opencode_settings import CONFIG_FILE_ENV, Settings, SettingsError, load_settings, team_settings

from ..boot import Health, health
from ..cloud import Ecs
from ..engine import ROLES_STACK, STACK, Engine, EngineError


DEFAULT_FILE = "opencode-alicloud.toml"
EXIT_UNHEALTHY, EXIT_USAGE, EXIT_ENGINE, EXIT_CLOUD = 1, 2, 3, 4
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


def all_workspaces() -> dict[str, Settings]:
    values = settings()
    return team_settings(values) or {STACK: values}


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


def printable(text: str) -> str:
    """`text` without control characters but newlines and tabs (no terminal escape sequence survives)."""
    return "".join(c for c in text if c in "\n\t" or (c.isprintable()))


ROLES_HELP = ("{verb} the RAM roles' stack (" + ROLES_STACK + ") too, for a single workspace: an administrator's right; "
              "--no-roles with a deployer's key (a team's roles are never touched).")


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
