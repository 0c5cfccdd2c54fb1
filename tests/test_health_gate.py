"""The health gate: a Cloud Assistant command that waits on the instance for this boot's bootstrap verdict, and its
invocation, which holds `cdktf deploy` until then (provider 1.289.0 creates it synchronously). The script runs here
as Cloud Assistant runs it (sh, as root's shell would), on the files it reads; its failure path, which needs
systemd, runs on the real VM in the boot rehearsal (tests/boot/rehearse.py)."""
from __future__ import annotations

import base64
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import synth
from opencode_alicloud.health_gate import SLACK_MINUTES, gate_script
from opencode_settings import SettingsError
from support import resources


def the_gate(document: dict) -> tuple[dict, dict]:
    (command,) = resources(document, "alicloud_ecs_command")
    (invocation,) = resources(document, "alicloud_ecs_invocation")
    return command, invocation


def test_the_deploy_waits_for_the_bootstrap_within_the_bound(tmp_path: Path) -> None:
    command, invocation = the_gate(synth(tmp_path, health_gate_minutes=45))
    assert (command["name"], command["type"], command["timeout"]) == ("opencode-health-gate", "RunShellScript", 45 * 60)
    assert base64.b64decode(command["command_content"]).decode() == gate_script()
    assert invocation["timeouts"] == {"create": f"{45 + SLACK_MINUTES}m", "delete": "5m"}
    assert invocation["instance_id"] == ["${alicloud_instance.workspace_instance_00387BFD.id}"]
    assert invocation["command_id"].startswith("${alicloud_ecs_command.health-gate_command_")
    # after what the bootstrap waits for: the data disk, the address and the role (its secrets)
    assert sorted(d.split(".")[0] for d in invocation["depends_on"]) == [
        "alicloud_ecs_disk_attachment", "alicloud_ecs_ram_role_attachment", "alicloud_eip_association"]


@pytest.mark.parametrize("settings", [{"health_gate_minutes": 0}, {"power": "stopped"}])
def test_no_gate_when_off_or_while_the_workspace_is_kept_stopped(tmp_path: Path, settings: dict) -> None:
    document = synth(tmp_path, **settings)
    assert "alicloud_ecs_command" not in document["resource"] and "alicloud_ecs_invocation" not in document["resource"]


@pytest.mark.parametrize("minutes, message", [(-1, "greater than or equal to 0"), (181, "less than or equal to 180")])
def test_a_bound_out_of_range_names_the_setting(tmp_path: Path, minutes: int, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        synth(tmp_path, health_gate_minutes=minutes)
    assert "health_gate_minutes" in caught.value.render() and message in caught.value.render()


def run_gate(tmp_path: Path, ready_mtime: float | None, seconds: float) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "gate.sh"
    script.write_text(gate_script())
    ready = tmp_path / "opencode-ready-seconds"
    if ready_mtime is not None:
        ready.write_text("212.5\n")
        os.utime(ready, (ready_mtime, ready_mtime))
    env = {**os.environ, "OPENCODE_READY_FILE": str(ready), "OPENCODE_BOOTSTRAP_UNIT": "opencode-gate-test-absent.service"}
    return subprocess.run(["timeout", str(seconds), "sh", str(script)], env=env, capture_output=True, text=True)


def test_the_script_passes_on_this_boots_ready_and_waits_on_an_older_one(tmp_path: Path) -> None:
    now = run_gate(tmp_path, time.time(), 10)
    assert (now.returncode, now.stdout) == (0, "ready 212.5s after boot\n")
    # the control: a ready file from before this boot (a restart) is no verdict: it waits until killed
    stale = run_gate(tmp_path, 1_000_000_000, 3)
    assert stale.returncode == 124 and stale.stdout == ""
    (tmp_path / "opencode-ready-seconds").unlink()
    missing = run_gate(tmp_path, None, 3)  # and no file at all: the bootstrap has not said ready
    assert missing.returncode == 124 and missing.stdout == ""
