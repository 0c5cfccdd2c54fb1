"""The CLI end to end, as a user runs it, on the offline cloud simulation: `up` deploys with cdktf
on the stub providers and follows the boot through the serial console of a fake ECS endpoint
(signatures checked) to a login that answers on loopback; then status, password, logs, the bad
inputs, and `down` with a snapshot first. A SIMULATION: the stub knows the provider's schema and
rules; the fake ECS knows the documented request and answer shapes, none of Alibaba's IAM,
quotas, stock or prices."""
from __future__ import annotations

import base64
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cloud_sim import build_mirror, environment, seed_roles
from fake_alibaba import serve
from fake_openapi import Account, FakeDisk, FakeInstance, OpenApiHandler
from support import ready_for_preflight

pytestmark = pytest.mark.slow

BOOT = "opencode-bootstrap: start\nopencode-bootstrap: metadata firewall\nopencode-bootstrap: secrets\n" \
       "opencode-bootstrap: opencode 1.18.33: starting\nopencode-bootstrap: ready 96s after boot\n"


class Login(http.server.BaseHTTPRequestHandler):
    """The login as the proxy serves it: 401 without the user's password, OpenCode's health with it."""

    passwords: list[str] = []
    healthy = True
    version = "1.18.33"

    def do_GET(self) -> None:  # noqa: N802
        header = self.headers.get("Authorization", "")
        user, _, password = base64.b64decode(header.removeprefix("Basic ") or "").decode().partition(":")
        if self.path != "/global/health" or user != "opencode" or not password:
            self.send_response(401)
            self.end_headers()
            return
        Login.passwords.append(password)
        body = json.dumps({"healthy": Login.healthy, "version": Login.version}).encode()
        self.send_response(200 if Login.healthy else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def make_world(base: Path, names: list[str]) -> Any:
    account = Account(
        instances=[FakeInstance(f"i-t4nfake{n:02d}", f"{name}-workspace", "ap-southeast-1",
                                {"workspace": name, "managed-by": "opencode-alicloud"}, console=BOOT)
                   for n, name in enumerate(names, 1)],
        disks=[FakeDisk(f"d-t4nfake{n:02d}", f"{name}-workspace", 40, "cloud_essd_entry", f"i-t4nfake{n:02d}")
               for n, name in enumerate(names, 1)])
    ready_for_preflight(account)  # `up` asks the account first (doctor's checks)
    api = serve(OpenApiHandler, account)  # type: ignore[arg-type]
    login = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Login)
    threading.Thread(target=login.serve_forever, daemon=True).start()
    env = environment(build_mirror(base / "sim"))
    env = {k: v for k, v in env.items() if not k.startswith(("OPENCODE_ALICLOUD_", "ALIBABA_CLOUD_", "ALICLOUD_"))}
    env.update(HOME=str(base), XDG_CACHE_HOME=str(base / "cache"), CI="1", CDKTF_OUTDIR=str(base / "cdktf.out"),
               OPENCODE_ALICLOUD_STATE_DIR=str(base / "state"), TF_VAR_model_api_key="sk-test-cli-DO-NOT-LEAK",
               ALIBABA_CLOUD_ACCESS_KEY_ID=account.access_key_id, ALIBABA_CLOUD_ACCESS_KEY_SECRET=account.access_key_secret,
               ALIBABA_CLOUD_ECS_METADATA_DISABLED="true", STUB_PROVIDER_ROLES=str(base / "account-roles.json"))
    return {"base": base, "account": account, "env": env, "api": f"http://127.0.0.1:{api.port}",
            "login": f"http://127.0.0.1:{login.server_address[1]}", "servers": (api, login)}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    made = make_world(tmp_path_factory.mktemp("cli"), ["opencode"])
    yield made
    made["servers"][0].close()
    made["servers"][1].shutdown()


def cli(world: Any, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "opencode_cli", "--api-endpoint", world["api"], *args]
    result = subprocess.run(command, env={**world["env"], **(env or {})}, cwd=world["base"], capture_output=True,
                            text=True, timeout=600, stdin=subprocess.DEVNULL)
    plain = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # cdktf colours its output
    return subprocess.CompletedProcess(result.args, result.returncode, plain.sub("", result.stdout), plain.sub("", result.stderr))


def one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert text in result.stderr and "Traceback" not in result.stderr + result.stdout, result.stderr


def test_a_workspace_comes_up_is_seen_and_goes_down(world: Any) -> None:
    state = world["base"] / "state" / "opencode" / "opencode.tfstate"
    up = cli(world, "up", "--yes", "--skip-provider-lock", "--health-url", world["login"], "--poll", "0.2")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    assert "Estimate:" in up.stdout and "USD a month always on" in up.stdout
    assert up.stdout.index("✓ instance stock: ecs.e-c1m2.large") < up.stdout.index("Estimate:")  # the preflight first
    # A single workspace's roles first (the administrator's stack), then the workspace, which needs them.
    applied = re.findall(r"Apply complete! Resources: (\d+) added", up.stdout)
    assert applied == ["3", "18"] and up.stdout.index("opencode-roles") < up.stdout.index("alicloud_vpc."), applied
    assert json.loads((world["base"] / "account-roles.json").read_text()) == ["opencode-instance"]
    shown = up.stdout[up.stdout.index("Following the boot"):]
    for phase in ("start", "metadata firewall", "secrets", "opencode 1.18.33: starting", "ready 96s after boot"):
        assert f"  {phase}\n" in shown, phase
    assert "Ready in" in shown and "https://" in shown and "user: opencode" in shown
    outputs = {o: v["value"] for o, v in json.loads(state.read_text())["outputs"].items()}
    assert Login.passwords and set(Login.passwords) == {outputs["password"]}  # the login got the real password
    assert outputs["password"] not in up.stdout + up.stderr and "sk-test-cli-DO-NOT-LEAK" not in up.stdout + up.stderr

    password = cli(world, "password")
    assert password.returncode == 0 and password.stdout.strip() == outputs["password"]

    status = cli(world, "status", "--json", "--health-url", world["login"])
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["instance"] == {"id": "i-t4nfake01", "status": "Running"} and report["url"] == outputs["url"]
    assert report["health"]["healthy"] and report["opencode_version"] == "1.18.33"
    assert report["opencode_version_source"] == "running"
    assert report["disk"] == {"id": "d-t4nfake01", "size_gib": 40, "category": "cloud_essd_entry"}
    assert report["last_snapshot"] is None and report["cost_usd_month"]["always_on"] > report["cost_usd_month"]["stopped"] > 0
    assert report["power"] == "running; no idle stop"

    logs = cli(world, "logs")
    assert logs.returncode == 0 and logs.stdout.splitlines()[-1] == "opencode-bootstrap: ready 96s after boot"
    one_line_error(cli(world, "ssh"), 1, "SSH is closed on this workspace")
    one_line_error(cli(world, "stop"), 2, "stopped is recorded in the settings file: make one")
    one_line_error(cli(world, "status", env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""}),
                   4, "no Alibaba Cloud credentials in the standard places")
    one_line_error(cli(world, "status", env={"OPENCODE_ALICLOUD_NAME": "bob"}), 4,
                   "nothing is deployed for workspace 'bob'")

    world["account"].instances[0].status = "Stopped"
    stopped = json.loads(cli(world, "status", "--json").stdout)
    assert stopped["instance"]["status"] == "Stopped" and stopped["health"]["detail"] == "not running"
    # `open` on a stopped workspace, unattended: one line, nothing started
    one_line_error(cli(world, "open", "--no-browser"), 1, "workspace 'opencode' is Stopped: opencode-alicloud start")
    world["account"].instances[0].status = "Running"
    opened = cli(world, "open", "--no-browser")
    assert opened.returncode == 0 and opened.stdout.startswith(outputs["url"] + "\n  user: opencode"), opened.stdout
    assert outputs["password"] not in opened.stdout
    # a state written by someone else: its url never reaches the browser or the terminal unless it is an https host
    saved = state.read_text()
    forged = json.loads(saved)
    forged["outputs"]["url"]["value"] = "https://evil.example/\x1b[2K\rhttps://real.example"
    state.write_text(json.dumps(forged))
    try:
        refused = cli(world, "open", "--no-browser")
    finally:
        state.write_text(saved)
    one_line_error(refused, 1, "is not an https address of a host")
    assert "\x1b" not in refused.stdout + refused.stderr
    estimate = cli(world, "cost", "--json", "--no-live")  # scripts/cost's estimate, through the CLI
    assert estimate.returncode == 0, estimate.stderr
    assert json.loads(estimate.stdout)["views"]["always_on"]["usd"] > 0

    Login.healthy = False  # (the next test sets it back)
    world["account"].instances[0].console = "opencode-bootstrap: start\nopencode-bootstrap: secrets\n"
    again = cli(world, "up", "--yes", "--skip-provider-lock", "--health-url", world["login"], "--poll", "0.2", "--timeout", "0",
                "--no-roles")  # as with a deployer's key, once the administrator applied the roles
    one_line_error(again, 1, "not healthy after 0 s (last answer: HTTP 503)")
    assert "Next: opencode-alicloud logs" in again.stderr and "No changes." in again.stdout
    assert "opencode-roles" not in again.stdout

    unattended = cli(world, "down")
    one_line_error(unattended, 2, "not interactive: add --yes")
    assert "alicloud_ecs_disk." in unattended.stdout and "<- your workspace files (the data disk)" in unattended.stdout
    assert state.exists() and '"alicloud_instance"' in state.read_text()

    down = cli(world, "down", "--yes", "--snapshot")
    assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
    asked = [r for r in world["account"].requests if r["action"] == "CreateSnapshot"]
    assert len(asked) == 1 and asked[0]["DiskId"] == "d-t4nfake01"
    assert asked[0]["SnapshotName"].startswith("opencode-before-down-")
    assert {asked[0]["Tag.1.Value"], asked[0]["Tag.2.Value"]} == {"opencode", "opencode-alicloud"}
    # The destroy is read from the state, not from cdktf's last line (Node may lose a piped tail at exit).
    assert "Workspace 'opencode' destroyed" in down.stdout and "kept" in down.stdout
    assert json.loads(state.read_text())["resources"] == []
    assert "Then its RAM roles and their policies (the stack opencode-roles)" in down.stdout
    assert json.loads((world["base"] / "account-roles.json").read_text()) == []  # and its roles after it
    one_line_error(cli(world, "status"), 4, "nothing is deployed for workspace 'opencode'")
    assert os.path.isdir(world["base"] / "cdktf.out")


def test_two_team_workspaces_come_up_and_one_goes_down_alone(tmp_path: Path) -> None:
    team = make_world(tmp_path, ["alice", "bob"])
    Login.healthy = True
    settings = tmp_path / "opencode-alicloud.toml"  # found by the CLI in the working folder
    settings.write_text('[workspaces.alice]\n\n[workspaces.bob]\ninstance_type = "ecs.g7.large"\n')
    seed_roles(tmp_path / "account-roles.json", "alice", "bob")  # the team's administrator applied opencode-roles
    try:
        one_line_error(cli(team, "up", "--yes"), 2, "the settings declare workspaces alice, bob: name one")
        one_line_error(cli(team, "status", "carol"), 2, "unknown workspace 'carol'; the settings declare alice, bob")
        # Two people, each with a checkout of their own, one state home. Alice's deploy holds her lock until
        # this test lets it go (the stub's creates wait while the hold file exists).
        hold = tmp_path / "hold-alice"
        hold.touch()
        alice_env = {**team["env"], "STUB_PROVIDER_HOLD": str(hold)}
        alice = subprocess.Popen(
            [sys.executable, "-m", "opencode_cli", "--api-endpoint", team["api"], "up", "alice", "--yes",
             "--skip-provider-lock", "--health-url", team["login"], "--poll", "0.2"],
            env=alice_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = tmp_path / "state" / "alice" / ".alice.tfstate.lock.info"
        deadline = time.monotonic() + 120
        while not lock.exists():
            assert alice.poll() is None and time.monotonic() < deadline, "alice's deploy never took its lock"
            time.sleep(0.2)
        other = {"CDKTF_OUTDIR": str(tmp_path / "other-checkout")}
        same = cli(team, "up", "alice", "--yes", "--skip-provider-lock", env=other)
        one_line_error(same, 3, "the workspace's state is locked by ")
        assert "(OperationTypeApply since " in same.stderr and "force-unlock" in same.stderr
        up = cli(team, "up", "bob", "--yes", "--skip-provider-lock", "--health-url", team["login"], "--poll", "0.2", env=other)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert lock.exists() and alice.poll() is None  # bob came up while alice's lock was held
        hold.unlink()
        assert "Apply complete! Resources: 18 added" in up.stdout and "ready 96s after boot" in up.stdout
        assert "opencode-roles" not in up.stdout  # a team's roles are its administrator's
        out, err = alice.communicate(timeout=600)
        assert alice.returncode == 0, out[-3000:] + err[-3000:]
        assert "Apply complete! Resources: 18 added" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
        states = {name: tmp_path / "state" / name / f"{name}.tfstate" for name in ("alice", "bob")}
        alice_before = states["alice"].read_text()
        listed = cli(team, "list", "--json", "--health-url", team["login"])
        assert listed.returncode == 0, listed.stderr
        rows = {row["name"]: row for row in json.loads(listed.stdout)}
        assert set(rows) == {"alice", "bob"} and {row["state"] for row in rows.values()} == {"Running"}
        assert rows["alice"]["url"] != rows["bob"]["url"] and all(row["cost_usd_month"] > 0 for row in rows.values())
        bob = json.loads(states["bob"].read_text())
        assert next(r for r in bob["resources"] if r["type"] == "alicloud_instance")["instances"][0]["attributes"][
            "instance_type"] == "ecs.g7.large"

        down = cli(team, "down", "bob", "--yes")
        assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
        assert "Workspace 'bob' destroyed" in down.stdout
        assert json.loads(states["bob"].read_text())["resources"] == []
        assert states["alice"].read_text() == alice_before  # nothing of alice's touched
        everything = json.loads(cli(team, "status", "--all", "--json", "--health-url", team["login"]).stdout)
        assert [(item["name"], item["deployed"]) for item in everything] == [("alice", True), ("bob", False)]

        def alice_status() -> str:
            state = json.loads(states["alice"].read_text())
            return next(r for r in state["resources"] if r["type"] == "alicloud_instance")["instances"][0]["attributes"]["status"]

        stop = cli(team, "stop", "alice", "--skip-provider-lock")
        assert stop.returncode == 0, stop.stdout[-3000:] + stop.stderr[-3000:]
        assert "While stopped it bills about" in stop.stdout and "1 changed" in stop.stdout
        assert alice_status() == "Stopped"
        assert settings.read_text().startswith("[workspaces.alice]\npower = \"stopped\"\n")  # the file's own layout kept
        start = cli(team, "start", "alice", "--skip-provider-lock", "--health-url", team["login"], "--poll", "0.2")
        assert start.returncode == 0, start.stdout[-3000:] + start.stderr[-3000:]
        assert "Ready in" in start.stdout and alice_status() == "Running" and 'power = "running"' in settings.read_text()
    finally:
        team["servers"][0].close()
        team["servers"][1].shutdown()
