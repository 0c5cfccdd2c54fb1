"""The bootstrap seam: settings and host facts in, cloud-config user-data out.

Everything the instance runs is a real file under templates/, rendered by templates.render.
Terraform-time values (EIP address, disk id, password hash) arrive as cdktf tokens and
are resolved by Terraform at apply; no secret value is ever part of the user-data.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from opencode_settings import Settings

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
# The proxy logs users in with the web password (bcrypt in the Caddyfile) and authenticates to
# OpenCode with an upstream password made on the instance at first boot. The agent's container
# holds only the upstream password, which works nowhere but on the host's loopback.
UPSTREAM_ENV_FILE = "/etc/opencode/upstream.env"
UPSTREAM_AUTH_ENV = "OPENCODE_UPSTREAM_AUTH"  # base64("opencode:<upstream password>") for Caddy's header_up
MANAGED_CONFIG = "/etc/opencode/opencode.json"  # OpenCode's managed config path on Linux, host and container
CADDY_DROP_IN = "/etc/systemd/system/caddy.service.d/opencode-upstream.conf"
# Readable by the container's uid 1000 (no secret inside); everything else the bootstrap writes is root-only.
WORLD_READABLE = frozenset({MANAGED_CONFIG})


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

    @classmethod
    def from_settings(cls, settings: Settings) -> BootstrapSettings:
        server = settings.model_server
        return cls(
            name=settings.name,
            region=settings.region,
            tls_mode=settings.tls_mode,
            opencode_version=settings.opencode_version,
            model_provider=settings.model.provider,
            model=settings.model.model,
            model_base_url=settings.model.base_url,
            domain=settings.domain,
            use_github_token=settings.use_github_token,
            container_memory=f"{settings.container_memory_mb}m",
            model_server_url=f"http://{server.address()}:{MODEL_SERVER_PORT}/v1" if server.enabled else None,
            model_server_model=server.served_model_name if server.enabled else None,
        )


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

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelServerBootstrap:
        server = settings.model_server
        return cls(name=settings.name, region=settings.region, model=server.model,
                   served_model_name=server.served_model_name, max_model_len=server.max_model_len,
                   vllm_image=server.vllm_image, use_modelscope=server.use_modelscope)


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


def opencode_config(settings: BootstrapSettings) -> dict[str, Any]:
    """OpenCode's configuration: model, provider (its key by `{env:...}`, never a value) and the
    operator's policy. On the host it is OpenCode's *managed* config (/etc/opencode, the highest
    precedence: no global or project config can override these keys)."""
    if settings.model_server_url:
        provider: dict[str, Any] = {
            PRIVATE_PROVIDER_ID: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Private vLLM",
                "options": {"baseURL": settings.model_server_url, "apiKey": f"{{env:{MODEL_SERVER_KEY_ENV}}}"},
                "models": {settings.model_server_model: {}},
            }
        }
    elif settings.model_provider == "openai-compatible":
        provider = {
            COMPATIBLE_PROVIDER_ID: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "OpenAI-compatible",
                "options": {"baseURL": settings.model_base_url, "apiKey": f"{{env:{PROVIDER_KEY_ENV['openai-compatible']}}}"},
                "models": {settings.model: {}},
            }
        }
    else:
        options: dict[str, Any] = {"baseURL": settings.model_base_url} if settings.model_base_url else {}
        options["apiKey"] = f"{{env:{PROVIDER_KEY_ENV[settings.model_provider]}}}"
        provider = {settings.model_provider: {"options": options}}
    return {
        "$schema": "https://opencode.ai/config.json",
        "model": model_ref(settings),
        "autoupdate": False,
        "share": "disabled",
        "permission": {"edit": "allow", "bash": "ask", "webfetch": "ask"},
        "provider": provider,
    }


def render_opencode_json(settings: BootstrapSettings) -> str:
    return json.dumps(opencode_config(settings), indent=2) + "\n"


def compose_document(settings: BootstrapSettings) -> dict[str, Any]:
    """The OpenCode service, as data (serialized, never templated: settings reach it)."""
    serve = ["serve", "--hostname", "0.0.0.0", "--port", str(OPENCODE_PORT)]
    service: dict[str, Any] = {"build": "/etc/opencode/image", "image": f"opencode-workspace:{settings.opencode_version}"}
    if settings.use_github_token:
        service["entrypoint"] = ["/bin/sh", "-c", "gh auth setup-git && exec opencode " + " ".join(serve)]
    else:
        service["command"] = serve
    service.update({
        "ports": [f"127.0.0.1:{OPENCODE_PORT}:{OPENCODE_PORT}"],
        "env_file": ["/etc/opencode/secrets.env", UPSTREAM_ENV_FILE],
        # The operator's config wins: no project config (opencode.json, .opencode/ in a repository).
        "environment": {"OPENCODE_DISABLE_PROJECT_CONFIG": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1"},
        "volumes": [
            f"{MANAGED_CONFIG}:{MANAGED_CONFIG}:ro",  # OpenCode's managed config: the highest precedence
            f"{DATA_MOUNT}/opencode/config:/home/opencode/.config/opencode:ro",  # root-owned, empty
            f"{DATA_MOUNT}/opencode/share:/home/opencode/.local/share/opencode",  # sessions (writable)
            f"{DATA_MOUNT}/workspace:/workspace",
        ],
        "security_opt": ["no-new-privileges:true"],
        "cap_drop": ["ALL"],
        "mem_limit": settings.container_memory,
        "pids_limit": 1024,
        "restart": "unless-stopped",
        "healthcheck": {
            "test": ["CMD-SHELL", f"wget -qO- --header \"Authorization: Basic $${UPSTREAM_AUTH_ENV}\" "
                     f"http://127.0.0.1:{OPENCODE_PORT}/global/health | grep -q healthy"],
            "interval": "30s", "timeout": "5s", "retries": 3,
        },
    })
    return {"name": "opencode", "services": {"opencode": service}}


def render_compose(document: dict[str, Any]) -> str:
    """A compose file through a YAML serializer, so no value can change its structure."""
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=1000)


def render_caddyfile(settings: BootstrapSettings, password_hash: str, site_host: str) -> str:
    return render(
        "Caddyfile.j2",
        site=site_host,
        tls_internal=settings.tls_mode == "internal",
        password_hash=password_hash,
        upstream=f"127.0.0.1:{OPENCODE_PORT}",
        upstream_auth_env=UPSTREAM_AUTH_ENV,
    )


EXECUTABLES = frozenset({"/usr/local/sbin/opencode-secrets", "/usr/local/sbin/opencode-bootstrap"})


def render_files(settings: BootstrapSettings, facts: BootstrapFacts) -> dict[str, str]:
    """Every file the bootstrap writes, by its path on the host."""
    common = dict(data=DATA_MOUNT, port=OPENCODE_PORT, version=settings.opencode_version, password_env=PASSWORD_ENV,
                  upstream_env=UPSTREAM_ENV_FILE, upstream_auth_env=UPSTREAM_AUTH_ENV)
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
        "/etc/opencode/compose.yaml": render_compose(compose_document(settings)),
        "/etc/opencode/image/Dockerfile": render("Dockerfile.j2", **common),
        MANAGED_CONFIG: render_opencode_json(settings),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2"),
        "/usr/local/sbin/opencode-secrets": render("opencode-secrets.py.j2"),
        "/usr/local/sbin/opencode-bootstrap": render(
            "bootstrap.sh.j2", model_health=_model_health_url(settings), **common
        ),
    }
    if settings.tls_mode != "tunnel-only":
        files["/etc/opencode/Caddyfile"] = render_caddyfile(settings, facts.password_hash, facts.site_host)
        files[CADDY_DROP_IN] = render("caddy-upstream.conf.j2", env_file=UPSTREAM_ENV_FILE)
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
    """`vllm serve` arguments (the API key comes from VLLM_API_KEY in the environment)."""
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


def model_compose_document(server: ModelServerBootstrap) -> dict[str, Any]:
    """The vLLM service, as data. Arguments are a list (no shell); vLLM reads its API key from
    VLLM_API_KEY in the environment, so the key is in no process's arguments."""
    return {
        "name": "model",
        "services": {
            "vllm": {
                "image": server.vllm_image,
                "entrypoint": ["vllm"],
                "command": vllm_serve_args(server),
                "environment": {
                    "VLLM_USE_MODELSCOPE": "true" if server.use_modelscope else "false",
                    "HF_HOME": "/cache/huggingface",
                    "MODELSCOPE_CACHE": "/cache/modelscope",
                },
                "env_file": ["/etc/opencode/secrets.env"],
                "ports": [f"{MODEL_SERVER_PORT}:{MODEL_SERVER_PORT}"],
                "volumes": ["/models/cache:/cache"],
                "shm_size": "8g",
                "security_opt": ["no-new-privileges:true"],
                "restart": "unless-stopped",
                "deploy": {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]}}},
                "healthcheck": {
                    "test": ["CMD-SHELL", "python3 -c \"import urllib.request as u; "
                             f"u.urlopen('http://127.0.0.1:{MODEL_SERVER_PORT}/health')\""],
                    "interval": "30s", "timeout": "5s", "retries": 3, "start_period": "30m",
                },
            }
        },
    }


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
        "/etc/opencode/compose.yaml": render_compose(model_compose_document(server)),
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
    return "0644" if path.startswith("/etc/systemd/") or path in WORLD_READABLE else "0600"


def render_user_data(settings: BootstrapSettings, facts: BootstrapFacts) -> str:
    """The cloud-config user-data for the workspace instance, ready for Terraform."""
    packages = WORKSPACE_PACKAGES + (["caddy"] if settings.tls_mode != "tunnel-only" else [])
    return _cloud_config(settings.name, render_files(settings, facts), packages, ["/usr/local/sbin/opencode-bootstrap"])
