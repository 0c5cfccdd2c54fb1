"""Test helpers that need no pytest (scripts/bench uses them too): synth in-process, the settings
variants every check runs on, and the bootstrap renderings with concrete host facts."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `imports/` (generated bindings) and main.py
sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def synth(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Synthesize the workspace stack in-process with these settings; return cdk.tf.json."""
    from cdktf import App

    from opencode_alicloud.stack import WorkspaceStack
    from opencode_settings import load_settings

    settings = load_settings(**overrides)
    outdir = tmp_path / "cdktf.out"
    outdir.mkdir(parents=True, exist_ok=True)
    app = App(outdir=str(outdir))
    WorkspaceStack(app, "opencode", settings, state_dir=str(tmp_path / "state"))
    app.synth()
    return json.loads((outdir / "stacks" / "opencode" / "cdk.tf.json").read_text())


def synth_roles(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Synthesize the administrator's roles stack (opencode-roles) in-process for this one workspace."""
    from cdktf import App

    from opencode_alicloud.roles_stack import ROLES_STACK_ID, RolesStack
    from opencode_settings import load_settings

    settings = load_settings(**overrides)
    outdir = tmp_path / "cdktf.out"
    outdir.mkdir(parents=True, exist_ok=True)
    app = App(outdir=str(outdir))
    RolesStack(app, ROLES_STACK_ID, settings, {"opencode": settings}, tmp_path / "state")
    app.synth()
    return json.loads((outdir / "stacks" / ROLES_STACK_ID / "cdk.tf.json").read_text())


def resources(document: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
    return list(document.get("resource", {}).get(type_name, {}).values())


def data_sources(document: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
    return list(document.get("data", {}).get(type_name, {}).values())


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGV4YW1wbGUuY29tIGtleSBmb3IgdGVzdHM user@example"

# Setting combinations every check runs on: the default and each option turned on.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "ssh-new-key": {"ssh_cidrs": ["203.0.113.7/32"], "ssh_public_key": KEY},
    "reuse-network-eip": {
        "vpc_id": "vpc-abc123def",
        "vswitch_id": "vsw-abc123def",
        "eip_allocation_id": "eip-abc123def",
        "key_pair_name": "laptop",
        "ssh_cidrs": ["198.51.100.0/24"],
    },
    "tunnel-only": {"tls_mode": "tunnel-only", "ssh_cidrs": ["203.0.113.7/32"], "key_pair_name": "laptop"},
    "all-options": {
        "name": "team-a",
        "region": "eu-central-1",
        "domain": "code.example.com",
        "tls_mode": "internal",
        "web_cidrs": ["198.51.100.0/24", "2001:db8::/32"],
        "ssh_cidrs": ["203.0.113.7/32"],
        "ssh_public_key": KEY,
        "use_github_token": True,
        "model": {"provider": "openai-compatible", "base_url": "https://llm.example.com/v1", "model": "qwen3"},
        "tags": {"team": "platform"},
        "idle_stop_minutes": 60,
        "schedule": {"enabled": True, "start": "08:30", "stop": "18:30", "time_zone": "Europe/Berlin"},
    },
    "model-server": {"model_server": {"enabled": True}, "ssh_cidrs": ["203.0.113.7/32"], "key_pair_name": "laptop"},
}


# Bootstrap renderings for the settings matrix, with concrete host facts in place of the
# Terraform references (what the instance receives after Terraform resolves them).
MODEL_VARIANTS: dict[str, dict[str, Any]] = {
    "openai": {"model": {"provider": "openai", "model": "gpt-5"}},
    "google": {"model": {"provider": "google", "model": "gemini-2.5-pro"}},
    "openai-compatible": {
        "model": {"provider": "openai-compatible", "base_url": "https://llm.example.com/v1", "model": "qwen3-coder"}
    },
}
# Egress control: the agent behind the proxy (allowlist), or reaching only the private model (none).
VPC_IMAGE = "registry-vpc.ap-southeast-1.aliyuncs.com/acme/opencode:1.18.33"
EGRESS_VARIANTS: dict[str, dict[str, Any]] = {
    "egress-allowlist": {"egress": {"mode": "allowlist", "allow": [".example.org"]}, "model": {"provider": "openai", "model": "gpt-5"}},
    "egress-none": {"egress": {"mode": "none", "workspace_image": VPC_IMAGE}, "model_server": {"enabled": True},
                    "tls_mode": "internal"},
}
# The access log copied to the audit bucket (audit.ship_access_log).
AUDIT_VARIANTS: dict[str, dict[str, Any]] = {
    "ship-logs": {"audit": {"enabled": True, "bucket": "acme-audit-trail", "ship_access_log": True}},
}
BOOTSTRAP_VARIANTS = {**VARIANTS, **MODEL_VARIANTS, **EGRESS_VARIANTS, **AUDIT_VARIANTS}


def terraform_literal(text: str) -> str:
    """What Terraform makes of the literal parts of a template string: `$${` -> `${`, `%%{` -> `%{`."""
    return text.replace("$${", "${").replace("%%{", "%{")


def rendered_model_server(variant: str = "model-server") -> tuple[Any, dict[str, str], str]:
    """(model server bootstrap settings, files by path, user-data) as the GPU instance sees them."""
    from opencode_alicloud.instance.inputs import ModelServerBootstrap, ModelServerFacts
    from opencode_alicloud.instance.layout import VLLM_KEY_ENV
    from opencode_alicloud.instance.user_data import render_model_server_files, render_model_server_user_data
    from opencode_settings import load_settings

    settings = load_settings(**BOOTSTRAP_VARIANTS[variant])
    boot = ModelServerBootstrap.from_settings(settings)
    facts = ModelServerFacts(data_disk_id="d-t4n0fedcba9876543210", secret_parameters={VLLM_KEY_ENV: f"{settings.name}-model-server-api-key"})
    files = render_model_server_files(boot, facts)
    return boot, files, terraform_literal(render_model_server_user_data(boot, facts))


def baked_dockerfile(recipe: str) -> str:
    """The workspace image's Dockerfile as the bake recipe writes it (its quoted here-document)."""
    return recipe.split("<<'DOCKERFILE'\n", 1)[1].split("\nDOCKERFILE\n", 1)[0] + "\n"


def rendered_bootstrap(variant: str) -> tuple[Any, dict[str, str], str]:
    """(bootstrap settings, files by path, user-data) for a variant, as the instance sees them."""
    from opencode_alicloud.instance.files import render_files
    from opencode_alicloud.instance.inputs import BootstrapFacts, BootstrapSettings
    from opencode_alicloud.instance.layout import PASSWORD_ENV
    from opencode_alicloud.instance.user_data import render_user_data
    from opencode_settings import load_settings

    settings = load_settings(**BOOTSTRAP_VARIANTS[variant])
    boot = BootstrapSettings.from_settings(settings)
    facts = BootstrapFacts(
        data_disk_id="d-t4n0123456789abcdefg",
        password_hash="$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
        site_host=settings.domain or "47-236-123-234.sslip.io",
        secret_parameters={PASSWORD_ENV: f"{settings.name}-web-password", "ANTHROPIC_API_KEY": f"{settings.name}-model-api-key"},
    )
    files = {path: terraform_literal(content) for path, content in render_files(boot, facts).items()}
    return boot, files, terraform_literal(render_user_data(boot, facts))


def cloud_config(user_data: str) -> dict[str, Any]:
    """The cloud-config of a rendered user-data (the text Terraform gzips for the instance)."""
    import yaml

    return yaml.safe_load(user_data)


def synthesized_user_data(document: dict[str, Any], instance: dict[str, Any]) -> str:
    """The cloud-config text an instance of a synthesized stack gets: its `user_data` is
    `${base64gzip(terraform_data.<name>.triggers_replace.user_data)}`; this is that terraform_data's text."""
    import re

    match = re.fullmatch(r"\$\{base64gzip\(terraform_data\.([^.]+)\.triggers_replace\.user_data\)\}", instance["user_data"])
    assert match, instance["user_data"][:200]
    return document["resource"]["terraform_data"][match.group(1)]["triggers_replace"]["user_data"]


def applied_user_data(value: str) -> str:
    """What an applied instance's user_data (base64 of the gzip Terraform made) holds: the cloud-config text."""
    import base64
    import gzip

    return gzip.decompress(base64.b64decode(value)).decode()


def written_files(user_data: str) -> dict[str, dict[str, str]]:
    """The files the user-data's write_files writes, by path: permissions and content, as they land on the disk."""
    return {item["path"]: item for item in cloud_config(user_data)["write_files"]}


def on_instance_module(tmp_path: Path, path: str, variant: str = "default") -> Any:
    """A rendered on-instance Python program, loaded as a module, with the shared API module beside it."""
    import importlib.util

    from opencode_alicloud.instance.layout import API_MODULE

    files = rendered_bootstrap(variant)[1]
    (tmp_path / "opencode_aliyun.py").write_text(files[API_MODULE])
    script = tmp_path / (Path(path).name.replace("-", "_").removesuffix(".py") + ".py")
    script.write_text(files[path])
    sys.modules.pop("opencode_aliyun", None)  # this test's copy, not another test's
    sys.path.insert(0, str(tmp_path))
    try:
        spec = importlib.util.spec_from_file_location(script.stem, script)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(tmp_path))
    return module


class Clock:
    """A fake clock for code that takes `clock` and `sleep`: sleeping moves it on, nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


# -- the preflight's account (fake_openapi.Account): images, stock and quotas in which `doctor` passes -----------------

REGION, TYPE = "ap-southeast-1", "ecs.e-c1m2.large"
DEBIAN = {"ImageId": "m-t4ndebian13000000001", "ImageName": "debian_13_2_x64_20G_alibase_20261115.vhd",
          "CreationTime": "2026-11-15T08:00:00Z", "Status": "Available", "OSName": "Debian 13.2 64 bit",
          "Architecture": "x86_64", "Platform": "Debian", "Runs": [TYPE, "ecs.g7.large", "ecs.gn7i-c8g1.2xlarge"]}
OLDER = {**DEBIAN, "ImageId": "m-t4ndebian13000000000", "ImageName": "debian_13_1_x64_20G_alibase_20261001.vhd",
         "CreationTime": "2026-10-01T08:00:00Z"}
UBUNTU = {**DEBIAN, "ImageId": "m-t4nubuntu2404000000", "ImageName": "ubuntu_24_04_x64_20G_alibase_20261120.vhd",
          "CreationTime": "2026-11-20T08:00:00Z"}


def ready_for_preflight(account: Any) -> Any:
    """`account` with the region's public images, stock in two zones (and one with other disks), and room in its quotas."""
    account.public_images = [OLDER, DEBIAN, UBUNTU]
    account.stock = {TYPE: {"ap-southeast-1a": {"SystemDisk": {"cloud_essd", "cloud_auto"}, "DataDisk": {"cloud_essd"}},
                            "ap-southeast-1b": {"SystemDisk": {"cloud_essd_entry", "cloud_essd"},
                                                "DataDisk": {"cloud_essd_entry", "cloud_essd"}},
                            "ap-southeast-1c": {"SystemDisk": {"cloud_essd_entry"}, "DataDisk": {"cloud_essd_entry"}},
                            # the system disk's category, not the data disk's: not a zone for the workspace
                            "ap-southeast-1d": {"SystemDisk": {"cloud_essd_entry"}, "DataDisk": {"cloud_essd"}}},
                     "ecs.g7.large": {"ap-southeast-1c": {"SystemDisk": {"cloud_essd_entry"}, "DataDisk": {"cloud_essd_entry"}}}}
    account.vcpus = {TYPE: 2, "ecs.g7.large": 2, "ecs.gn7i-c8g1.2xlarge": 8}
    account.attributes = {"max-postpaid-instance-vcpu-count": 500, "used-postpaid-instance-vcpu-count": 12,
                          "max-security-groups": 100}
    account.security_groups = 3
    return account
