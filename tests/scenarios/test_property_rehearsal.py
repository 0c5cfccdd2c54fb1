"""Property-based rehearsal over the settings space (hypothesis).

For each drawn set of valid settings: synth, `terraform validate`, and a plan against the stub
providers, which enforce every plan-time rule of the shared provider schema. Zero errors and zero
warnings (deprecations) are allowed. A SIMULATION: the stub knows the provider's schema and rules,
none of Alibaba Cloud's IAM, quotas, stock or prices.

Profiles (HYPOTHESIS_PROFILE): `default` draws 40 examples (about 3 minutes on 2 cores);
`thorough` draws 500 (its last run time is in README.md). The state backend is drawn too; the
plan itself keeps state locally (the remote backends need the network).
"""
from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_sim import Rehearsal, build_mirror, environment, warnings_in
from conftest import KEY, synth
from opencode_settings.regions import OVERSEAS_REGIONS

pytestmark = pytest.mark.slow

settings.register_profile("default", max_examples=40, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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
    if draw(st.booleans()):
        values["domain"] = "code.example.com"
    if draw(st.booleans()):
        values["model_server"] = {"enabled": True}
        if "vpc_id" in values:
            values["model_server"].update(vswitch_id="vsw-gpu123456", private_ip="10.0.8.10")
    backend = dict(BACKENDS[draw(st.sampled_from(sorted(BACKENDS)))])
    values["backend"] = {k: v for k, v in backend.items() if v is not None}
    return values


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    base = tmp_path_factory.mktemp("property")
    env = environment(build_mirror(base / "sim"))
    env.update(TF_VAR_model_api_key="sk-test", TF_VAR_github_token="ghp_test")
    return Rehearsal(base / "tf", env)


@given(values=workspace_settings())
def test_every_valid_setting_plans_cleanly_against_the_provider_rules(
    values: dict[str, Any], rehearsal: Rehearsal, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rehearsal.load(synth(tmp_path_factory.mktemp("synth"), **values))
    report = rehearsal.validate()
    assert report["valid"] and report["error_count"] == 0 and report["warning_count"] == 0, (values, report["diagnostics"])
    code, plan, output = rehearsal.plan()
    assert code == 0, (values, output[-3000:])
    assert warnings_in(output) == [], (values, warnings_in(output))
    assert plan is not None and any(c["type"] == "alicloud_instance" for c in plan["resource_changes"])
