"""The baked image (issue 26): one bake recipe for a from-scratch first boot, ECS Image Builder and the boot
rehearsal; image_source = baked synthesizes the image stack and a workspace that boots its image, and the
user-data on a baked image only configures."""
from __future__ import annotations

import base64
import json
import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_main, synth_app, terraform_literal
from support import baked_dockerfile, cloud_config, synthesized_user_data, written_files

BAKE = "/usr/local/sbin/opencode-bake"
BOOTSTRAP = "/usr/local/sbin/opencode-bootstrap"


def recipe_in_build_content(build_content: str) -> str:
    """What Image Builder's instance writes to the bake script: the RUN line's base64, gunzipped."""
    match = re.fullmatch(rf"RUN echo ([A-Za-z0-9+/=]+) \| base64 -d \| gunzip >{BAKE} && chmod 0700 {BAKE} && {BAKE} --seal",
                         build_content)
    assert match, build_content[:200]
    return gzip.decompress(base64.b64decode(match.group(1))).decode()


def stacks(tmp_path: Path, **settings: object) -> dict[str, dict]:
    return synth_app(tmp_path, **settings)


def workspace_user_data(document: dict) -> str:
    """The cloud-config as the instance receives it (Terraform's escapes resolved)."""
    (instance,) = document["resource"]["alicloud_instance"].values()
    return terraform_literal(synthesized_user_data(document, instance))


def test_the_three_paths_run_one_recipe(tmp_path: Path) -> None:
    """The from-scratch user-data's bake script and Image Builder's build content are the same file, byte for byte."""
    public = stacks(tmp_path / "public")
    baked = stacks(tmp_path / "baked", image_source="baked")
    assert "opencode-image" not in public
    from_scratch = written_files(workspace_user_data(public["opencode"]))[BAKE]["content"]
    (pipeline,) = baked["opencode-image"]["resource"]["alicloud_ecs_image_pipeline"].values()
    assert recipe_in_build_content(pipeline["build_content"]).rstrip("\n") == from_scratch.rstrip("\n")
    assert len(pipeline["build_content"].encode()) <= 16 * 1024  # Image Builder: "cannot exceed 16 KB"
    guide = " ".join((ROOT / "docs" / "guides" / "baked-image.md").read_text().split())  # the size the guide states
    assert f"{len(pipeline['build_content'].encode()) / 1024:.1f} KB of Image Builder's 16 KB" in guide
    assert pipeline["build_content"].count("\n") == 0  # one command of Image Builder's 127


def test_a_baked_workspace_boots_its_image_and_only_configures(tmp_path: Path) -> None:
    documents = stacks(tmp_path, image_source="baked")
    workspace, image = documents["opencode"], documents["opencode-image"]
    (pipeline,) = image["resource"]["alicloud_ecs_image_pipeline"].values()
    (lookup,) = workspace["data"]["alicloud_images"].values()
    assert lookup["owners"] == "self" and lookup["most_recent"] is True
    # Image Builder names the image <image_name>_<execution id>: this recipe's images match, no other's.
    assert re.match(lookup["name_regex"], f"{pipeline['image_name']}_exec-0123456789abcdefghij")
    assert not re.match(lookup["name_regex"], f"{pipeline['image_name'][:-1]}0_exec-0123456789abcdefghij")
    assert not re.match(lookup["name_regex"], "debian_13_1_x64_20G_alibase_20251120.vhd")
    (condition,) = lookup["lifecycle"]["postcondition"]
    assert condition["condition"] == "${length(self.ids) > 0}"
    assert "run `opencode-alicloud image bake`" in condition["error_message"]
    (instance,) = workspace["resource"]["alicloud_instance"].values()
    assert instance["image_id"].startswith("${data.alicloud_images.") and ".images[0].id}" in instance["image_id"]
    user_data = workspace_user_data(workspace)
    config = cloud_config(user_data)
    assert config["runcmd"] == [BOOTSTRAP]
    assert "packages" not in config and BAKE not in written_files(user_data)
    assert "docker build" not in user_data and "apt-get" not in user_data


def test_the_image_stack_bakes_on_the_workspaces_base_in_a_vpc_of_its_own(tmp_path: Path) -> None:
    documents = stacks(tmp_path, image_source="baked", system_disk_size=60, instance_type="ecs.u1-c1m2.large")
    image = documents["opencode-image"]
    (pipeline,) = image["resource"]["alicloud_ecs_image_pipeline"].values()
    (execution,) = image["resource"]["alicloud_ecs_image_pipeline_execution"].values()
    (base,) = image["data"]["alicloud_images"].values()
    (workspace_base,) = stacks(tmp_path / "public", system_disk_size=60)["opencode"]["data"]["alicloud_images"].values()
    assert base["owners"] == "system" and base["name_regex"] == workspace_base["name_regex"]
    assert pipeline["base_image_type"] == "IMAGE" and pipeline["base_image"].startswith("${data.alicloud_images.")
    assert pipeline["image_name"] == pipeline["name"] and re.fullmatch(r"opencode-1\.18\.33-debian-13-[0-9a-f]{12}", pipeline["image_name"])
    assert pipeline["system_disk_size"] == 60 and pipeline["instance_type"] == "ecs.u1-c1m2.large"
    assert pipeline["delete_instance_on_failure"] is True and pipeline["internet_max_bandwidth_out"] > 0
    assert pipeline["vswitch_id"].startswith("${alicloud_vswitch.")
    assert pipeline["tags"]["managed-by"] == "opencode-alicloud" and pipeline["tags"]["purpose"] == "image-bake"
    assert execution["image_pipeline_id"].startswith("${alicloud_ecs_image_pipeline.")
    (vpc,) = image["resource"]["alicloud_vpc"].values()
    assert vpc["vpc_name"] == "opencode-image-vpc"


def test_a_new_version_is_a_new_recipe_and_a_new_image_name(tmp_path: Path) -> None:
    names = set()
    for version in ("1.18.33", "1.18.34"):
        (pipeline,) = stacks(tmp_path / version, image_source="baked", opencode_version=version)[
            "opencode-image"]["resource"]["alicloud_ecs_image_pipeline"].values()
        recipe = recipe_in_build_content(pipeline["build_content"])
        assert f'ARG OPENCODE_VERSION={version}\n' in baked_dockerfile(recipe)
        names.add(pipeline["image_name"])
    assert len(names) == 2


def test_an_image_id_boots_that_image_and_bakes_nothing(tmp_path: Path) -> None:
    documents = stacks(tmp_path, image_source="baked", image_id="m-0123456789abcdefghij")
    assert "opencode-image" not in documents
    assert "alicloud_images" not in documents["opencode"].get("data", {})
    (instance,) = documents["opencode"]["resource"]["alicloud_instance"].values()
    assert instance["image_id"] == "m-0123456789abcdefghij"


@pytest.mark.parametrize("settings, setting, message", [
    ({"IMAGE_SOURCE": "baked", "IMAGE_ID": "m-short"}, "image_id", "is not an image id; it starts with m- followed by 20"),
    ({"IMAGE_SOURCE": "baked", "IMAGE_ID": "i-0123456789abcdefghij"}, "image_id", "is not an image id"),
    ({"IMAGE_ID": "m-0123456789abcdefghij"}, "image_id", 'set image_source = "baked" too'),
    ({"IMAGE_SOURCE": "prebuilt"}, "image_source", "'public' or 'baked'"),
    ({"IMAGE_SOURCE": "baked", "OPENCODE_VERSION": "1.18." + "3" * 60}, "opencode_version", "which Image Builder refuses"),
])
def test_bad_image_settings_exit_2_naming_the_setting(settings: dict[str, str], setting: str, message: str,
                                                      tmp_path: Path) -> None:
    result = run_main({f"OPENCODE_ALICLOUD_{k}": v for k, v in settings.items()} | {
        "OPENCODE_ALICLOUD_STATE_DIR": str(tmp_path / "state")}, tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert setting in result.stderr and message in result.stderr, result.stderr
    assert not (tmp_path / "out" / "stacks").exists()  # nothing half-written


def test_shellcheck_passes_on_the_recipe(tmp_path: Path) -> None:
    tool = shutil.which("shellcheck")
    assert tool, "shellcheck is missing (scripts/install-test-tools)"
    documents = stacks(tmp_path)
    script = tmp_path / "opencode-bake"
    script.write_text(written_files(workspace_user_data(documents["opencode"]))[BAKE]["content"])
    result = subprocess.run([tool, "--shell=bash", "--severity=style", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_the_seal_removes_what_makes_a_machine_one_machine(tmp_path: Path) -> None:
    """The recipe's --seal, run on a copy of a machine's files (its paths rewritten into a folder): each
    identity, cache, key and history is gone afterwards; the workspace image's Dockerfile and the bake log stay."""
    recipe = written_files(workspace_user_data(stacks(tmp_path)["opencode"]))[BAKE]["content"]
    seal = recipe.split('if [ "${1:-}" = --seal ]; then\n', 1)[1].split("\nfi\n", 1)[0]
    root = tmp_path / "root"
    made = ["etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_rsa_key.pub", "root/.ssh/authorized_keys",
            "home/debian/.ssh/authorized_keys", "root/.bash_history", "home/debian/.bash_history",
            "var/lib/apt/lists/deb.debian.org_dists", "var/lib/dbus/machine-id", "tmp/left", "var/tmp/left"]
    kept = ["etc/opencode/image/Dockerfile", "var/log/opencode-bake.log", "etc/ssh/sshd_config"]
    for path in made + kept + ["etc/machine-id"]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x\n")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    calls = tmp_path / "calls"
    for tool in ("docker", "apt-get", "cloud-init", "journalctl", "log"):
        (stubs / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >>{calls}\n')
        (stubs / tool).chmod(0o755)
    rooted = re.sub(r"(?<=[ =])/(etc|root|home|var|tmp)/", lambda m: f"{root}/{m.group(1)}/", seal)
    script = f"set -euo pipefail\nstep=seal\nlog() {{ echo \"$*\" >>{calls}; }}\n{rooted}\n"
    result = subprocess.run(["bash", "-c", script], env={"PATH": f"{stubs}:/usr/bin:/bin"}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [path for path in made if (root / path).exists()] == []
    assert [path for path in kept if not (root / path).exists()] == []
    assert (root / "etc/machine-id").read_text() == ""  # empty: systemd makes a new one at the next boot
    done = calls.read_text()
    assert "docker builder prune --all --force" in done and "apt-get clean" in done and "cloud-init clean --logs" in done


def test_the_recipe_blocks_the_metadata_service_before_its_build_and_never_starts_the_proxies(tmp_path: Path) -> None:
    """The build runs npm's install scripts: no container of it reaches the instance role's credentials; Caddy's
    and Squid's package scripts may not start them (policy-rc.d), and they are left disabled."""
    recipe = written_files(workspace_user_data(stacks(tmp_path)["opencode"]))[BAKE]["content"]
    rule = "DOCKER-USER -d 100.100.100.200 -j REJECT"
    assert recipe.index(f"iptables -w -I {rule}") < recipe.index("docker build")
    unit = written_files(workspace_user_data(stacks(tmp_path)["opencode"]))["/etc/systemd/system/opencode-imds-block.service"]
    assert f"iptables -w -I {rule}" in unit["content"]  # the same rule, in place before every Docker start
    policy = recipe.split("cat >/usr/sbin/policy-rc.d <<'POLICY'\n", 1)[1].split("\nPOLICY\n", 1)[0]
    script = tmp_path / "policy-rc.d"
    script.write_text(policy)
    verdicts = {name: subprocess.run(["sh", str(script), name, "start"], timeout=10).returncode
                for name in ("caddy", "squid.service", "docker", "ssh")}
    assert verdicts == {"caddy": 101, "squid.service": 101, "docker": 0, "ssh": 0}  # 101: action forbidden
    assert recipe.index("policy-rc.d") < recipe.index("apt-get install") < recipe.index("rm -f /usr/sbin/policy-rc.d")
    assert "systemctl disable --now caddy squid" in recipe


def test_a_changed_recipe_replaces_a_baked_instance_and_a_new_bake_of_the_same_recipe_does_not(tmp_path: Path) -> None:
    documents = stacks(tmp_path, image_source="baked")
    (pipeline,) = documents["opencode-image"]["resource"]["alicloud_ecs_image_pipeline"].values()
    digest = pipeline["image_name"].rsplit("-", 1)[1]
    user_data = workspace_user_data(documents["opencode"])
    assert f"RECIPE={digest}\n" in written_files(user_data)["/etc/opencode/bootstrap.env"]["content"] + "\n"
    (instance,) = documents["opencode"]["resource"]["alicloud_instance"].values()
    assert instance["lifecycle"]["ignore_changes"] == ["image_id"]  # the same recipe baked again: not replaced
    assert instance["lifecycle"]["replace_triggered_by"][0].startswith("terraform_data.")  # a new recipe: replaced
    assert pipeline["lifecycle"]["ignore_changes"] == ["base_image"]  # a newer public base: no re-bake by itself
    (public,) = stacks(tmp_path / "public")["opencode"]["resource"]["alicloud_instance"].values()
    assert "ignore_changes" not in public["lifecycle"]


def test_team_workspaces_bake_on_the_top_levels_base_or_are_refused(tmp_path: Path) -> None:
    team = {"alice": {"image_source": "baked"}, "bob": {"image_source": "baked", "opencode_version": "1.18.32"},
            "carol": {"image_source": "baked", "image_family": "ubuntu-24.04"}, "dave": {"region": "eu-central-1"}}
    result = run_main({"OPENCODE_ALICLOUD_WORKSPACES": json.dumps(team), "OPENCODE_ALICLOUD_STATE_DIR": str(tmp_path / "s")},
                      tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "workspaces.carol.image_source: = baked needs the top level's image_family" in result.stderr
    assert "alice" not in result.stderr and "dave" not in result.stderr  # the same base, or not baked
    del team["carol"]
    documents = stacks(tmp_path / "ok", workspaces=team)
    pipelines = documents["opencode-image"]["resource"]["alicloud_ecs_image_pipeline"].values()
    assert sorted(p["image_name"].split("-")[1] for p in pipelines) == ["1.18.32", "1.18.33"]  # one per recipe


@pytest.mark.parametrize("name", ["opencode-image", "opencode-audit", "opencode-state"])
def test_the_administrators_stack_names_are_no_workspace_names(name: str, tmp_path: Path) -> None:
    result = run_main({"OPENCODE_ALICLOUD_WORKSPACES": json.dumps({name: {}}), "OPENCODE_ALICLOUD_STATE_DIR": str(tmp_path)},
                      tmp_path / "out")
    assert result.returncode == 2 and f"workspaces.{name}" in result.stderr and "Traceback" not in result.stderr
