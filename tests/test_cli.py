"""The CLI's parts: the init wizard (through questionary's own input, and in a real terminal under
tmux), following a boot (pure functions of the console and the health), and the ECS calls against
the local fake, request by request."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from fake_alibaba import serve
from fake_openapi import Account, FakeDisk, FakeInstance, OpenApiHandler
from opencode_cli import wizard
from opencode_cli.boot import Health, follow, phases, verdict
from opencode_cli.cloud import Ecs
from opencode_settings import load_settings
from support import KEY, Clock

ENTER, DOWN, CLEAR = "\r", "\x1b[B", "\x01\x0b"  # ctrl-a ctrl-k: the line's start, then kill to its end


def answered(keys: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        pipe.close()  # a question the keys do not answer ends the test (EOFError) instead of hanging it
        return wizard.run(given or {}, interactive=True)


def settings_of(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


# -- init ----------------------------------------------------------------------------------------

def test_the_wizard_with_every_default_writes_what_non_interactive_writes(tmp_path: Path) -> None:
    # name, region, type, web_cidrs, domain, model server (n), provider, model, key source, GitHub (n), SSH (n), backend
    values = answered(ENTER * 5 + "n" + ENTER * 3 + "n" + "n" + ENTER)
    assert values == wizard.run({}, interactive=False)
    wizard.write(values, tmp_path / "a.toml")
    written = settings_of(tmp_path / "a.toml")
    assert written["model"] == {"provider": "anthropic", "model": "claude-sonnet-4-5"}
    assert written["web_cidrs"] == ["0.0.0.0/0"] and "ssh_cidrs" not in written
    assert (tmp_path / "a.toml").read_text().startswith("# Settings of an OpenCode workspace")


def test_a_bad_answer_is_asked_again_and_the_good_one_kept(tmp_path: Path) -> None:
    keys = (ENTER * 3 + CLEAR + "203.0.113.0/33" + ENTER + CLEAR + "203.0.113.0/24" + ENTER + ENTER + "n"
            + DOWN + ENTER + ENTER + DOWN + ENTER + CLEAR + "team-openai-key" + ENTER + "n" + "y"
            + CLEAR + str(tmp_path / "key.pub") + ENTER + CLEAR + "0.0.0.0/0" + ENTER + CLEAR + "198.51.100.7/32" + ENTER
            + ENTER)
    (tmp_path / "key.pub").write_text(KEY + "\n")
    values = answered(keys)
    assert values["web_cidrs"] == ["203.0.113.0/24"] and values["ssh_cidrs"] == ["198.51.100.7/32"]
    assert values["model"] == {"provider": "openai", "model": "gpt-5", "api_key_parameter": "team-openai-key"}
    assert values["ssh_public_key"] == KEY
    wizard.write(values, tmp_path / "b.toml")
    os.environ["OPENCODE_ALICLOUD_CONFIG"] = str(tmp_path / "b.toml")
    try:
        loaded = load_settings()
    finally:
        del os.environ["OPENCODE_ALICLOUD_CONFIG"]
    assert loaded.model.api_key_parameter == "team-openai-key" and loaded.ssh_cidrs == ["198.51.100.7/32"]


def test_each_answer_is_judged_by_the_settings_model() -> None:
    cidr = next(q for q in wizard.QUESTIONS if q.path == "ssh_cidrs")
    assert "0.0.0.0/0" in str(wizard.validator(cidr, {})("0.0.0.0/0"))
    name = next(q for q in wizard.QUESTIONS if q.path == "name")
    assert wizard.validator(name, {})("Bad_Name") is not True and wizard.validator(name, {})("alice") is True
    key = next(q for q in wizard.QUESTIONS if q.path == "ssh_public_key")
    assert "no file" in str(wizard.validator(key, {})("/nonexistent/key.pub"))


def test_no_question_asks_for_a_secret() -> None:
    for question in wizard.QUESTIONS:
        assert not any(word in question.path for word in ("api_key", "token", "password")) or \
            question.path.endswith(("_parameter", "use_github_token")), question.path


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_ALICLOUD_", "ALIBABA_CLOUD_", "ALICLOUD_"))}
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "opencode_cli", *args], cwd=cwd, env=clean,
                          capture_output=True, text=True, timeout=timeout)


def test_non_interactive_init_names_a_bad_flag_and_writes_nothing(tmp_path: Path) -> None:
    result = run_cli(["init", "--non-interactive", "--web-cidr", "0.0.0.0/33"], tmp_path)
    assert result.returncode == 2 and "web_cidrs[0]: '0.0.0.0/33' is not a valid CIDR" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "opencode-alicloud.toml").exists()
    good = run_cli(["init", "--non-interactive", "--name", "alice", "--model-provider", "google"], tmp_path)
    assert good.returncode == 0, good.stderr
    assert settings_of(tmp_path / "opencode-alicloud.toml")["model"] == {"provider": "google", "model": "gemini-2.5-pro"}
    again = run_cli(["init", "--non-interactive"], tmp_path)
    assert again.returncode == 2 and "exists; use --force" in again.stderr


def test_the_wizard_in_a_real_terminal(tmp_path: Path) -> None:
    session = f"init-{os.getpid()}"
    cli = Path(sys.executable).with_name("opencode-alicloud")
    env = " ".join(f"{k}={v}" for k, v in {"HOME": str(tmp_path), "TERM": "xterm-256color"}.items())

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=30).stdout

    def wait_for(text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-p", "-t", session)
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared:\n{screen}")

    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", "-c", str(tmp_path),
         f"env {env} {cli} init -o {tmp_path / 'w.toml'}; echo EXIT=$?; sleep 30")
    try:
        wait_for("Workspace name")
        tmux("send-keys", "-t", session, "C-a", "C-k", "alice", "Enter")
        wait_for("Region")
        tmux("send-keys", "-t", session, "Enter")
        wait_for("Instance type")
        tmux("send-keys", "-t", session, "Enter")
        wait_for("Who may reach the login page")
        tmux("send-keys", "-t", session, "C-a", "C-k", "203.0.113.0/33", "Enter")
        screen = wait_for("is not a valid CIDR")  # the settings model's own reason, on screen
        assert "Domain for the certificate" not in screen  # asked again, not moved on
        tmux("send-keys", "-t", session, "C-a", "C-k", "203.0.113.0/24", "Enter")
        for prompt, keys in (("Domain", ["Enter"]), ("private model server", ["n"]), ("Model provider", ["Enter"]),
                             ("Model id", ["Enter"]), ("API key given", ["Enter"]), ("GitHub token", ["n"]),
                             ("Open SSH", ["n"]), ("Terraform state", ["Enter"])):
            wait_for(prompt)
            tmux("send-keys", "-t", session, *keys)
        screen = wait_for("EXIT=")
        assert "EXIT=0" in screen and "Wrote " in screen and "Next: opencode-alicloud up" in " ".join(screen.split())
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    written = settings_of(tmp_path / "w.toml")
    assert written["name"] == "alice" and written["web_cidrs"] == ["203.0.113.0/24"]


# -- following a boot ---------------------------------------------------------------------------------

CONSOLE = """[   12.1] cloud-init[812]: Cloud-init v. 25.1 running 'modules:final'
opencode-bootstrap: start\r
opencode-bootstrap: metadata firewall
[   40.2] kernel: something else
opencode-bootstrap: opencode 1.18.33: building the image in the background
opencode-bootstrap: ready 212s after boot
"""


STAMPED = """opencode-bootstrap: 2026-12-02T00:54:22Z [300.54s] start
opencode-bootstrap: 2026-12-02T00:54:22Z [300.67s] metadata firewall
opencode-bootstrap: 2026-12-02T01:09:48Z [933.63s] ready 933.52s after boot
opencode-bootstrap: 2026-12-02T01:09:52Z [937.77s] idle stop: after 10 idle minutes (opencode-idle.timer)
opencode-bootstrap: 2026-12-02T01:29:25Z opencode-idle: idle 10 min: no signed-in request, no session busy: stopping
"""


@pytest.mark.parametrize("console, expected", [
    ("", None),
    ("opencode-bootstrap: start\nopencode-bootstrap: secrets\n", None),
    (CONSOLE, "ready"),
    ("opencode-bootstrap: start\nopencode-bootstrap: the image pull failed: /var/log/opencode-image-build.log\n", "failed"),
    # A from-scratch first boot's bake, before the bootstrap starts (bake.sh.j2's console lines).
    ("opencode-bootstrap: bake: packages: docker.io\nopencode-bootstrap: bake: failed at step: packages (exit 100): "
     "/var/log/opencode-bake.log\n", "failed"),
    ("opencode-bootstrap: bake: packages: docker.io\nopencode-bootstrap: bake: workspace image\n", None),
    ("opencode-bootstrap: start\nopencode-bootstrap: not healthy after 300s: docker compose logs\n", "failed"),
    # a reboot starts over: the last boot's phases count, not an earlier boot's
    (CONSOLE + "opencode-bootstrap: start\nopencode-bootstrap: secrets\n", None),
    ("opencode-bootstrap: start\nopencode-bootstrap: not healthy after 300s\n" + CONSOLE, "ready"),
    # as the bootstrap really writes them (time and uptime first), and the idle check after ready
    # (lines of the boot rehearsal's serial log, 2026-12-02)
    (STAMPED, "ready"),
    (STAMPED + "opencode-bootstrap: 2026-12-02T01:30:00Z [12.02s] start\n", None),
    (STAMPED.replace("ready 933.52s after boot", "not healthy after 300s: docker compose logs"), "failed"),
])
def test_the_verdict_comes_from_the_last_boots_phases(console: str, expected: str | None) -> None:
    assert verdict(phases(console)) == expected


def test_phases_are_the_bootstrap_lines_only() -> None:
    assert phases(CONSOLE) == ["start", "metadata firewall", "opencode 1.18.33: building the image in the background",
                               "ready 212s after boot"]


def test_follow_shows_each_phase_once_and_ends_when_healthy() -> None:
    clock, shown = Clock(), []
    consoles = iter(["", "opencode-bootstrap: start\n", "opencode-bootstrap: start\nopencode-bootstrap: secrets\n"] * 3)
    healths = iter([Health(0, False, detail="refused")] * 2 + [Health(200, True, "1.18.33")])
    result = follow(lambda: next(consoles), lambda: next(healths), shown.append, 600, poll=10, clock=clock, sleep=clock.sleep)
    assert result.ready and result.seconds == 20 and shown == ["start", "secrets"] and result.health.version == "1.18.33"


def test_follow_stops_at_a_failed_bootstrap_and_at_the_timeout() -> None:
    clock = Clock()
    failed = follow(lambda: "opencode-bootstrap: start\nopencode-bootstrap: the image pull failed: see log\n",
                    lambda: Health(502, False, detail="HTTP 502"), lambda _: None, 600, clock=clock, sleep=clock.sleep)
    assert not failed.ready and failed.why == "the bootstrap said: the image pull failed: see log"

    def broken() -> str:
        raise RuntimeError("console API down")
    clock = Clock()
    timed_out = follow(broken, lambda: Health(0, False, detail="connection refused"), lambda _: None, 60,
                       poll=10, clock=clock, sleep=clock.sleep)
    assert not timed_out.ready and timed_out.why == "not healthy after 60 s (last answer: connection refused)"
    assert clock.now == 60


def test_follow_trusts_the_bootstrap_only_when_the_login_cannot_be_verified_from_here() -> None:
    clock = Clock()
    proxy_asks = lambda: Health(401, False, detail="HTTP 401")  # noqa: E731
    trusted = follow(lambda: CONSOLE, proxy_asks, lambda _: None, 60, trust_console=True, clock=clock, sleep=clock.sleep)
    assert trusted.ready and trusted.seconds == 0
    clock = Clock()
    untrusted = follow(lambda: CONSOLE, proxy_asks, lambda _: None, 60, clock=clock, sleep=clock.sleep)
    assert not untrusted.ready


# -- the ECS calls, request by request ----------------------------------------------------------------

@pytest.fixture
def account() -> Any:
    acct = Account(instances=[
        FakeInstance("i-t4n1", "alice-workspace", "ap-southeast-1", {"workspace": "alice"}, console=CONSOLE),
        FakeInstance("i-t4n2", "alice-workspace", "ap-southeast-1", {"workspace": "someone-else"}),
    ], disks=[FakeDisk("d-t4n1", "alice-workspace", 40, "cloud_essd_entry", "i-t4n1")])
    served = serve(OpenApiHandler, acct)  # type: ignore[arg-type]
    credential = CredentialClient(CredentialConfig(type="access_key", access_key_id=acct.access_key_id,
                                                   access_key_secret=acct.access_key_secret))
    yield acct, Ecs("ap-southeast-1", credential, f"http://127.0.0.1:{served.port}")
    served.close()


def test_the_ecs_requests_are_the_ones_expected(account: Any) -> None:
    acct, ecs = account
    instance = ecs.instance("alice")
    assert instance is not None and (instance.instance_id, instance.status, instance.public_ip) == ("i-t4n1", "Running", "203.0.113.10")
    assert phases(ecs.console("i-t4n1"))[-1] == "ready 212s after boot"
    disk = ecs.data_disk("alice")
    assert disk is not None and (disk.disk_id, disk.size, disk.category) == ("d-t4n1", 40, "cloud_essd_entry")
    assert ecs.snapshots("d-t4n1") == []
    snapshot_id = ecs.snapshot("d-t4n1", "alice-before-down-20261201-000000", {"workspace": "alice", "managed-by": "opencode-alicloud"})
    assert [s["SnapshotId"] for s in ecs.snapshots("d-t4n1")] == [snapshot_id]
    assert ecs.instance("bob") is None
    sent = [{k: v for k, v in r.items() if k not in ("version",)} for r in acct.requests]
    assert sent[0] == {"action": "DescribeInstances", "RegionId": "ap-southeast-1", "InstanceName": "alice-workspace",
                       "Tag.1.Key": "workspace", "Tag.1.Value": "alice"}
    # the SDK writes a bool as Python spells it
    assert sent[1] == {"action": "GetInstanceConsoleOutput", "RegionId": "ap-southeast-1", "InstanceId": "i-t4n1",
                       "RemoveSymbols": "True"}
    assert sent[2] == {"action": "DescribeDisks", "RegionId": "ap-southeast-1", "DiskName": "alice-workspace"}
    assert sent[3] == {"action": "DescribeSnapshots", "RegionId": "ap-southeast-1", "DiskId": "d-t4n1", "PageSize": "100"}
    assert sent[4]["action"] == "CreateSnapshot" and sent[4]["DiskId"] == "d-t4n1"
    assert sent[4]["SnapshotName"] == "alice-before-down-20261201-000000"
    assert (sent[4]["Tag.1.Key"], sent[4]["Tag.1.Value"], sent[4]["Tag.2.Key"], sent[4]["Tag.2.Value"]) == (
        "managed-by", "opencode-alicloud", "workspace", "alice")
    assert all(r["version"] == "2014-05-26" for r in acct.requests) and not acct.log


def test_an_ecs_error_is_one_line_with_the_apis_code(account: Any) -> None:
    acct, ecs = account
    acct.fail = (403, "Forbidden.RAM", "User not authorized to operate on the specified resource.")
    with pytest.raises(Exception, match=r"^ECS DescribeInstances: Forbidden.RAM: .*User not authorized") as caught:
        ecs.instance("alice")
    assert "\n" not in str(caught.value)


def test_status_says_how_the_workspace_is_kept_running() -> None:
    from opencode_cli.commands.status import power_summary
    from opencode_settings import load_settings

    assert power_summary(load_settings()) == "running; no idle stop"
    assert power_summary(load_settings(power="stopped", spot=True, idle_stop_minutes=60, schedule={
        "enabled": True, "start": "08:30", "stop": "18:00", "time_zone": "Europe/Berlin"})) == (
        "stopped (spot); stops after 60 idle minutes; schedule 08:30-18:00 MON-FRI (Europe/Berlin)")


def test_status_says_which_controls_are_on() -> None:
    from opencode_cli.commands.status import controls_summary
    from opencode_settings import load_settings

    assert controls_summary(load_settings()) == "egress open; no audit trail; access log kept 30 days"
    assert controls_summary(load_settings(egress={"mode": "allowlist", "allow": ["gitlab.example.com"]}, audit={
        "enabled": True, "bucket": "acme-audit", "ship_access_log": True})) == (
        "egress allowlist (10 names, through the proxy); audit trail to oss://acme-audit, kept 180 days; "
        "access log kept 30 days, copied to the audit bucket hourly")
    assert controls_summary(load_settings(
        egress={"mode": "none", "workspace_image": "registry-vpc.ap-southeast-1.aliyuncs.com/a/o:1"},
        model_server={"enabled": True}, tls_mode="internal", audit={"enabled": True, "existing_trail": "org"})) == (
        "egress none (the private model only); audit trail org (existing); access log kept 30 days")


@pytest.mark.parametrize("tunnel, argv", [
    (False, ["ssh", "root@203.0.113.9"]),
    (True, ["ssh", "-N", "-L", "4096:127.0.0.1:4096", "root@203.0.113.9"]),
])
def test_ssh_and_tunnel_run_a_command_built_here_not_the_states(monkeypatch: pytest.MonkeyPatch, tunnel: bool,
                                                                 argv: list[str]) -> None:
    """A teammate who can write the shared state could make `ssh_command` any program (security review 2, #9):
    the CLI runs ssh built from the state's public_ip alone."""
    from opencode_cli.commands import access as cli

    state = {"url": "https://x", "public_ip": "203.0.113.9", "ssh_command": "sh -c 'touch /tmp/pwned'",
             "ssh_tunnel_command": "sh -c 'touch /tmp/pwned'"}
    monkeypatch.setattr(cli, "outputs", lambda engine, name, required=True: state)  # the state, as read
    ran: list[list[str]] = []
    monkeypatch.setattr(cli.os, "execvp", lambda file, args: ran.append(args) or sys.exit(0))
    with pytest.raises(SystemExit):
        cli._ssh(None, tunnel=tunnel)
    assert ran == [argv]


def test_a_state_address_that_is_not_an_address_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from opencode_cli.commands import access as cli
    from opencode_cli.commands.common import EXIT_UNHEALTHY

    monkeypatch.setattr(cli, "outputs", lambda engine, name, required=True: {
        "url": "https://x", "public_ip": "-oProxyCommand=touch /tmp/pwned", "ssh_command": "ssh root@x"})
    monkeypatch.setattr(cli.os, "execvp", lambda file, args: pytest.fail(f"ran {args}"))
    with pytest.raises(cli.typer.Exit) as stopped:
        cli._ssh(None)
    assert stopped.value.exit_code == EXIT_UNHEALTHY
    captured = capsys.readouterr()
    assert "the state's public_ip '-oProxyCommand=touch /tmp/pwned' is not an IP address" in captured.out + captured.err


@pytest.mark.parametrize("settings, message", [
    ('power = "stopped"\n', "is kept stopped (power = \"stopped\"): opencode-alicloud start first"),
    ('image_source = "baked"\nimage_id = "m-t4nbaked000000000001"\n', "image_id pins the baked image m-t4nbaked000000000001"),
])
def test_upgrade_refuses_what_it_could_not_judge_before_anything_changes(tmp_path: Path, settings: str, message: str) -> None:
    (tmp_path / "opencode-alicloud.toml").write_text('opencode_version = "1.18.32"\n' + settings)
    result = run_cli(["upgrade", "--yes"], tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opencode-alicloud.toml"]  # nothing written
