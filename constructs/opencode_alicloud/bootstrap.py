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
OPENCODE_PORT = 4096  # loopback only on the host; reached through the proxy or an SSH tunnel

# Environment variable per model provider (OpenCode reads these via {env:...}).
PROVIDER_KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "google": "GOOGLE_GENERATIVE_AI_API_KEY",
    "openai-compatible": "MODEL_API_KEY",
}
COMPATIBLE_PROVIDER_ID = "custom"
PRIVATE_PROVIDER_ID = "vllm"
MODEL_SERVER_PORT = 8000
MODEL_SERVER_KEY_ENV = "MODEL_SERVER_API_KEY"  # in the workspace
VLLM_KEY_ENV = "VLLM_API_KEY"  # on the model server
WORKSPACE_PACKAGES = ["docker.io", "docker-compose-v2", "docker-buildx", "curl", "python3"]
MODEL_SERVER_PACKAGES = ["docker.io", "docker-compose-v2", "ubuntu-drivers-common", "curl", "gpg", "python3"]
GITHUB_TOKEN_ENV = "GH_TOKEN"
PASSWORD_ENV = "OPENCODE_SERVER_PASSWORD"


def workspace_role_name(name: str) -> str:
    """The workspace instance's RAM role (the secret reader waits for it to be attached)."""
    return f"{name}-instance"


def model_server_role_name(name: str) -> str:
    return f"{name}-model-instance"


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
    model_server_url: str | None = None  # http://<private ip>:8000/v1 when the private model server is on
    model_server_model: str | None = None  # its served model name


@dataclass(frozen=True)
class ModelServerBootstrap:
    """The static part of the model server's bootstrap."""

    name: str
    region: str
    model: str
    served_model_name: str
    max_model_len: int
    vllm_image: str
    use_modelscope: bool


@dataclass(frozen=True)
class ModelServerFacts:
    data_disk_id: str
    secret_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BootstrapFacts:
    """The Terraform-time part (tokens): where things are."""

    data_disk_id: str
    password_hash: str  # bcrypt ($2a$...), as Caddy 2.6 basicauth and `caddy hash-password` use it
    site_host: str  # the domain, or <ip-with-dashes>.sslip.io
    secret_parameters: dict[str, str] = field(default_factory=dict)  # env name -> OOS parameter name


def model_ref(settings: BootstrapSettings) -> str:
    """OpenCode's `provider/model` reference."""
    if settings.model_server_url:
        return f"{PRIVATE_PROVIDER_ID}/{settings.model_server_model}"
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
        private_id=PRIVATE_PROVIDER_ID,
        private_url=settings.model_server_url,
        private_model=settings.model_server_model,
        private_key_env=MODEL_SERVER_KEY_ENV,
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
            role=workspace_role_name(settings.name),
            parameters=[f"{env}={name}" for env, name in facts.secret_parameters.items()],
        ),
        "/etc/opencode/compose.yaml": render(
            "compose.yaml.j2", github=settings.use_github_token, memory=settings.container_memory, **common
        ),
        "/etc/opencode/image/Dockerfile": render("Dockerfile.j2", **common),
        "/etc/opencode/opencode.json": render_opencode_json(settings),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2"),
        "/usr/local/sbin/opencode-secrets": render("opencode-secrets.py.j2"),
        "/usr/local/sbin/opencode-bootstrap": render(
            "bootstrap.sh.j2", model_health=_model_health_url(settings), **common
        ),
    }
    if settings.tls_mode != "tunnel-only":
        files["/etc/opencode/Caddyfile"] = render_caddyfile(settings, facts.password_hash, facts.site_host)
    return files


_LITERAL_INTERPOLATION = re.compile(r"(?<!\$)\$\{(?!TfToken\[)|(?<!%)%\{")


def escape_for_terraform(text: str) -> str:
    """Terraform reads every string in cdk.tf.json as a template: `${` and `%{` in our
    scripts must become `$${` and `%%{`. cdktf tokens (`${TfToken[...]}`) stay as they are."""
    return _LITERAL_INTERPOLATION.sub(lambda m: m.group(0)[0] + m.group(0), text)


def _model_health_url(settings: BootstrapSettings) -> str | None:
    if not settings.model_server_url:
        return None
    return settings.model_server_url.removesuffix("/v1") + "/health"


def vllm_serve_args(server: ModelServerBootstrap) -> list[str]:
    """`vllm serve` arguments (the API key is added from the environment at start)."""
    return [
        "serve",
        server.model,
        "--served-model-name", server.served_model_name,
        "--max-model-len", str(server.max_model_len),
        "--host", "0.0.0.0",
        "--port", str(MODEL_SERVER_PORT),
        "--enable-auto-tool-choice",
        "--tool-call-parser", "hermes",
        "--gpu-memory-utilization", "0.90",
    ]


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
            parameters=[f"{env}={name}" for env, name in facts.secret_parameters.items()],
        ),
        "/etc/opencode/compose.yaml": render(
            "model-compose.yaml.j2",
            image=server.vllm_image,
            args=" ".join(vllm_serve_args(server)),
            modelscope=server.use_modelscope,
            **common,
        ),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2"),
        "/etc/systemd/system/opencode-bootstrap.service": render(
            "opencode-bootstrap.service.j2", script="/usr/local/sbin/opencode-bootstrap"
        ),
        "/usr/local/sbin/opencode-secrets": render("opencode-secrets.py.j2"),
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


def _cloud_config(name: str, files: dict[str, str], packages: list[str], runcmd: list[str]) -> str:
    user_data = render(
        "cloud-config.yaml.j2",
        name=name,
        files=[{"path": path, "content": content.rstrip("\n"), "mode": _mode(path)} for path, content in files.items()],
        packages=packages,
        runcmd=runcmd,
    )
    return escape_for_terraform(user_data)


def _mode(path: str) -> str:
    if path in EXECUTABLES:
        return "0700"
    return "0644" if path.startswith("/etc/systemd/") else "0600"


def render_user_data(settings: BootstrapSettings, facts: BootstrapFacts) -> str:
    """The cloud-config user-data for the workspace instance, ready for Terraform."""
    packages = WORKSPACE_PACKAGES + (["caddy"] if settings.tls_mode != "tunnel-only" else [])
    return _cloud_config(settings.name, render_files(settings, facts), packages, ["/usr/local/sbin/opencode-bootstrap"])
