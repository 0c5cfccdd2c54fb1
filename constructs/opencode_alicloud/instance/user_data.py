"""The user-data seam: settings and host facts in, cloud-config user-data out (Terraform sends it gzip-compressed).

Everything the instance runs is a real file in this folder (its README tells the boot sequence), rendered by
`render` (files.py); the structured documents (compose files, opencode.json) are data, built in documents.py and
written by serializers. Terraform-time values (EIP address, disk id, password hash) arrive as cdktf tokens and
are resolved by Terraform at apply; no secret value is ever part of the user-data.
"""
from __future__ import annotations

import gzip

from opencode_settings import SettingsError

from . import render
from .documents import model_compose_document, render_compose
from .files import api_files, first_boot_command, render_files
from .inputs import BootstrapFacts, BootstrapSettings, ModelServerBootstrap, ModelServerFacts
from .layout import METADATA_REJECT, MODEL_SERVER_PACKAGES, MODEL_SERVER_PORT, WORLD_READABLE, model_server_role_name
from .recipe import BAKE_SCRIPT
from .terraform_text import escape_for_terraform

EXECUTABLES = frozenset({"/usr/local/sbin/opencode-secrets", "/usr/local/sbin/opencode-bootstrap", "/usr/local/sbin/opencode-idle",
                         "/usr/local/sbin/opencode-ship-logs", BAKE_SCRIPT})


def render_model_server_files(server: ModelServerBootstrap, facts: ModelServerFacts) -> dict[str, str]:
    common = dict(data="/models", port=MODEL_SERVER_PORT)
    return {
        "/etc/opencode/bootstrap.env": render(
            "bootstrap.env.j2",
            region=server.region,
            site="",
            data_disk_id=facts.data_disk_id,
            tls_mode="none",
            role=model_server_role_name(server.name),
            model_health="",
            parameters=[f"{env}={name}" for env, name in facts.secret_parameters.items()],
            idle_stop_minutes="",
            egress_mode="open",  # the model server has no agent: its security group limits it
            workspace_image="",
            opencode_url="",
            ship_logs="",
            recipe="",
        ),
        "/etc/opencode/compose.yaml": render_compose(model_compose_document(server)),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2", rule=METADATA_REJECT),
        "/etc/systemd/system/opencode-bootstrap.service": render(
            "opencode-bootstrap.service.j2", script="/usr/local/sbin/opencode-bootstrap"
        ),
        **api_files(server.vpc_endpoints),
        "/usr/local/sbin/opencode-bootstrap": render(
            "model-bootstrap.sh.j2", served=server.served_model_name, **common
        ),
    }


def render_model_server_user_data(server: ModelServerBootstrap, facts: ModelServerFacts) -> str:
    """The model server's cloud-config: the bootstrap runs as a service at every boot (the GPU
    driver may need one reboot)."""
    return _cloud_config(
        server.name + "-model",
        render_model_server_files(server, facts),
        MODEL_SERVER_PACKAGES,
        ["systemctl", "enable", "--now", "--no-block", "opencode-bootstrap.service"],
    )


def _cloud_config(name: str, files: dict[str, str], packages: list[str], runcmd: list[str] | str) -> str:
    """The cloud-config, ready for Terraform (which gzips it: host.gzipped_user_data)."""
    user_data = render(
        "cloud-config.yaml.j2", name=name, packages=packages, runcmd=runcmd,
        files=[{"path": path, "content": content.rstrip("\n"), "mode": _mode(path)} for path, content in files.items()],
    )
    return escape_for_terraform(user_data)


def _mode(path: str) -> str:
    if path in EXECUTABLES:
        return "0700"
    return "0644" if path.startswith("/etc/systemd/") or path in WORLD_READABLE else "0600"


USER_DATA_LIMIT = 16 * 1024  # ECS's limit on an instance's user-data (which is gzip-compressed: host.gzipped_user_data)
TOKEN_ALLOWANCE = 64  # what one Terraform value may grow to at apply (a bcrypt hash is 60 characters)


def user_data_size(user_data: str, domain: str | None = None) -> int:
    """The gzip-compressed user-data's size as ECS receives it, at most: the text compressed, and each
    Terraform value counted at TOKEN_ALLOWANCE bytes (a domain at its own length) that do not compress."""
    tokens = user_data.count("${TfToken[")
    return len(gzip.compress(user_data.encode(), compresslevel=6, mtime=0)) + tokens * max(TOKEN_ALLOWANCE, len(domain or ""))


def render_user_data(settings: BootstrapSettings, facts: BootstrapFacts) -> str:
    """The cloud-config user-data for the workspace instance, ready for Terraform. Refused (a settings
    error, before any resource exists) when it would exceed ECS's limit."""
    user_data = _cloud_config(settings.name, render_files(settings, facts), [], first_boot_command(settings))
    size = user_data_size(user_data, settings.domain)
    if size > USER_DATA_LIMIT:
        on = [name for name, value in (("idle_stop_minutes", settings.idle_stop_minutes is not None),
                                       ("egress.allow", settings.egress_mode == "allowlist"),
                                       ("use_github_token", settings.use_github_token)) if value]
        raise SettingsError([(", ".join(on) or "name", f"together make the workspace's user-data about {size} bytes gzip-compressed, "
                              f"over ECS's {USER_DATA_LIMIT}: shorten egress.allow (a .parent takes its subdomains) "
                              "or turn an option off")])
    return user_data
