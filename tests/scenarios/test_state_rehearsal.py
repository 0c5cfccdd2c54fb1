"""Team-shared state, rehearsed with real Terraform on the stub providers (a simulation of the
cloud; see harness/): protection, locking, migration, and scripts/state-bootstrap."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from cloud_sim import build_mirror, environment, terraform_binary, with_admin_roles
from conftest import ROOT, run_main, synth_app
from opencode_settings import load_settings


@pytest.fixture(scope="module")
def sim_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    sim = tmp_path_factory.mktemp("sim")
    return with_admin_roles(environment(build_mirror(sim)), sim / "account-roles.json", "opencode")


def tf(args: list[str], env: dict[str, str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([terraform_binary(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_state_stack_plans_applies_and_refuses_to_be_destroyed(tmp_path: Path, sim_env: dict[str, str]) -> None:
    synth_app(tmp_path, state={"bucket": "team-tfstate"})
    stack = tmp_path / "cdktf.out" / "stacks" / "opencode-state"
    tf(["init", "-input=false", "-no-color"], sim_env, stack)
    tf(["plan", "-input=false", "-no-color", "-out=plan.bin"], sim_env, stack)
    planned = json.loads(tf(["show", "-json", "plan.bin"], sim_env, stack).stdout)
    bucket = next(r for r in planned["resource_changes"] if r["type"] == "alicloud_oss_bucket")
    assert bucket["change"]["after"]["force_destroy"] is False
    tf(["apply", "-input=false", "-no-color", "plan.bin"], sim_env, stack)
    refused = tf(["plan", "-destroy", "-input=false", "-no-color"], sim_env, stack, check=False)
    assert refused.returncode != 0 and "Instance cannot be destroyed" in refused.stderr
    assert "alicloud_oss_bucket.bucket has lifecycle.prevent_destroy set" in refused.stderr.replace("\n", " ")


@pytest.mark.slow
def test_unprotected_state_stack_destroys(tmp_path: Path, sim_env: dict[str, str]) -> None:
    synth_app(tmp_path, state={"bucket": "team-tfstate", "protect": False})
    stack = tmp_path / "cdktf.out" / "stacks" / "opencode-state"
    tf(["init", "-input=false", "-no-color"], sim_env, stack)
    assert "Apply complete! Resources: 8 added" in tf(["apply", "-auto-approve", "-input=false", "-no-color"], sim_env, stack).stdout
    assert "Destroy complete! Resources: 8 destroyed" in tf(["destroy", "-auto-approve", "-input=false", "-no-color"], sim_env, stack).stdout


@pytest.mark.slow
def test_locking_second_concurrent_deploy_fails_and_state_survives(tmp_path: Path, sim_env: dict[str, str]) -> None:
    synth_app(tmp_path)
    stack = tmp_path / "cdktf.out" / "stacks" / "opencode"
    env = {**sim_env, "TF_VAR_model_api_key": "sk-test-lock"}
    tf(["init", "-input=false", "-no-color"], env, stack)
    hold = tmp_path / "hold-first"  # the first apply's creates wait while this exists
    hold.touch()
    slow_env = {**env, "STUB_PROVIDER_HOLD": str(hold)}
    first = subprocess.Popen([terraform_binary(), "apply", "-auto-approve", "-input=false", "-no-color"],
                             env=slow_env, cwd=stack, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state_file = tmp_path / "state" / "opencode" / "opencode.tfstate"
    lock_info = state_file.parent / ".opencode.tfstate.lock.info"
    deadline = time.monotonic() + 60
    while not lock_info.exists():  # the local backend's lock is held while the first apply runs
        assert time.monotonic() < deadline and first.poll() is None, "first apply never took the lock"
        time.sleep(0.1)
    second = tf(["apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=0s"], env, stack, check=False)
    hold.unlink()
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    assert second.returncode != 0 and "Error acquiring the state lock" in second.stderr
    state = json.loads(state_file.read_text())
    assert sum(r["mode"] == "managed" for r in state["resources"]) == 18 and not lock_info.exists()
    assert tf(["plan", "-detailed-exitcode", "-input=false", "-no-color"], env, stack, check=False).returncode == 0


@pytest.mark.slow
def test_migrate_state_between_local_paths(tmp_path: Path, sim_env: dict[str, str]) -> None:
    env = {**sim_env, "TF_VAR_model_api_key": "sk-test-migrate"}
    synth_app(tmp_path)
    stack = tmp_path / "cdktf.out" / "stacks" / "opencode"
    tf(["init", "-input=false", "-no-color"], env, stack)
    tf(["apply", "-auto-approve", "-input=false", "-no-color"], env, stack)
    old = tmp_path / "state" / "opencode" / "opencode.tfstate"
    serial = json.loads(old.read_text())["serial"]
    # The same workspace, now with its state somewhere else (as when moving to the OSS backend).
    run_main({"OPENCODE_ALICLOUD_STATE_DIR": str(tmp_path / "moved")}, tmp_path / "cdktf.out", check=True)
    migrated = tf(["init", "-migrate-state", "-force-copy", "-input=false", "-no-color"], env, stack)
    assert "Successfully configured the backend" in migrated.stdout
    new = tmp_path / "moved" / "opencode" / "opencode.tfstate"
    moved = json.loads(new.read_text())
    assert sum(r["mode"] == "managed" for r in moved["resources"]) == 18 and moved["serial"] >= serial
    assert tf(["plan", "-detailed-exitcode", "-input=false", "-no-color"], env, stack, check=False).returncode == 0


@pytest.mark.slow
def test_state_bootstrap_deploys_and_prints_the_settings(tmp_path: Path, sim_env: dict[str, str]) -> None:
    env = {k: v for k, v in sim_env.items() if not k.startswith("OPENCODE_ALICLOUD_")}
    env.update(OPENCODE_ALICLOUD_STATE_DIR=str(tmp_path / "state"), CDKTF_OUTPUT=str(tmp_path / "cdktf.out"), CI="1")
    result = subprocess.run([str(ROOT / "scripts" / "state-bootstrap"), "team-tfstate", "--auto-approve", "--skip-provider-lock"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("OPENCODE_ALICLOUD_BACKEND__")]
    assert lines == [
        "OPENCODE_ALICLOUD_BACKEND__KIND=oss",
        "OPENCODE_ALICLOUD_BACKEND__BUCKET=team-tfstate",
        "OPENCODE_ALICLOUD_BACKEND__REGION=ap-southeast-1",
        "OPENCODE_ALICLOUD_BACKEND__TABLESTORE_ENDPOINT=https://opencode-locks.ap-southeast-1.ots.aliyuncs.com",
        "OPENCODE_ALICLOUD_BACKEND__TABLESTORE_TABLE=terraform_lock",
    ]
    assert "Attach the RAM policy team-tfstate-state-access" in result.stdout
    assert (tmp_path / "state" / "opencode-state.tfstate").is_file()
    # The printed lines are valid settings, and give the workspace an OSS backend.
    settings = {line.split("=", 1)[0].removeprefix("OPENCODE_ALICLOUD_BACKEND__").lower(): line.split("=", 1)[1] for line in lines}
    assert load_settings(backend=settings).backend.kind == "oss"
