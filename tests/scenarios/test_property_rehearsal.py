"""Property-based rehearsal over the settings space (hypothesis).

For each drawn set of valid settings: synth, `terraform validate`, and a plan against the stub
providers, which enforce every plan-time rule of the shared provider schema. Zero errors and zero
warnings (deprecations) are allowed. A SIMULATION: the stub knows the provider's schema and rules,
none of Alibaba Cloud's IAM, quotas, stock or prices.

Profiles (HYPOTHESIS_PROFILE): `default` draws 25 examples (about 2 minutes on 2 cores; new ones each run);
`thorough` draws 500 (its last run time is in docs/development/tests.md). The state backend is drawn too: each draw's
stack, its backend or cloud block as generated, goes through `terraform init -backend=false` and
`validate`; the plan itself keeps state locally (the remote backends need the network).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from cloud_sim import Rehearsal, build_mirror, environment, seed_roles, warnings_in
from conftest import ROOT, synth
from opencode_alicloud.instance.recipe import Recipe
from strategies import workspace_settings

SCHEMA = json.loads((ROOT / "config" / "schemas" / "alicloud-1.289.0.json").read_text())
# Terraform's backends: oss from the shared schema's record of Terraform's OSS backend; local, remote and
# the cloud block from Terraform's documentation (their arguments, with the nested workspaces block).
OSS_BACKEND = SCHEMA["//"]["backend_oss"]
HCP = {"hostname": str, "organization": str, "token": str, "workspaces": dict}
ARGUMENTS: dict[str, dict[str, type]] = {
    "local": {"path": str, "workspace_dir": str},
    "remote": HCP,
    "cloud": {**HCP, "project": str},
    "oss": {name: {"string": str, "bool": bool, "number": (int, float)}[spec["type"]]  # type: ignore[dict-item]
            for name, spec in OSS_BACKEND["attributes"].items()} | {name: dict for name in OSS_BACKEND.get("block_types", {})},
}
WORKSPACES = {"remote": {"name", "prefix"}, "cloud": {"name", "tags", "project"}}


def backend_problems(kind: str, block: dict[str, Any]) -> list[str]:
    """What in a generated backend block Terraform would refuse: an unknown argument or a wrong type."""
    known = ARGUMENTS[kind]
    problems = [f"{name}: not an argument of the {kind} backend" for name in block if name not in known]
    problems += [f"{name}: {type(value).__name__}, not {known[name]}" for name, value in block.items()
                 if name in known and not isinstance(value, known[name])]  # type: ignore[arg-type]
    if kind in WORKSPACES and isinstance(block.get("workspaces"), dict):
        problems += [f"workspaces.{name}: not an argument" for name in block["workspaces"] if name not in WORKSPACES[kind]]
    return problems

pytestmark = pytest.mark.slow

settings.register_profile("default", max_examples=25, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    base = tmp_path_factory.mktemp("property")
    env = environment(build_mirror(base / "sim"))
    env.update(TF_VAR_model_api_key="sk-test", TF_VAR_github_token="ghp_test",
               STUB_PROVIDER_IMAGES=str(base / "account-images.json"), STUB_PROVIDER_ROLES=str(base / "account-roles.json"))
    return Rehearsal(base / "tf", env)


@given(values=workspace_settings())
def test_every_valid_setting_plans_cleanly_against_the_provider_rules(
    values: dict[str, Any], rehearsal: Rehearsal, tmp_path_factory: pytest.TempPathFactory
) -> None:
    document = synth(tmp_path_factory.mktemp("synth"), **values)
    block = {**document["terraform"].get("backend", {}), **({"cloud": document["terraform"]["cloud"]}
                                                             if "cloud" in document["terraform"] else {})}
    assert list(block) == [values["backend"]["kind"]]
    # `init -backend=false` and `validate` check no backend argument: the block is held to Terraform's own.
    assert backend_problems(values["backend"]["kind"], block[values["backend"]["kind"]]) == [], block
    # The whole configuration as generated, its backend block included, validated; the plan (which validates
    # again) runs on the same stack without the block, since the backends need the network.
    _, report = rehearsal.validate_with_backend(document)
    assert report["valid"] and report["error_count"] == 0 and report["warning_count"] == 0, (values, report["diagnostics"])
    # The account's own images: one of this recipe's, when the draw bakes (without it the plan stops, by design:
    # tests/scenarios/test_bake_rehearsal.py).
    recipe = Recipe.of(values["opencode_version"], values["image_family"])
    Path(rehearsal.env["STUB_PROVIDER_IMAGES"]).write_text(json.dumps(
        [{"id": "m-baked00000000000001", "name": f"{recipe.image_name}_exec-00000000000000000001"}]
        if values["image_source"] == "baked" and "image_id" not in values else []))
    seed_roles(Path(rehearsal.env["STUB_PROVIDER_ROLES"]), values["name"])  # the administrator's opencode-roles
    rehearsal.load(document)
    code, plan, output = rehearsal.plan()
    assert code == 0, (values, output[-3000:])
    assert warnings_in(output) == [], (values, warnings_in(output))
    assert plan is not None and any(c["type"] == "alicloud_instance" for c in plan["resource_changes"])


def test_the_backend_judge_refuses_what_terraform_would() -> None:
    assert backend_problems("oss", {"bucket": "b", "prefix": "p", "key": "k.tfstate", "encrypt": True}) == []
    assert backend_problems("oss", {"bucket": "b", "no_such_argument": "x"}) == ["no_such_argument: not an argument of the oss backend"]
    assert backend_problems("oss", {"tablestore_table": 5}) == ["tablestore_table: int, not <class 'str'>"]
    assert backend_problems("remote", {"organization": "acme", "workspaces": {"name": "w", "tags": ["x"]}}) == \
        ["workspaces.tags: not an argument"]
