"""Property-based rehearsal over the settings space (hypothesis).

For each drawn set of valid settings: synth, `terraform validate`, and a plan against the stub
providers, which enforce every plan-time rule of the shared provider schema. Zero errors and zero
warnings (deprecations) are allowed. A SIMULATION: the stub knows the provider's schema and rules,
none of Alibaba Cloud's IAM, quotas, stock or prices.

Profiles (HYPOTHESIS_PROFILE): `default` draws 40 examples (about 3 minutes on 2 cores);
`thorough` draws 500 (its last run time is in README.md). The state backend is drawn too: each draw's
stack, its backend or cloud block as generated, goes through `terraform init -backend=false` and
`validate`; the plan itself keeps state locally (the remote backends need the network).
"""
from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from cloud_sim import Rehearsal, build_mirror, environment, warnings_in
from conftest import synth
from strategies import workspace_settings

pytestmark = pytest.mark.slow

settings.register_profile("default", max_examples=40, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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
    document = synth(tmp_path_factory.mktemp("synth"), **values)
    block = {**document["terraform"].get("backend", {}), **({"cloud": 1} if "cloud" in document["terraform"] else {})}
    assert list(block) == [{"local": "local", "oss": "oss", "cloud": "cloud", "remote": "remote"}[values["backend"]["kind"]]]
    # The whole configuration as generated, its backend block included, validated; the plan (which validates
    # again) runs on the same stack without the block, since the backends need the network.
    _, report = rehearsal.validate_with_backend(document)
    assert report["valid"] and report["error_count"] == 0 and report["warning_count"] == 0, (values, report["diagnostics"])
    rehearsal.load(document)
    code, plan, output = rehearsal.plan()
    assert code == 0, (values, output[-3000:])
    assert warnings_in(output) == [], (values, warnings_in(output))
    assert plan is not None and any(c["type"] == "alicloud_instance" for c in plan["resource_changes"])
