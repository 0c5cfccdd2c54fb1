"""Hypothesis strategies over the settings space, shared by the property tests."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from opencode_settings.regions import OVERSEAS_REGIONS
from support import KEY

CATEGORIES = ["cloud_essd_entry", "cloud_auto", "cloud_essd", "cloud_ssd", "cloud_efficiency"]
INSTANCE_TYPES = ["ecs.e-c1m2.large", "ecs.e-c1m4.xlarge", "ecs.g7.large", "ecs.c7.xlarge", "ecs.u1-c1m2.large", "ecs.g8i.2xlarge"]
MODELS = {
    "anthropic": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
    "openai": {"provider": "openai", "model": "gpt-5"},
    "google": {"provider": "google", "model": "gemini-2.5-pro"},
    "openai-compatible": {"provider": "openai-compatible", "model": "qwen3-coder", "base_url": "https://llm.example.com/v1"},
}
BACKENDS = {
    "local": {"kind": "local"},
    "oss": {"kind": "oss", "bucket": "team-tfstate", "tablestore_endpoint": None, "tablestore_table": None},
    "cloud": {"kind": "cloud", "organization": "acme"},
    "remote": {"kind": "remote", "organization": "acme"},
}


@st.composite
def workspace_settings(draw: st.DrawFn) -> dict[str, Any]:
    region = draw(st.sampled_from(sorted(OVERSEAS_REGIONS)))
    values: dict[str, Any] = {
        "name": draw(st.from_regex(r"[a-z][a-z0-9-]{1,10}[a-z0-9]", fullmatch=True)),
        "region": region,
        "instance_type": draw(st.sampled_from(INSTANCE_TYPES)),
        "system_disk_category": draw(st.sampled_from(CATEGORIES)),
        "data_disk_category": draw(st.sampled_from(CATEGORIES)),
        "system_disk_size": draw(st.integers(20, 500)),
        "data_disk_size": draw(st.integers(20, 32768)),
        "snapshot_retention_days": draw(st.integers(1, 65536)),
        "use_github_token": draw(st.booleans()),
        "spot": draw(st.booleans()),
        "power": draw(st.sampled_from(["running", "stopped"])),
        "model": draw(st.sampled_from(sorted(MODELS)).map(MODELS.get)),
    }
    if draw(st.booleans()):
        values.update(vpc_id="vpc-abc123def", vswitch_id="vsw-abc123def")
    if draw(st.booleans()):
        values["eip_allocation_id"] = "eip-abc123def"
    ssh = draw(st.booleans())
    if ssh:
        values["ssh_cidrs"] = [draw(st.sampled_from(["203.0.113.7/32", "198.51.100.0/24", "2001:db8::/64"]))]
        values.update(draw(st.sampled_from([{"ssh_public_key": KEY}, {"key_pair_name": "laptop"}])))
    values["tls_mode"] = draw(st.sampled_from(["acme", "internal", "tunnel-only"] if ssh else ["acme", "internal"]))
    if values["tls_mode"] != "tunnel-only" and draw(st.booleans()):
        values["idle_stop_minutes"] = draw(st.integers(10, 1440))
    if draw(st.booleans()):
        values["domain"] = "code.example.com"
    if draw(st.booleans()):
        values["model_server"] = {"enabled": True}
        if "vpc_id" in values:
            values["model_server"].update(vswitch_id="vsw-gpu123456", private_ip="10.0.8.10")
    backend = dict(BACKENDS[draw(st.sampled_from(sorted(BACKENDS)))])
    values["backend"] = {k: v for k, v in backend.items() if v is not None}
    return values
