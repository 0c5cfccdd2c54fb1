"""The bootstrap seam: settings and host facts in, cloud-config user-data out (Terraform sends it gzip-compressed).

Everything the instance runs is a real file under instance/ (its README tells the boot sequence),
rendered by instance.render; the structured documents (compose files, opencode.json) are data,
built in instance/documents.py and written by serializers.
Terraform-time values (EIP address, disk id, password hash) arrive as cdktf tokens and
are resolved by Terraform at apply; no secret value is ever part of the user-data.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from opencode_settings import Settings, SettingsError
from opencode_settings.egress import allowed_names

from .instance import render
from .instance.recipe import BAKE_SCRIPT, Recipe

from .instance.layout import (  # noqa: F401  (re-exported: the rest of the package imports them from here)
    DATA_MOUNT,
    OPENCODE_PORT,
    PROVIDER_KEY_ENV,
    COMPATIBLE_PROVIDER_ID,
    PRIVATE_PROVIDER_ID,
    MODEL_SERVER_PORT,
    MODEL_SERVER_KEY_ENV,
    VLLM_KEY_ENV,
    MODEL_SERVER_PACKAGES,
    MODEL_SERVER_IMAGE_FAMILY,
    GITHUB_TOKEN_ENV,
    PASSWORD_ENV,
    UPSTREAM_ENV_FILE,
    UPSTREAM_AUTH_ENV,
    MANAGED_CONFIG,
    CADDY_DROP_IN,
    WORLD_READABLE,
    LIB_DIR,
    ACCESS_LOG,
    ACCESS_LOG_DIR,
    ACCESS_LOG_PREFIX,
    SHIP_STATE,
    AGENT_ADDRESS,
    AGENT_BRIDGE,
    AGENT_SUBNET,
    PROXY_PORT,
    METADATA_REJECT,
)
from .instance.documents import (  # noqa: F401
    compose_document,
    model_compose_document,
    model_ref,
    opencode_address,
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
    image_source: str = "public"  # public: this boot runs the bake recipe first; baked: the image has run it
    container_memory: str = "3g"
    model_server_url: str | None = None  # http://<private ip>:8000/v1 when the private model server is on
    model_server_model: str | None = None  # its served model name
    idle_stop_minutes: int | None = None  # the idle check's threshold; None: no idle check
    access_log_days: int = 30  # how long Caddy keeps its rolled access logs
    egress_mode: str = "open"  # open | allowlist | none (egress.mode)
    egress_allow: tuple[str, ...] = ()  # the proxy's allowlist (allowlist mode)
    workspace_image: str | None = None  # egress none: the image at the registry's VPC endpoint
    ship_bucket: str | None = None  # audit.ship_access_log: the audit bucket the access log is copied to

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
            image_source=settings.image_source,
            container_memory=f"{settings.container_memory_mb}m",
            model_server_url=f"http://{server.address()}:{MODEL_SERVER_PORT}/v1" if server.enabled else None,
            model_server_model=server.served_model_name if server.enabled else None,
            idle_stop_minutes=settings.idle_stop_minutes,
            access_log_days=settings.audit.access_log_days,
            egress_mode=settings.egress.mode,
            egress_allow=tuple(allowed_names(settings)),
            workspace_image=settings.egress.workspace_image,
            ship_bucket=settings.audit.bucket if settings.audit.ship_access_log else None,
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
    vpc_endpoints: bool = False  # egress allowlist/none: the cloud APIs through their VPC endpoints

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelServerBootstrap:
        server = settings.model_server
        return cls(name=settings.name, region=settings.region, model=server.model,
                   served_model_name=server.served_model_name, max_model_len=server.max_model_len,
                   vllm_image=server.vllm_image, use_modelscope=server.use_modelscope,
                   # the same whether its downloads are open or closed: closing them changes no user-data
                   vpc_endpoints=settings.egress.mode != "open")


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
        upstream=f"{opencode_address(settings)}:{OPENCODE_PORT}",
        upstream_auth_env=UPSTREAM_AUTH_ENV,
        access_log=ACCESS_LOG,
        access_log_keep_hours=settings.access_log_days * 24,
        roll_uncompressed=bool(settings.ship_bucket),  # a rolled file keeps its inode: the shipper finds its rest
    )


EXECUTABLES = frozenset({"/usr/local/sbin/opencode-secrets", "/usr/local/sbin/opencode-bootstrap", "/usr/local/sbin/opencode-idle",
                         "/usr/local/sbin/opencode-ship-logs", BAKE_SCRIPT})
API_MODULE = f"{LIB_DIR}/opencode_aliyun.py"


def ship_files(settings: BootstrapSettings) -> dict[str, str]:
    """audit.ship_access_log: the hourly copy of the access log to the audit bucket (enabled once ready)."""
    if not settings.ship_bucket:
        return {}
    return {
        "/usr/local/sbin/opencode-ship-logs": render(
            "opencode-ship-logs.py.j2", lib=LIB_DIR, access_log=ACCESS_LOG, state=SHIP_STATE, bucket=settings.ship_bucket,
            prefix=f"{ACCESS_LOG_PREFIX}/{settings.name}", region=settings.region, role=workspace_role_name(settings.name),
        ),
        "/etc/systemd/system/opencode-ship-logs.service": render("opencode-ship-logs.service.j2", data=DATA_MOUNT),
        "/etc/systemd/system/opencode-ship-logs.timer": render("opencode-ship-logs.timer.j2"),
    }


# The agent's forward proxy and its network's firewall (egress allowlist/none).
SQUID_CONF = "/etc/opencode/squid.conf"  # installed as /etc/squid/squid.conf by the bootstrap
SQUID_PATHS = {"access_log": "/var/log/squid/access.log", "cache_log": "/var/log/squid/cache.log",
               "pid_file": "/run/squid.pid", "hosts_file": "/etc/hosts"}
# Never through the proxy, whatever a name resolves to: this host, link-local, the metadata service and
# Alibaba Cloud's in-region services (100.64.0.0/10), and every private range (the VPC's among them).
INSIDE = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
          "192.168.0.0/16", "::1", "fc00::/7", "fe80::/10")
AGENT_CHAIN = "OPENCODE-AGENT"


def render_squid_conf(settings: BootstrapSettings, paths: dict[str, str] = SQUID_PATHS) -> str:
    """The proxy's configuration: data only (names, ranges, paths); `paths` let a test run it."""
    return render(
        "squid.conf.j2", port=PROXY_PORT, agent_subnet=AGENT_SUBNET, inside=INSIDE, allowed=list(settings.egress_allow),
        model_server=_model_server_ip(settings), model_port=MODEL_SERVER_PORT, **paths,
    )


def agent_firewall() -> list[str]:
    """The host's rules for the agent's network, as systemd ExecStart lines: into the host, only the proxy
    (and replies to what the host opened, e.g. the HTTPS proxy's requests to OpenCode); nothing forwarded."""
    ipt, chain, bridge, port = "/usr/sbin/iptables -w", AGENT_CHAIN, AGENT_BRIDGE, PROXY_PORT
    return [
        f"-{ipt} -N DOCKER-USER",  # before Docker (the unit runs first): Docker keeps the chain it finds
        f"-{ipt} -N {chain}",  # "-": it may exist already (a restart)
        f"{ipt} -F {chain}",
        f"{ipt} -A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        f"{ipt} -A {chain} -p tcp --dport {port} -j ACCEPT",
        f"{ipt} -A {chain} -j REJECT",
        f"/bin/sh -c '{ipt} -C INPUT -i {bridge} -j {chain} 2>/dev/null || {ipt} -I INPUT -i {bridge} -j {chain}'",
        f"/bin/sh -c '{ipt} -C DOCKER-USER -i {bridge} -j REJECT 2>/dev/null || {ipt} -I DOCKER-USER -i {bridge} -j REJECT'",
    ]


def egress_files(settings: BootstrapSettings) -> dict[str, str]:
    if settings.egress_mode == "open":
        return {}
    return {
        SQUID_CONF: render_squid_conf(settings),
        "/etc/systemd/system/opencode-egress.service": render("opencode-egress.service.j2", commands=agent_firewall()),
    }


def _model_server_ip(settings: BootstrapSettings) -> str | None:
    return urlsplit(settings.model_server_url).hostname if settings.model_server_url else None


def api_files(vpc_endpoints: bool = False) -> dict[str, str]:
    """The on-instance API module and the secret reader that uses it (workspace and model server);
    `vpc_endpoints`: the APIs at <service>-vpc.<region>.aliyuncs.com (egress none: no public endpoint)."""
    return {
        API_MODULE: render("opencode_aliyun.py.j2", endpoint_suffix="-vpc" if vpc_endpoints else ""),
        "/usr/local/sbin/opencode-secrets": render("opencode-secrets.py.j2", lib=LIB_DIR),
    }


def idle_files(settings: BootstrapSettings) -> dict[str, str]:
    """The idle check and its timer (enabled by the bootstrap once the workspace is ready)."""
    if settings.idle_stop_minutes is None:
        return {}
    return {
        "/usr/local/sbin/opencode-idle": render(
            "opencode-idle.py.j2", lib=LIB_DIR, access_log=ACCESS_LOG, opencode_url=_opencode_url(settings),
            upstream_env=UPSTREAM_ENV_FILE, password_env=PASSWORD_ENV,
        ),
        "/etc/systemd/system/opencode-idle.service": render("opencode-idle.service.j2", minutes=settings.idle_stop_minutes),
        "/etc/systemd/system/opencode-idle.timer": render("opencode-idle.timer.j2"),
    }


def recipe(settings: BootstrapSettings) -> Recipe:
    """The bake recipe for these settings (only the OpenCode version and the image family reach it)."""
    return Recipe.of(settings.opencode_version, settings.image_family)


def bake_files(settings: BootstrapSettings) -> dict[str, str]:
    """image_source = public: this first boot runs the recipe itself (the baked image carries it instead)."""
    return {BAKE_SCRIPT: recipe(settings).text} if settings.image_source == "public" else {}


def first_boot_command(settings: BootstrapSettings) -> str:
    """cloud-init's one runcmd: the bake first when nothing was baked (packages only when the workspace image
    comes from the registry, egress none), then the bootstrap."""
    if settings.image_source != "public":
        return "/usr/local/sbin/opencode-bootstrap"
    bake = f"{BAKE_SCRIPT} --packages-only" if settings.workspace_image else BAKE_SCRIPT
    return f"{bake} && /usr/local/sbin/opencode-bootstrap"


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
            egress_mode=settings.egress_mode,
            workspace_image=settings.workspace_image or "",
            opencode_url=_opencode_url(settings),
            ship_logs="1" if settings.ship_bucket else "",
            # The bake recipe's digest: a changed recipe changes the user-data, which replaces the instance
            # (on a baked image as on the public one, where the recipe itself is in the user-data).
            recipe=recipe(settings).digest,
        ),
        "/etc/opencode/compose.yaml": render_compose(compose_document(settings)),
        MANAGED_CONFIG: render_opencode_json(settings),
        "/etc/systemd/system/opencode-imds-block.service": render("opencode-imds-block.service.j2", rule=METADATA_REJECT),
        **api_files(settings.egress_mode == "none"),
        **idle_files(settings),
        **egress_files(settings),
        **ship_files(settings),
        **bake_files(settings),
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


def _opencode_url(settings: BootstrapSettings) -> str:
    return f"http://{opencode_address(settings)}:{OPENCODE_PORT}"


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
