"""The bootstrap seam: settings and host facts in, cloud-config user-data out.

Everything the instance runs is a real file under instance/ (its README tells the boot sequence),
rendered by instance.render; the structured documents (compose files, opencode.json) are data,
built in instance/documents.py and written by serializers.
Terraform-time values (EIP address, disk id, password hash) arrive as cdktf tokens and
are resolved by Terraform at apply; no secret value is ever part of the user-data.
"""
from __future__ import annotations

import base64
import gzip
import re
from dataclasses import dataclass, field

from opencode_settings import Settings

from .instance import render

from .instance.layout import (  # noqa: F401  (re-exported: the rest of the package imports them from here)
    DATA_MOUNT,
    OPENCODE_PORT,
    PROVIDER_KEY_ENV,
    COMPATIBLE_PROVIDER_ID,
    PRIVATE_PROVIDER_ID,
    MODEL_SERVER_PORT,
    MODEL_SERVER_KEY_ENV,
    VLLM_KEY_ENV,
    WORKSPACE_PACKAGES,
    MODEL_SERVER_PACKAGES,
    MODEL_SERVER_IMAGE_FAMILY,
    GITHUB_TOKEN_ENV,
    NPM_VERSION,
    NPM_SHA512,
    PASSWORD_ENV,
    UPSTREAM_ENV_FILE,
    UPSTREAM_AUTH_ENV,
    MANAGED_CONFIG,
    CADDY_DROP_IN,
    WORLD_READABLE,
    LIB_DIR,
    ACCESS_LOG,
    ACCESS_LOG_DIR,
)
from .instance.documents import (  # noqa: F401
    compose_document,
    model_compose_document,
    model_ref,
    opencode_config,
    render_compose,
    render_opencode_json,
    vllm_serve_args,
)


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
    image_family: str = "debian-13"
    container_memory: str = "3g"
    model_server_url: str | None = None  # http://<private ip>:8000/v1 when the private model server is on
    model_server_model: str | None = None  # its served model name
    idle_stop_minutes: int | None = None  # the idle check's threshold; None: no idle check
    access_log_days: int = 30  # how long Caddy keeps its rolled access logs

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
            image_family=settings.image_family,
            container_memory=f"{settings.container_memory_mb}m",
            model_server_url=f"http://{server.address()}:{MODEL_SERVER_PORT}/v1" if server.enabled else None,
            model_server_model=server.served_model_name if server.enabled else None,
            idle_stop_minutes=settings.idle_stop_minutes,
            access_log_days=settings.audit.access_log_days,
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


def render_caddyfile(settings: BootstrapSettings, password_hash: str, site_host: str) -> str:
    return render(
        "Caddyfile.j2",
        site=site_host,
        tls_internal=settings.tls_mode == "internal",
        password_hash=password_hash,
        upstream=f"127.0.0.1:{OPENCODE_PORT}",
        upstream_auth_env=UPSTREAM_AUTH_ENV,
        access_log=ACCESS_LOG,
        access_log_keep_hours=settings.access_log_days * 24,
    )


EXECUTABLES = frozenset({"/usr/local/sbin/opencode-secrets", "/usr/local/sbin/opencode-bootstrap", "/usr/local/sbin/opencode-idle"})
API_MODULE = f"{LIB_DIR}/opencode_aliyun.py"


def api_files() -> dict[str, str]:
    """The on-instance API module and the secret reader that uses it (workspace and model server)."""
    return {
        API_MODULE: render("opencode_aliyun.py.j2"),
        "/usr/local/sbin/opencode-secrets": render("opencode-secrets.py.j2", lib=LIB_DIR),
    }


def idle_files(settings: BootstrapSettings) -> dict[str, str]:
    """The idle check and its timer (enabled by the bootstrap once the workspace is ready)."""
    if settings.idle_stop_minutes is None:
        return {}
    return {
        "/usr/local/sbin/opencode-idle": render(
            "opencode-idle.py.j2", lib=LIB_DIR, access_log=ACCESS_LOG, port=OPENCODE_PORT,
            upstream_env=UPSTREAM_ENV_FILE, password_env=PASSWORD_ENV,
        ),
        "/etc/systemd/system/opencode-idle.service": render("opencode-idle.service.j2", minutes=settings.idle_stop_minutes),
        "/etc/systemd/system/opencode-idle.timer": render("opencode-idle.timer.j2"),
    }


def render_files(settings: BootstrapSettings, facts: BootstrapFacts) -> dict[str, str]:
    """Every file the bootstrap writes, by its path on the host."""
    common = dict(data=DATA_MOUNT, port=OPENCODE_PORT, version=settings.opencode_version, password_env=PASSWORD_ENV,
                  upstream_env=UPSTREAM_ENV_FILE, upstream_auth_env=UPSTREAM_AUTH_ENV, access_log_dir=ACCESS_LOG_DIR)
    files = {
        "/etc/opencode/bootstrap.env": render(
            "bootstrap.env.j2",
            region=settings.region,
            site=facts.site_host,
            data_disk_id=facts.data_disk_id,
            tls_mode=settings.tls_mode,
            role=workspace_role_name(settings.name),
            model_health=_model_health_url(settings) or "",
            parameters=[f"{env}={name}" for env, name in facts.secret_parameters.items()],
            idle_stop_minutes=settings.idle_stop_minutes or "",
        ),
        "/etc/opencode/compose.yaml": render_compose(compose_document(settings)),
        "/etc/opencode/image/Dockerfile": render("Dockerfile.j2", npm_version=NPM_VERSION, npm_sha512=NPM_SHA512, **common),
        MANAGED_CONFIG: render_opencode_json(settings),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2"),
        **api_files(),
        **idle_files(settings),
        "/usr/local/sbin/opencode-bootstrap": render(
            "bootstrap.sh.j2", **common
        ),
    }
    if settings.tls_mode != "tunnel-only":
        files["/etc/opencode/Caddyfile"] = render_caddyfile(settings, facts.password_hash, facts.site_host)
        files[CADDY_DROP_IN] = render("caddy-upstream.conf.j2", env_file=UPSTREAM_ENV_FILE, data=DATA_MOUNT)
    return files


_LITERAL_INTERPOLATION = re.compile(r"(?<!\$)\$\{(?!TfToken\[)|(?<!%)%\{")


def escape_for_terraform(text: str) -> str:
    """Terraform reads every string in cdk.tf.json as a template: `${` and `%{` in our
    scripts must become `$${` and `%%{`. cdktf tokens (`${TfToken[...]}`) stay as they are."""
    return _LITERAL_INTERPOLATION.sub(lambda m: m.group(0)[0] + m.group(0), text)


def literal_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags as Terraform literals: free text from settings is never evaluated as an expression."""
    return {escape_for_terraform(key): escape_for_terraform(value) for key, value in tags.items()}


def _model_health_url(settings: BootstrapSettings) -> str | None:
    if not settings.model_server_url:
        return None
    return settings.model_server_url.removesuffix("/v1") + "/health"


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
        ),
        "/etc/opencode/compose.yaml": render_compose(model_compose_document(server)),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2"),
        "/etc/systemd/system/opencode-bootstrap.service": render(
            "opencode-bootstrap.service.j2", script="/usr/local/sbin/opencode-bootstrap"
        ),
        **api_files(),
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


def _file_entry(path: str, content: str) -> dict[str, str]:
    """One write_files entry. A file without Terraform values travels gzip+base64 when that is shorter
    (cloud-init's gz+b64; ECS allows 16 KB of user-data), byte-stable (mtime 0) so an unchanged file
    never replaces the instance; a file with Terraform values (tokens) stays text for Terraform."""
    text = content.rstrip("\n")
    packed = base64.b64encode(gzip.compress((text + "\n").encode(), compresslevel=9, mtime=0)).decode()
    if "${TfToken[" in text or len(packed) >= len(escape_for_terraform(text)):
        return {"path": path, "content": text, "mode": _mode(path), "encoding": ""}
    return {"path": path, "content": packed, "mode": _mode(path), "encoding": "gz+b64"}


def _cloud_config(name: str, files: dict[str, str], packages: list[str], runcmd: list[str]) -> str:
    user_data = render(
        "cloud-config.yaml.j2",
        name=name,
        files=[_file_entry(path, content) for path, content in files.items()],
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
    packages = WORKSPACE_PACKAGES[settings.image_family] + (["caddy"] if settings.tls_mode != "tunnel-only" else [])
    return _cloud_config(settings.name, render_files(settings, facts), packages, ["/usr/local/sbin/opencode-bootstrap"])
