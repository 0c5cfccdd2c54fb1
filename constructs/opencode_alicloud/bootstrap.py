"""The bootstrap seam: settings and host facts in, cloud-config user-data out.

Everything the instance runs is a real file under templates/, rendered by templates.render.
Terraform-time values (EIP address, disk id, password hash) arrive as cdktf tokens and
are resolved by Terraform at apply; no secret value is ever part of the user-data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .templates import render

DATA_MOUNT = "/data"
OPENCODE_PORT = 4096
USERDATA_LIMIT = 16 * 1024

# Environment variable per model provider (OpenCode reads these via {env:...}).
PROVIDER_KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "google": "GOOGLE_GENERATIVE_AI_API_KEY",
    "openai-compatible": "MODEL_API_KEY",
}
COMPATIBLE_PROVIDER_ID = "custom"
GITHUB_TOKEN_ENV = "GH_TOKEN"
PASSWORD_ENV = "OPENCODE_SERVER_PASSWORD"


@dataclass(frozen=True)
class BootstrapSettings:
    """The static part: what the user chose."""

    name: str
    region: str
    tls_mode: str
    opencode_version: str
    model_provider: str
    model: str
    model_base_url: str | None = None
    domain: str | None = None
    use_github_token: bool = False
    container_memory: str = "3g"


@dataclass(frozen=True)
class BootstrapFacts:
    """The Terraform-time part (tokens): where things are."""

    data_disk_id: str
    password_hash: str  # bcrypt ($2a$...), as Caddy 2.6 basicauth and `caddy hash-password` use it
    site_host: str  # the domain, or <ip-with-dashes>.sslip.io
    secret_parameters: dict[str, str] = field(default_factory=dict)  # env name -> OOS parameter name


def model_ref(settings: BootstrapSettings) -> str:
    """OpenCode's `provider/model` reference."""
    provider = COMPATIBLE_PROVIDER_ID if settings.model_provider == "openai-compatible" else settings.model_provider
    return f"{provider}/{settings.model}"


def render_opencode_json(settings: BootstrapSettings) -> str:
    return render(
        "opencode.json.j2",
        model=model_ref(settings),
        provider=settings.model_provider,
        model_id=settings.model,
        base_url=settings.model_base_url,
        key_env=PROVIDER_KEY_ENV[settings.model_provider],
        compatible_id=COMPATIBLE_PROVIDER_ID,
    )


def render_caddyfile(settings: BootstrapSettings, password_hash: str, site_host: str) -> str:
    return render(
        "Caddyfile.j2",
        site=site_host,
        tls_internal=settings.tls_mode == "internal",
        password_hash=password_hash,
        upstream=f"127.0.0.1:{OPENCODE_PORT}",
    )


EXECUTABLES = frozenset({"/usr/local/sbin/opencode-secrets", "/usr/local/sbin/opencode-bootstrap"})


def render_files(settings: BootstrapSettings, facts: BootstrapFacts) -> dict[str, str]:
    """Every file the bootstrap writes, by its path on the host."""
    common = dict(data=DATA_MOUNT, port=OPENCODE_PORT, version=settings.opencode_version, password_env=PASSWORD_ENV)
    files = {
        "/etc/opencode/bootstrap.env": render(
            "bootstrap.env.j2",
            region=settings.region,
            site=facts.site_host,
            data_disk_id=facts.data_disk_id,
            tls_mode=settings.tls_mode,
            parameters=[f"{env}={name}" for env, name in facts.secret_parameters.items()],
        ),
        "/etc/opencode/compose.yaml": render(
            "compose.yaml.j2", github=settings.use_github_token, memory=settings.container_memory, **common
        ),
        "/etc/opencode/image/Dockerfile": render("Dockerfile.j2", **common),
        "/etc/opencode/opencode.json": render_opencode_json(settings),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2"),
        "/usr/local/sbin/opencode-secrets": render("opencode-secrets.py.j2"),
        "/usr/local/sbin/opencode-bootstrap": render("bootstrap.sh.j2", **common),
    }
    if settings.tls_mode != "tunnel-only":
        files["/etc/opencode/Caddyfile"] = render_caddyfile(settings, facts.password_hash, facts.site_host)
    return files


_LITERAL_INTERPOLATION = re.compile(r"(?<!\$)\$\{(?!TfToken\[)|(?<!%)%\{")


def escape_for_terraform(text: str) -> str:
    """Terraform reads every string in cdk.tf.json as a template: `${` and `%{` in our
    scripts must become `$${` and `%%{`. cdktf tokens (`${TfToken[...]}`) stay as they are."""
    return _LITERAL_INTERPOLATION.sub(lambda m: m.group(0)[0] + m.group(0), text)


def _mode(path: str) -> str:
    if path in EXECUTABLES:
        return "0700"
    return "0644" if path.startswith("/etc/systemd/") else "0600"


def render_user_data(settings: BootstrapSettings, facts: BootstrapFacts) -> str:
    """The cloud-config user-data for the workspace instance, ready for Terraform."""
    files = render_files(settings, facts)
    user_data = render(
        "cloud-config.yaml.j2",
        name=settings.name,
        files=[
            {"path": path, "content": content.rstrip("\n"), "mode": _mode(path)} for path, content in files.items()
        ],
        caddy=settings.tls_mode != "tunnel-only",
    )
    return escape_for_terraform(user_data)
