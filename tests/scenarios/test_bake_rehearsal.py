"""image_source = baked on the stub providers (A SIMULATION OF THE CLOUD: nothing is created anywhere). The stub
answers `alicloud_images` with owners = "self" from the account's own images only (none until a bake made one,
as on Alibaba Cloud), so the workspace's plan stops with one line until the image exists."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloud_sim import Rehearsal, build_mirror, environment, warnings_in, with_admin_roles
from conftest import synth_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    sim = tmp_path_factory.mktemp("sim")
    return with_admin_roles(environment(build_mirror(sim)), sim / "account-roles.json", "opencode")


def test_the_image_stack_and_the_baked_workspace_plan_against_every_provider_rule(tmp_path: Path, sim_env: dict[str, str]) -> None:
    documents = synth_app(tmp_path, image_source="baked")
    image = Rehearsal(tmp_path / "image", sim_env)
    image.load(documents["opencode-image"])
    code, plan, output = image.plan()
    assert code == 0, output[-3000:]
    assert warnings_in(output) == []
    made = sorted(change["type"] for change in plan["resource_changes"])
    assert made == ["alicloud_ecs_image_pipeline", "alicloud_ecs_image_pipeline_execution", "alicloud_vpc", "alicloud_vswitch"]
    image.apply()
    (pipeline,) = [r for r in image.state()["resources"] if r["type"] == "alicloud_ecs_image_pipeline"]
    image_name = pipeline["instances"][0]["attributes"]["image_name"]

    # Before the bake has made an image: the plan stops, with the line that says what to do, and nothing is planned.
    env = {**sim_env, "TF_VAR_model_api_key": "sk-test", "STUB_PROVIDER_IMAGES": str(tmp_path / "account-images.json")}
    workspace = Rehearsal(tmp_path / "workspace", env)
    workspace.load(documents["opencode"])
    code, plan, output = workspace.plan()
    assert code != 0 and plan is None
    assert "Resource postcondition failed" in output and "run `opencode-alicloud image bake`" in output, output[-2000:]
    assert image_name in " ".join(output.split())

    # The bake done (the image appears under Image Builder's name for it), and an older bake and another recipe's
    # image beside it: the workspace boots the newest image of its recipe.
    (tmp_path / "account-images.json").write_text(json.dumps([
        {"id": "m-older0000000000000a", "name": f"{image_name}_exec-00000000000000000001"},
        {"id": "m-newest000000000000b", "name": f"{image_name}_exec-00000000000000000002"},
        {"id": "m-another00000000000c", "name": "opencode-1.18.33-debian-13-000000000000_exec-00000000000000000003"},
    ]))
    code, plan, output = workspace.plan()
    assert code == 0, output[-3000:]
    assert warnings_in(output) == []
    (instance,) = [c for c in plan["resource_changes"] if c["type"] == "alicloud_instance"]
    assert instance["change"]["after"]["image_id"] == "m-newest000000000000b"
