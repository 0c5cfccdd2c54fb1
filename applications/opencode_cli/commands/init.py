"""init: the settings file, by a wizard or from flags."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import questionary
import typer

from opencode_settings import CONFIG_FILE_ENV, SettingsError

from .. import wizard
from .common import DEFAULT_FILE, EXIT_USAGE, err, fail, out


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
