"""Every file the workspace's bootstrap writes, by its path on the host: each a real template under this
folder, rendered by `render` with data only; the structured documents come from documents.py."""
from __future__ import annotations

from urllib.parse import urlsplit

from . import render
from .documents import compose_document, opencode_address, render_compose, render_opencode_json
from .inputs import BootstrapFacts, BootstrapSettings
from .layout import (
    ACCESS_LOG,
    ACCESS_LOG_DIR,
    ACCESS_LOG_PREFIX,
    AGENT_BRIDGE,
    AGENT_SUBNET,
    API_MODULE,
    CADDY_DROP_IN,
    DATA_MOUNT,
    LIB_DIR,
    MANAGED_CONFIG,
    METADATA_REJECT,
    MODEL_SERVER_PORT,
    OPENCODE_PORT,
    PASSWORD_ENV,
    PROXY_PORT,
    SHIP_STATE,
    UPSTREAM_AUTH_ENV,
    UPSTREAM_ENV_FILE,
    workspace_role_name,
)
from .recipe import BAKE_SCRIPT, Recipe


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


def _opencode_url(settings: BootstrapSettings) -> str:
    return f"http://{opencode_address(settings)}:{OPENCODE_PORT}"


def _model_health_url(settings: BootstrapSettings) -> str | None:
    if not settings.model_server_url:
        return None
    return settings.model_server_url.removesuffix("/v1") + "/health"
