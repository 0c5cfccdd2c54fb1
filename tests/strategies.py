"""Hypothesis strategies over the settings space, shared by the property tests.

`workspace_settings()` draws every concern a workspace's settings have (workspace, network, model, the
model server, schedule, audit, egress, backend, cost), each field over its whole accepted range where the
range is the point (names 3-24 characters, instance types of any family, tags, bandwidth, versions), and
the cross-rules between them by construction: what one concern's value forbids another never draws. Every
draw must be accepted by the settings model (tests/test_strategies.py holds the strategy to that)."""
from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from opencode_settings.egress import is_public_suffix
from opencode_settings.regions import OVERSEAS_REGIONS
from support import KEY

CATEGORIES = ["cloud_essd_entry", "cloud_auto", "cloud_essd", "cloud_ssd", "cloud_efficiency"]
# Known types, and any `ecs.<family>.<size>` the settings accept (the provider takes any string).
INSTANCE_TYPES = st.one_of(
    st.sampled_from(["ecs.e-c1m2.large", "ecs.e-c1m4.xlarge", "ecs.g7.large", "ecs.c7.xlarge", "ecs.u1-c1m2.large",
                     "ecs.g8i.2xlarge", "ecs.t6-c1m1.large"]),
    st.from_regex(r"ecs\.[a-z][a-z0-9-]{0,10}[a-z0-9]\.[0-9]{0,2}x?(small|medium|large|xlarge)", fullmatch=True),
)
GPU_TYPES = st.one_of(
    st.sampled_from(["ecs.gn7i-c8g1.2xlarge", "ecs.gn6i-c4g1.xlarge", "ecs.gn7e-c16g1.4xlarge", "ecs.ebmgn8is-x.8xlarge"]),
    st.from_regex(r"ecs\.(gn|sgn|vgn|gi)[0-9][a-z0-9]{0,3}-c[0-9]{1,2}g1\.[0-9]{0,2}x?large", fullmatch=True),
)
MODELS = {
    "anthropic": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
    "openai": {"provider": "openai", "model": "gpt-5"},
    "google": {"provider": "google", "model": "gemini-2.5-pro"},
    "openai-compatible": {"provider": "openai-compatible", "model": "qwen3-coder", "base_url": "https://llm.example.com/v1"},
}
TIME_ZONES = ["UTC", "Europe/Berlin", "Asia/Singapore", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
HOST = r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?"
# A host name, no dot first, that is no public suffix (github.io is one: the settings refuse those).
NAME = st.from_regex(rf"{HOST}(\.{HOST}){{0,2}}\.(com|org|net|io|dev)", fullmatch=True).filter(lambda n: not is_public_suffix(n))
# Workspace names of every allowed length (3-24), the length drawn first so that both ends are reached.
NAMES = st.integers(3, 24).flatmap(lambda n: st.from_regex(rf"[a-z][a-z0-9-]{{{n - 2}}}[a-z0-9]", fullmatch=True))
VPC_IMAGE = "registry-vpc.{region}.aliyuncs.com/acme/opencode:1.18.33"


def cidrs(version: int) -> st.SearchStrategy[str]:
    """A public CIDR of either family, host bits zero (never the whole internet)."""
    if version == 4:
        return st.tuples(st.sampled_from(["203.0.113.0", "198.51.100.0", "192.0.2.0", "8.8.0.0"]), st.integers(16, 32)).map(
            lambda pair: str(ipaddress.ip_network(f"{pair[0]}/{pair[1]}", strict=False)))
    return st.integers(32, 128).map(lambda bits: str(ipaddress.ip_network(f"2001:db8::/{bits}", strict=False)))


@st.composite
def network(draw: st.DrawFn) -> dict[str, Any]:
    """The VPC, its vSwitches (the workspace's, the model server's) and whether existing ones are reused."""
    second = draw(st.integers(0, 255))
    values: dict[str, Any] = {"vpc_cidr": f"10.{second}.0.0/16", "vswitch_cidr": f"10.{second}.{draw(st.integers(0, 127))}.0/24"}
    if draw(st.booleans()):
        values.update(vpc_id="vpc-abc123def", vswitch_id="vsw-abc123def")
    if draw(st.booleans()):
        values["eip_allocation_id"] = "eip-abc123def"
    values["eip_bandwidth_mbps"] = draw(st.integers(1, 500))
    values["web_cidrs"] = draw(st.lists(st.one_of(cidrs(4), cidrs(6)), min_size=1, max_size=3, unique=True)
                               | st.just(["0.0.0.0/0"]))
    return values


@st.composite
def model(draw: st.DrawFn) -> dict[str, Any]:
    chosen = dict(MODELS[draw(st.sampled_from(sorted(MODELS)))])
    if chosen["provider"] == "openai-compatible" or draw(st.booleans()):
        chosen["base_url"] = f"https://{draw(NAME)}/v1"
    if draw(st.booleans()):
        chosen["api_key_parameter"] = draw(st.from_regex(r"p[a-z0-9_/-]{1,30}", fullmatch=True))
    return chosen


@st.composite
def model_server(draw: st.DrawFn, vpc_cidr: str, vswitch_cidr: str, reused_vpc: bool, egress: str) -> dict[str, Any]:
    vpc = ipaddress.ip_network(vpc_cidr)
    taken = ipaddress.ip_network(vswitch_cidr)
    free = [net for net in vpc.subnets(new_prefix=24) if not net.overlaps(taken)]
    subnet = free[draw(st.integers(0, len(free) - 1))]
    values: dict[str, Any] = {
        "enabled": True, "instance_type": draw(GPU_TYPES),
        "model": draw(st.sampled_from(["Qwen/Qwen3-4B-Instruct-2507", "Qwen/Qwen2.5-Coder-7B-Instruct", "deepseek-ai/DeepSeek-V2-Lite"])),
        "served_model_name": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)),
        "max_model_len": draw(st.integers(1024, 262144)),
        "vllm_image": draw(st.sampled_from(["vllm/vllm-openai:v0.11.0", "vllm/vllm-openai:v0.10.2"])),
        "use_modelscope": draw(st.booleans()),
        "weights_disk_size": draw(st.integers(40, 2048)),
        "vswitch_cidr": str(subnet),
    }
    if reused_vpc:
        values.update(vswitch_id="vsw-gpu123456", private_ip=str(subnet.network_address + draw(st.integers(4, 250))))
    if egress != "open":
        values["downloads"] = draw(st.booleans())
    return values


@st.composite
def egress(draw: st.DrawFn, region: str) -> dict[str, Any]:
    mode = draw(st.sampled_from(["open", "allowlist", "none"]))
    values: dict[str, Any] = {"mode": mode}
    if mode == "allowlist":
        values["allow"] = draw(st.lists(st.tuples(st.booleans(), NAME).map(lambda p: ("." if p[0] else "") + p[1]), max_size=5))
    if mode == "none":
        values["workspace_image"] = VPC_IMAGE.format(region=region)
    return values


@st.composite
def schedule(draw: st.DrawFn) -> dict[str, Any]:
    start, stop = draw(st.lists(st.tuples(st.integers(0, 23), st.integers(0, 59)), min_size=2, max_size=2, unique=True))
    return {"enabled": True, "start": f"{start[0]:02d}:{start[1]:02d}", "stop": f"{stop[0]:02d}:{stop[1]:02d}",
            "weekdays": draw(st.sampled_from(["MON-FRI", "*", "MON,WED,FRI", "SAT-SUN", "TUE-THU,SAT"])),
            "time_zone": draw(st.sampled_from(TIME_ZONES))}


@st.composite
def audit(draw: st.DrawFn, tls_mode: str) -> dict[str, Any]:
    values: dict[str, Any] = {"access_log_days": draw(st.integers(1, 3650))}
    if draw(st.booleans()):
        values.update(enabled=True, retention_days=draw(st.integers(180, 3650)),
                      event_rw=draw(st.sampled_from(["All", "Write"])), sls=draw(st.booleans()), protect=draw(st.booleans()))
        if draw(st.booleans()):
            values["existing_trail"] = "account-trail"
        else:
            values["bucket"] = draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,40}[a-z0-9]", fullmatch=True))
            values["ship_access_log"] = tls_mode != "tunnel-only" and draw(st.booleans())
    return values


@st.composite
def backend(draw: st.DrawFn, region: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["local", "oss", "cloud", "remote"]))
    if kind == "local":
        return {"kind": "local"}
    if kind in ("cloud", "remote"):
        values = {"kind": kind, "organization": "acme"}
        if draw(st.booleans()):
            values["workspace"] = draw(st.from_regex(r"[a-z][a-z0-9-]{2,20}", fullmatch=True))
        return values
    values = {"kind": "oss", "bucket": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{1,30}[a-z0-9]", fullmatch=True)),
              "prefix": draw(st.sampled_from(["opencode", "teams/platform", "a.b/c-d"]))}
    bucket_region = draw(st.sampled_from([region, *sorted(OVERSEAS_REGIONS)]))
    if bucket_region != region:
        values["region"] = bucket_region
    if draw(st.booleans()):
        values.update(tablestore_endpoint=f"https://opencode-locks.{bucket_region}.ots.aliyuncs.com", tablestore_table="terraform_lock")
    if draw(st.booleans()):
        values["assume_role_arn"] = "acs:ram::1234567890123456:role/terraform-state"
    return values


@st.composite
def workspace_settings(draw: st.DrawFn) -> dict[str, Any]:
    region = draw(st.sampled_from(sorted(OVERSEAS_REGIONS)))
    values: dict[str, Any] = {
        "name": draw(NAMES),
        "region": region,
        "instance_type": draw(INSTANCE_TYPES),
        "image_family": draw(st.sampled_from(["debian-13", "ubuntu-24.04"])),
        "image_source": draw(st.sampled_from(["public", "baked"])),
        "system_disk_category": draw(st.sampled_from(CATEGORIES)),
        "data_disk_category": draw(st.sampled_from(CATEGORIES)),
        "system_disk_size": draw(st.integers(20, 500)),
        "data_disk_size": draw(st.integers(20, 32768)),
        "snapshot_retention_days": draw(st.integers(1, 65536)),
        "spot": draw(st.booleans()),
        "power": draw(st.sampled_from(["running", "stopped"])),
        "opencode_version": draw(st.sampled_from(["1.18.33", "1.18.32"]) | st.from_regex(r"1\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True)),
        "container_memory_mb": draw(st.integers(512, 1048576)),
        "tags": draw(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_.-]{0,20}", fullmatch=True).filter(
                         lambda key: key not in ("workspace", "managed-by") and not key.startswith("aliyun")),
                     st.text(st.characters(codec="ascii", categories=["L", "N"]) | st.sampled_from(" -_.:/=+@"), max_size=40),
                     max_size=3)),
        **draw(network()),
    }
    if values["image_source"] == "baked" and draw(st.booleans()):
        values["image_id"] = "m-" + draw(st.from_regex(r"[a-z0-9]{20}", fullmatch=True))
    if draw(st.booleans()):
        values["image_name_regex"] = draw(st.sampled_from([r"^debian_13_\d+_x64", r"^ubuntu_24_04_x64.*", r".*"]))
    if draw(st.booleans()):
        values["use_github_token"] = True
        if draw(st.booleans()):
            values["github_token_parameter"] = "team/github-token"
    flow = draw(egress(region))
    values["egress"] = flow
    ssh = draw(st.booleans())
    if ssh:
        values["ssh_cidrs"] = draw(st.lists(st.one_of(cidrs(4), cidrs(6)), min_size=1, max_size=2, unique=True))
        values.update(draw(st.sampled_from([{"ssh_public_key": KEY}, {"key_pair_name": "laptop"}])))
    tls_modes = [mode for mode in ("acme", "internal", "tunnel-only")
                 if not (mode == "tunnel-only" and not ssh) and not (mode == "acme" and flow["mode"] == "none")]
    values["tls_mode"] = draw(st.sampled_from(tls_modes))
    if values["tls_mode"] != "tunnel-only" and draw(st.booleans()):
        values["idle_stop_minutes"] = draw(st.integers(10, 1440))
    if draw(st.booleans()):
        values["domain"] = draw(NAME)
    if flow["mode"] == "none" or draw(st.booleans()):
        values["model_server"] = draw(model_server(values["vpc_cidr"], values["vswitch_cidr"], "vpc_id" in values, flow["mode"]))
    values["model"] = draw(model())
    if draw(st.booleans()):
        values["schedule"] = draw(schedule())
    values["audit"] = draw(audit(values["tls_mode"]))
    values["backend"] = draw(backend(region))
    values["cost"] = {"traffic_gb_per_month": draw(st.integers(0, 10_000)), "cny_per_usd": draw(st.sampled_from([7.1, 7.25]))}
    return values
