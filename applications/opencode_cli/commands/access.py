"""password, ssh, tunnel, open and logs: reaching the workspace."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Annotated, NoReturn

import questionary
import typer

from opencode_alicloud.ssh import opencode_host, ssh_argv
from opencode_api import ApiUnavailable

from ..engine import Engine
from .common import EXIT_CLOUD, EXIT_UNHEALTHY, WorkspaceArg, ecs, fail, interactive, out, outputs, printable, workspace
from .power import start


CLIPBOARDS = (["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"], ["pbcopy"], ["clip.exe"])


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


def ssh(name: WorkspaceArg = None) -> None:
    """Open a shell on the instance (needs ssh_cidrs)."""
    _ssh(name)


def tunnel(name: WorkspaceArg = None) -> None:
    """Forward the UI to localhost over SSH (the only way in for tls_mode = tunnel-only)."""
    _ssh(name, tunnel=True)


def browser_here() -> bool:
    """A desktop to open a browser on (a terminal browser on a server would take the terminal over)."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


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
    from ..boot import phases

    lines = text.splitlines() if everything else [f"opencode-bootstrap: {p}" for p in phases(text)]
    for line in lines:
        typer.echo(line)
    if not lines:
        out.print(f"(the serial console of {instance.instance_id} has no bootstrap lines yet; --all shows all of it)")
