"""opencode-alicloud: one tool for the whole life of a workspace. cdktf stays the engine
underneath and keeps working on its own.

Exit status: 0 done; 1 the workspace is not healthy (a failed bootstrap, a timeout) or an
operation was refused; 2 bad settings or usage; 3 cdktf or Terraform failed; 4 the cloud API:
no credentials, an API error, or nothing deployed; 130 interrupted."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from opencode_settings import CONFIG_FILE_ENV

from .commands import access, deploy, images, init, power, status, upgrade
from .commands.common import CTX, DEFAULT_FILE, err

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode=None)


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


# The commands, in the order `--help` lists them: set up, deploy, look, reach, destroy, power, upgrade, cost.
app.command()(init.init)
app.command()(deploy.up)
app.command()(deploy.doctor)
app.command()(status.status)
app.command(name="list")(status.list_workspaces)
app.command()(access.password)
app.command()(access.ssh)
app.command()(access.tunnel)
app.command()(deploy.down)
app.command()(power.stop)
app.command()(power.start)
app.command()(upgrade.upgrade)
app.command()(status.cost)
app.command(name="open")(access.open_workspace)
app.command()(access.logs)
app.add_typer(images.image_app, name="image")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
