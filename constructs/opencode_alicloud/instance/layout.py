"""Where things are on the instance: paths, ports, packages and variable names the bootstrap,
the documents and the constructs agree on."""
from __future__ import annotations

import ipaddress

from opencode_settings.egress import AGENT_SUBNET  # noqa: F401  (the documents take it from here)

DATA_MOUNT = "/data"
OPENCODE_PORT = 4096  # loopback only on the host; reached through the proxy or an SSH tunnel
# egress.mode allowlist/none: OpenCode sits on an internal Docker network (no route out, no published
# port): the host reaches it at AGENT_ADDRESS, and it reaches only the forward proxy at AGENT_GATEWAY.
AGENT_BRIDGE = "oc-agent"
_AGENT_HOSTS = ipaddress.ip_network(AGENT_SUBNET).hosts()
AGENT_GATEWAY, AGENT_ADDRESS = str(next(_AGENT_HOSTS)), str(next(_AGENT_HOSTS))
PROXY_PORT = 3128  # Squid, the agent's only way out
# No container reaches the metadata service (the instance role's credentials): the bake recipe during its build,
# then opencode-imds-block.service after every Docker start.
METADATA_REJECT = "DOCKER-USER -d 100.100.100.200 -j REJECT"

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
# The workspace host's packages per image family, installed by the bake recipe (compose v2 is docker-compose
# on Debian 13 and docker-compose-v2 on Ubuntu 24.04). Caddy and Squid are always there and started only when
# the bootstrap configures them (the login proxy unless tunnel-only; the agent's proxy with egress control).
HOST_PACKAGES = {
    "debian-13": ["docker.io", "docker-compose", "docker-buildx", "curl", "python3", "caddy", "squid"],
    "ubuntu-24.04": ["docker.io", "docker-compose-v2", "docker-buildx", "curl", "python3", "caddy", "squid"],
}
WORKSPACE_IMAGE = "opencode-workspace:{version}"  # the image the recipe builds and the compose file names
# The model server stays on Ubuntu 24.04 for Ubuntu's NVIDIA driver tooling (ubuntu-drivers).
MODEL_SERVER_IMAGE_FAMILY = "ubuntu-24.04"
MODEL_SERVER_PACKAGES = ["docker.io", "docker-compose-v2", "ubuntu-drivers-common", "curl", "gpg", "python3"]
# npm for the workspace image, from the npm registry: version and the sha512 of its tarball (dist.integrity).
NPM_VERSION = "10.9.9"
NPM_SHA512 = ("d60fba8cb42f688b81e33c2f1cbef2ad7b977166700ec0ad057f1b6d60ea6ef2"
              "524abf673e20c35931cd8305d1dbb8887134d6eefdc0e7b8435bd458bf65b862")
GITHUB_TOKEN_ENV = "GH_TOKEN"
PASSWORD_ENV = "OPENCODE_SERVER_PASSWORD"
# The proxy logs users in with the web password (bcrypt in the Caddyfile) and authenticates to
# OpenCode with an upstream password made on the instance at first boot. The agent's container
# holds only the upstream password, which works nowhere but on the host's loopback.
UPSTREAM_ENV_FILE = "/etc/opencode/upstream.env"
UPSTREAM_AUTH_ENV = "OPENCODE_UPSTREAM_AUTH"  # base64("opencode:<upstream password>") for Caddy's header_up
MANAGED_CONFIG = "/etc/opencode/opencode.json"  # OpenCode's managed config path on Linux, host and container
CADDY_DROP_IN = "/etc/systemd/system/caddy.service.d/opencode-upstream.conf"
LIB_DIR = "/usr/local/lib/opencode"  # opencode_aliyun.py: the one module for every on-instance API call
# Caddy's JSON access log, on the data disk (Caddy's unit waits for its mount); the idle check reads it.
ACCESS_LOG_DIR = f"{DATA_MOUNT}/logs/caddy"
ACCESS_LOG = f"{ACCESS_LOG_DIR}/opencode-access.log"
SHIP_STATE = f"{DATA_MOUNT}/logs/opencode-ship-logs.json"  # how far the access log has been shipped (audit.ship_access_log)
ACCESS_LOG_PREFIX = "access-logs"  # in the audit bucket: <prefix>/<workspace>/<instance>/...
# Readable by the container's uid 1000 (no secret inside); everything else the bootstrap writes is root-only.
WORLD_READABLE = frozenset({MANAGED_CONFIG})
API_MODULE = f"{LIB_DIR}/opencode_aliyun.py"


def workspace_role_name(name: str) -> str:
    """The workspace instance's RAM role (the secret reader waits for it to be attached)."""
    return f"{name}-instance"


def model_server_role_name(name: str) -> str:
    return f"{name}-model-instance"
