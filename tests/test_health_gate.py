"""The health gate: a Cloud Assistant command that waits on the instance for this boot's bootstrap verdict, and its
invocation, which holds `cdktf deploy` until then (provider 1.289.0 creates it synchronously). The script runs here
as Cloud Assistant runs it (sh), on its own files; on the real VM in the boot rehearsal (tests/boot/rehearse.py)."""
from __future__ import annotations

import base64
import os
import subprocess
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


def run_gate(tmp_path: Path, ready: bool, cloud_init: str, seconds: float) -> subprocess.CompletedProcess[str]:
    """The script as Cloud Assistant runs it (sh), in a root of its own: its ready file, and a `cloud-init` on PATH
    that answers `status` as Debian 13's does (the boot rehearsal parses the real one's lines the same way)."""
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True, exist_ok=True)
    script = gate_script().replace("/var/lib/", f"{root}/var/lib/").replace("/var/log/", f"{root}/var/log/")
    (root / "gate.sh").write_text(script)
    (root / "var" / "lib").mkdir(parents=True, exist_ok=True)
    (root / "var" / "log").mkdir(parents=True, exist_ok=True)
    (root / "var" / "log" / "opencode-bootstrap.log").write_text("... not healthy after 300s: docker compose logs\n")
    marker = root / "var" / "lib" / "opencode-ready-seconds"
    marker.unlink(missing_ok=True)
    if ready:
        marker.write_text("212.5\n")
    fake = root / "bin" / "cloud-init"
    fake.write_text(f"#!/bin/sh\necho 'status: {cloud_init}'\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{root / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run(["timeout", str(seconds), "sh", str(root / "gate.sh")], env=env, capture_output=True, text=True)


def test_the_script_passes_on_ready_fails_on_a_failed_first_boot_and_waits_otherwise(tmp_path: Path) -> None:
    ready = run_gate(tmp_path, True, "done", 10)
    assert (ready.returncode, ready.stdout) == (0, "ready 212.5s after the first boot\n")
    failed = run_gate(tmp_path, False, "error", 10)
    assert failed.returncode == 1 and failed.stdout.startswith("the first boot failed (cloud-init status: error):")
    assert "not healthy after 300s" in failed.stdout  # the bootstrap log's tail, for the invocation's output
    # no verdict yet (cloud-init still running, or done without the bootstrap's ready): it waits until killed
    for status in ("running", "done"):
        waiting = run_gate(tmp_path, False, status, 3)
        assert waiting.returncode == 124 and waiting.stdout == "", status
