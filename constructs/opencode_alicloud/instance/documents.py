"""The structured files the instance receives, as data: OpenCode's config and the compose files.
Settings reach them, so they are serialized (JSON, YAML), never templated."""
from __future__ import annotations

import json
from typing import Any

import yaml

from .layout import (
    AGENT_ADDRESS,
    AGENT_BRIDGE,
    AGENT_GATEWAY,
    AGENT_SUBNET,
    PROXY_PORT,
    COMPATIBLE_PROVIDER_ID,
    DATA_MOUNT,
    MANAGED_CONFIG,
    MODEL_SERVER_KEY_ENV,
    MODEL_SERVER_PORT,
    OPENCODE_PORT,
    PRIVATE_PROVIDER_ID,
    PROVIDER_KEY_ENV,
    UPSTREAM_AUTH_ENV,
    UPSTREAM_ENV_FILE,
    WORKSPACE_IMAGE,
)

from .inputs import BootstrapSettings, ModelServerBootstrap


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
        # No language server and no formatter: OpenCode starts them from the repository's own node_modules/.bin
        # (oxlint, biome, prettier) without asking, so a planted executable would run unapproved.
        "lsp": False,
        "formatter": False,
        "provider": provider,
    }


def render_opencode_json(settings: BootstrapSettings) -> str:
    return json.dumps(opencode_config(settings), indent=2) + "\n"


def opencode_address(settings: BootstrapSettings) -> str:
    """Where the host reaches OpenCode: loopback (a published port), or its address on the agent's
    internal network when egress is controlled (an internal network publishes no ports)."""
    return "127.0.0.1" if settings.egress_mode == "open" else AGENT_ADDRESS


def agent_network(settings: BootstrapSettings) -> dict[str, Any]:
    """egress allowlist/none: the internal network (no route out) and the proxy settings every tool
    in the container reads (Bun's fetch, git, curl, npm, pip); OpenCode's model catalogue is not
    fetched (it keeps the one it ships)."""
    proxy = f"http://{AGENT_GATEWAY}:{PROXY_PORT}"
    environment = {name: proxy for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    environment.update({"NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1",
                        "OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1"})
    return {
        "environment": environment,
        "networks": {"agent": {"ipv4_address": AGENT_ADDRESS}},
        "definition": {"agent": {"internal": True, "driver_opts": {"com.docker.network.bridge.name": AGENT_BRIDGE},
                                 "ipam": {"config": [{"subnet": AGENT_SUBNET, "gateway": AGENT_GATEWAY}]}}},
    }


def compose_document(settings: BootstrapSettings) -> dict[str, Any]:
    """The OpenCode service, as data (serialized, never templated: settings reach it)."""
    serve = ["serve", "--hostname", "0.0.0.0", "--port", str(OPENCODE_PORT)]
    service: dict[str, Any] = (
        {"image": settings.workspace_image, "pull_policy": "missing"} if settings.workspace_image
        # Built by the bake recipe (in the image, or by this first boot): never pulled, never built by compose.
        else {"image": WORKSPACE_IMAGE.format(version=settings.opencode_version), "pull_policy": "never"}
    )
    if settings.use_github_token:
        service["entrypoint"] = ["/bin/sh", "-c", "gh auth setup-git && exec opencode " + " ".join(serve)]
    else:
        service["command"] = serve
    network = agent_network(settings) if settings.egress_mode != "open" else None
    if not network:
        service["ports"] = [f"127.0.0.1:{OPENCODE_PORT}:{OPENCODE_PORT}"]
    service.update({
        "env_file": ["/etc/opencode/secrets.env", UPSTREAM_ENV_FILE],
        # The operator's config wins: no project config (opencode.json, .opencode/ in a repository).
        "environment": {"OPENCODE_DISABLE_PROJECT_CONFIG": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1",
                        **(network["environment"] if network else {})},
        "volumes": [
            f"{MANAGED_CONFIG}:{MANAGED_CONFIG}:ro",  # OpenCode's managed config: the highest precedence
            # Root-owned 0755 and empty: uid 1000 without capabilities cannot write into it. Not `:ro`:
            # OpenCode tolerates EACCES on its config folder but fails on EROFS (the boot rehearsal).
            f"{DATA_MOUNT}/opencode/config:/home/opencode/.config/opencode",
            f"{DATA_MOUNT}/opencode/share:/home/opencode/.local/share/opencode",  # sessions (writable)
            f"{DATA_MOUNT}/workspace:/workspace",
        ],
        "security_opt": ["no-new-privileges:true"],
        "cap_drop": ["ALL"],
        "mem_limit": settings.container_memory,
        "pids_limit": 1024,
        "restart": "unless-stopped",
        "healthcheck": {
            "test": ["CMD-SHELL", f"curl -fsS -H \"Authorization: Basic $${UPSTREAM_AUTH_ENV}\" "
                     f"http://127.0.0.1:{OPENCODE_PORT}/global/health | grep -q healthy"],
            "interval": "30s", "timeout": "5s", "retries": 3,
        },
    })
    document: dict[str, Any] = {"name": "opencode", "services": {"opencode": service}}
    if network:
        service["networks"] = network["networks"]
        document["networks"] = network["definition"]
    return document


def render_compose(document: dict[str, Any]) -> str:
    """A compose file through a YAML serializer, so no value can change its structure."""
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=1000)


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
