"""`opencode-alicloud upgrade` end to end on the offline cloud simulation (cdktf on the stub providers, the fake
ECS console and a loopback login, as in test_cli_rehearsal): an upgrade whose boot fails rolls back by itself,
with the data disk kept and the settings file untouched; one whose login comes up is recorded in the file, its
comments kept. Which version "boots" is the fake cloud's choice: it reads the version from the user-data the stub
applied, as an instance would, and answers for it. A SIMULATION: no real OpenCode runs here."""
from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from test_cli_rehearsal import Login, cli, make_world, one_line_error

pytestmark = pytest.mark.slow

BROKEN = "1.18.32"  # the version this fake cloud cannot boot


def deployed_version(state: Path) -> str | None:
    """The OpenCode version in the user-data of the instance the state holds (what the instance would boot)."""
    try:
        document = json.loads(state.read_text())
    except (OSError, ValueError):
        return None
    for resource in document.get("resources", []):
        if resource["type"] == "terraform_data" and "user-data" in resource["name"] and resource["instances"]:
            text = resource["instances"][0]["attributes"]["triggers_replace"]["value"]["user_data"]
            found = re.search(r"opencode-workspace:(\d+\.\d+\.\d+)", text)
            return found.group(1) if found else None
    return None


def boots(world: Any, state: Path, stop: threading.Event) -> None:
    """The fake instance: whenever the applied user-data changes, a new boot, its console and its login."""
    instance, last = world["account"].instances[0], None
    while not stop.wait(0.05):
        version = deployed_version(state)
        if version == last or version is None:
            continue
        last = version
        Login.version, Login.healthy = version, version != BROKEN
        instance.console = (f"opencode-bootstrap: start\nopencode-bootstrap: opencode {version}: starting\n"
                            + ("opencode-bootstrap: not healthy after 300 s\n" if version == BROKEN
                               else "opencode-bootstrap: ready 96s after boot\n"))


def test_a_failed_upgrade_rolls_back_and_a_good_one_is_recorded(tmp_path: Path) -> None:
    world = make_world(tmp_path, ["opencode"])
    settings = tmp_path / "opencode-alicloud.toml"
    settings.write_text('# the team\'s workspace\nopencode_version = "1.18.31"  # pinned until we upgrade\n')
    state = tmp_path / "state" / "opencode" / "opencode.tfstate"
    stop = threading.Event()
    threading.Thread(target=boots, args=(world, state, stop), daemon=True).start()
    flags = ["--yes", "--skip-provider-lock", "--health-url", world["login"], "--poll", "0.2"]
    try:
        up = cli(world, "up", "--no-preflight", *flags)  # 1.18.31 is not a version the project knows
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        disk = next(r for r in json.loads(state.read_text())["resources"] if r["type"] == "alicloud_ecs_disk")
        disk_id = disk["instances"][0]["attributes"]["id"]

        broken = cli(world, "upgrade", "--to", BROKEN, *flags, "--timeout", "1")
        one_line_error(broken, 1, f"the upgrade to OpenCode {BROKEN} rolled back: 1.18.31 is healthy again")
        assert f"OpenCode {BROKEN} did not come up (the bootstrap said: not healthy after 300 s): rolling back" in broken.stdout
        assert deployed_version(state) == "1.18.31" and 'opencode_version = "1.18.31"' in settings.read_text()
        logs = list(tmp_path.glob(f"opencode-upgrade-opencode-{BROKEN}-*.console.log"))
        assert len(logs) == 1 and "not healthy after 300 s" in logs[0].read_text() and str(logs[0]) in broken.stderr
        assert logs[0].stat().st_mode & 0o777 == 0o600
        assert not list(tmp_path.glob(".opencode-alicloud.toml.upgrade-*"))  # the trial settings are gone
        after = json.loads(state.read_text())["resources"]
        assert next(r for r in after if r["type"] == "alicloud_ecs_disk")["instances"][0]["attributes"]["id"] == disk_id

        good = cli(world, "upgrade", *flags)  # the newest version the project knows
        assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
        assert "Upgraded 'opencode' to OpenCode 1.18.33" in good.stdout and deployed_version(state) == "1.18.33"
        assert settings.read_text() == '# the team\'s workspace\nopencode_version = "1.18.33"  # pinned until we upgrade\n'
        after = json.loads(state.read_text())["resources"]
        assert next(r for r in after if r["type"] == "alicloud_ecs_disk")["instances"][0]["attributes"]["id"] == disk_id

        # a .env entry outranks the file: the upgrade would deploy the old version, so it stops first
        (tmp_path / ".env").write_text("OPENCODE_ALICLOUD_OPENCODE_VERSION=1.18.33\n")
        try:
            overridden = cli(world, "upgrade", "--to", "1.18.31", *flags)
        finally:
            (tmp_path / ".env").unlink()
        one_line_error(overridden, 2, "OPENCODE_ALICLOUD_OPENCODE_VERSION in .env overrides the settings file")
        assert deployed_version(state) == "1.18.33" and not list(tmp_path.glob(".opencode-alicloud.toml.upgrade-*"))

        again = cli(world, "upgrade", *flags)
        assert again.returncode == 0 and "runs OpenCode 1.18.33 already" in again.stdout
        one_line_error(cli(world, "upgrade", "--to", "latest", *flags), 2, "--to 'latest' is not a release version")
    finally:
        stop.set()
        Login.version, Login.healthy = "1.18.33", True
        world["servers"][0].close()
        world["servers"][1].shutdown()
