"""The idle stop (issue 15): the on-instance idle check's decision, as a pure function of the access log,
OpenCode's session statuses and the clocks; its signed StopInstance against a fake ECS that recomputes
the signature; its units under systemd-analyze; the role's stop-only policy; and the settings."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from conftest import assert_rejected, resources, synth
from fake_alibaba import Cloud, MetadataHandler, RpcHandler, serve
from support import on_instance_module, rendered_bootstrap, synth_roles, written_files

IDLE = "/usr/local/sbin/opencode-idle"
NOW = 1_800_000_000.0  # a wall-clock time
MONO = 50_000.0  # the monotonic clock at NOW
STARTED = NOW - 3 * 3600  # when the idle clock started (the first check after a boot)


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return on_instance_module(tmp_path_factory.mktemp("idle"), IDLE, "all-options")


def access(ts: float, user: str = "opencode", status: int = 200) -> str:
    """One line of Caddy's JSON access log, shaped as Caddy 2.6 writes it (see test_e2e_loopback)."""
    return json.dumps({"level": "info", "ts": ts, "logger": "http.log.access.log0", "msg": "handled request",
                       "request": {"remote_ip": "198.51.100.7", "method": "GET", "uri": "/session"},
                       "user_id": user, "duration": 0.01, "size": 120, "status": status})


IDLE_SESSIONS = {"ses_a": {"type": "idle"}}
EARLIER = {"wall": NOW - 60, "mono": MONO - 60, "since": STARTED}  # the check a minute ago


@pytest.mark.parametrize(
    "case, lines, statuses, previous, stop, why",
    [
        ("active", [access(NOW - 5 * 60)], IDLE_SESSIONS, EARLIER, False, "idle 5 of 60 min"),
        ("idle but an agent busy", [access(NOW - 3 * 3600)], {"ses_a": {"type": "busy"}}, EARLIER, False,
         "1 session(s) busy (ses_a): an agent is working"),
        ("idle but an agent retrying", [access(NOW - 3 * 3600)],
         {"ses_a": {"type": "idle"}, "ses_b": {"type": "retry", "attempt": 2, "message": "429", "next": 1}}, EARLIER,
         False, "1 session(s) busy (ses_b)"),
        ("idle", [access(NOW - 61 * 60)], IDLE_SESSIONS, EARLIER, True,
         "idle 61 min: no signed-in request, no session busy"),
        ("idle, nobody signed in since the clock started", [access(NOW - 60, user="", status=401)], {}, EARLIER, True,
         "idle 180 min"),
        ("a clock jump", [access(NOW - 5 * 3600)], IDLE_SESSIONS, {**EARLIER, "wall": NOW - 3600}, False,
         "the clock jumped +3540 s: the idle clock starts over"),
        ("a missing log", None, IDLE_SESSIONS, EARLIER, False, "no access log at /data/logs/caddy/opencode-access.log"),
        ("the API down", [access(NOW - 5 * 3600)], None, EARLIER, False, "OpenCode's session status did not answer"),
        ("a request in the future", [access(NOW + 3600)], IDLE_SESSIONS, EARLIER, False, "logged in the future"),
        ("a line that is not JSON", ["{not json", access(NOW - 10 * 60)], IDLE_SESSIONS, EARLIER, False, "idle 10 of 60"),
    ],
)
def test_the_idle_decision(idle: Any, case: str, lines: list[str] | None, statuses: dict | None, previous: dict,
                           stop: bool, why: str) -> None:
    go, reason, state = idle.decide(lines, statuses, NOW, MONO, previous, 60)
    assert (go, why in reason) == (stop, True), (case, reason)
    assert state["wall"] == NOW and state["mono"] == MONO


def test_the_caddy_unit_waits_for_the_data_disk_that_holds_its_log() -> None:
    files = rendered_bootstrap("default")[1]
    assert "[Unit]\nRequiresMountsFor=/data\n" in files["/etc/systemd/system/caddy.service.d/opencode-upstream.conf"]
    assert "output file /data/logs/caddy/opencode-access.log {" in files["/etc/opencode/Caddyfile"]
    script = files["/usr/local/sbin/opencode-bootstrap"]
    assert script.index("mount /data") < script.index("install -d -o caddy -g caddy -m 0750 /data/logs/caddy")
    assert "/data/logs" not in str(rendered_bootstrap("default")[1]["/etc/opencode/compose.yaml"])  # not the agent's


def test_the_idle_clock_starts_over_after_a_busy_agent_a_jump_and_a_boot(idle: Any) -> None:
    old = [access(NOW - 5 * 3600)]
    _, _, after_busy = idle.decide(old, {"s": {"type": "busy"}}, NOW, MONO, EARLIER, 60)
    assert after_busy["since"] == NOW  # the agent's last busy minute counts as use
    go, why, _ = idle.decide(old, {"s": {"type": "idle"}}, NOW + 59 * 60, MONO + 59 * 60, after_busy, 60)
    assert not go and why == "idle 59 of 60 min"
    assert idle.decide(old, {}, NOW + 60 * 60, MONO + 60 * 60, after_busy, 60)[0]
    # A boot (a start) has no previous state (/run is tmpfs): the clock starts at the first check, which runs
    # once the workspace is ready (found by the boot rehearsal: counting from power-on, a slow first boot
    # was idle on arrival), not at an old log line.
    go, why, state = idle.decide(old, {}, NOW, MONO, {}, 60)
    assert not go and state["since"] == NOW and why == "idle 0 of 60 min"
    assert not idle.decide([], {}, NOW + 59 * 60, MONO + 59 * 60, state, 60)[0]
    assert idle.decide([], {}, NOW + 60 * 60, MONO + 60 * 60, state, 60)[0]


@hypothesis_settings(max_examples=200, deadline=None)
@given(ages=st.lists(st.floats(min_value=-10_000, max_value=100_000), max_size=5),
       minutes=st.integers(min_value=10, max_value=1440), jump=st.floats(min_value=-1e6, max_value=1e6))
def test_no_log_or_no_answer_never_stops(idle: Any, ages: list[float], minutes: int, jump: float) -> None:
    lines = [access(NOW - age) for age in ages]
    previous = {"wall": NOW - 60 + jump, "mono": MONO - 60, "since": STARTED}
    assert not idle.decide(None, {}, NOW, MONO, previous, minutes)[0]
    assert not idle.decide(lines, None, NOW, MONO, previous, minutes)[0]
    # And whenever it stops, the last signed-in request is at least `minutes` old.
    go, _, _ = idle.decide(lines, {}, NOW, MONO, previous, minutes)
    if go:
        assert all(age >= minutes * 60 for age in ages) and abs(jump) <= idle.JUMP


def test_the_stop_is_signed_by_the_role_and_names_only_this_instance(idle: Any) -> None:
    cloud = Cloud(instance_id="i-t4nidle01", region="eu-central-1", role="team-a-instance", parameters={})
    metadata, api = serve(MetadataHandler, cloud), serve(RpcHandler, cloud)
    md, base = f"http://127.0.0.1:{metadata.port}/latest", f"http://127.0.0.1:{api.port}"
    try:
        assert idle.stop("eu-central-1", "team-a-instance", md=md, base=base) == "i-t4nidle01"
        (stop,) = cloud.stops
        assert (stop["Action"], stop["Version"], stop["InstanceId"], stop["StoppedMode"]) == (
            "StopInstance", "2014-05-26", "i-t4nidle01", "StopCharging")
        assert stop["SecurityToken"] == cloud.credentials.security_token and "ForceStop" not in stop
        assert "ECS StopInstance i-t4nidle01 StopCharging" in cloud.log
        # Through the same module: a wrong secret fails the signature check, another instance the role's
        # scope; each error carries the API's Code.
        role = cloud.credentials.document()
        with pytest.raises(idle.ApiError, match="SignatureDoesNotMatch"):
            idle.call("ecs", "StopInstance", "2014-05-26", "eu-central-1", {**role, "AccessKeySecret": "wrong"},
                      base=base, InstanceId="i-t4nidle01", StoppedMode="StopCharging")
        with pytest.raises(idle.ApiError, match="Forbidden.RAM"):
            idle.call("ecs", "StopInstance", "2014-05-26", "eu-central-1", role, base=base, InstanceId="i-other",
                      StoppedMode="StopCharging")
    finally:
        metadata.close()
        api.close()
    assert len(cloud.stops) == 1


def test_say_writes_the_bootstrap_log_and_the_console(idle: Any, tmp_path: Path) -> None:
    log, console = tmp_path / "bootstrap.log", tmp_path / "console"
    idle.say("idle 61 min: stopping", log=str(log), console=str(console))
    assert log.read_text().endswith("opencode-idle: idle 61 min: stopping\n")
    assert console.read_text().startswith("opencode-bootstrap: ") and "opencode-idle: idle 61 min" in console.read_text()
    idle.say("unwritable console", log=str(log), console=str(tmp_path / "missing" / "console"))  # no error


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    files = rendered_bootstrap("all-options")[1]
    script = tmp_path / "opencode-idle"
    script.write_text(files[IDLE])
    script.chmod(0o700)
    units = []
    for name in ("opencode-idle.service", "opencode-idle.timer"):
        unit = tmp_path / name
        unit.write_text(files[f"/etc/systemd/system/{name}"].replace(IDLE, str(script)))
        units.append(str(unit))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    timer = files["/etc/systemd/system/opencode-idle.timer"]
    assert "OnUnitActiveSec=1min" in timer and "WantedBy=timers.target" in timer
    assert "ConditionPathExists=/var/lib/opencode-ready-seconds" in files["/etc/systemd/system/opencode-idle.service"]


def test_the_idle_check_is_only_there_when_set_and_the_bootstrap_enables_it_when_ready() -> None:
    _, files, user_data = rendered_bootstrap("all-options")
    assert "IDLE_STOP_MINUTES=60\n" in files["/etc/opencode/bootstrap.env"]
    script = files["/usr/local/sbin/opencode-bootstrap"]
    assert script.index('log "ready ${up}s after boot"') < script.index("systemctl enable --now opencode-idle.timer")
    assert written_files(user_data)[IDLE]["permissions"] == "0700"
    _, default, _ = rendered_bootstrap("default")
    assert not [path for path in default if "idle" in path] and "IDLE_STOP_MINUTES=\n" in default["/etc/opencode/bootstrap.env"]


def test_the_role_may_stop_only_its_workspaces_instances(tmp_path: Path) -> None:
    """The role is made before the instance (the administrator's stack opencode-roles): the policy names this
    workspace's instances by the tags the instance carries, which the deployer cannot put on another's."""
    doc = synth_roles(tmp_path, **{"idle_stop_minutes": 60})
    policies = {p["policy_name"]: json.loads(p["policy_document"]) for p in resources(doc, "alicloud_ram_policy")}
    assert policies["opencode-instance-stop-self"] == {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["ecs:StopInstance"], "Resource": ["acs:ecs:ap-southeast-1:*:instance/*"],
        "Condition": {"StringEquals": {"acs:ResourceTag/workspace": "opencode", "acs:ResourceTag/managed-by": "opencode-alicloud"}}}]}
    (instance,) = resources(synth(tmp_path / "workspace", idle_stop_minutes=60), "alicloud_instance")
    assert {"workspace": "opencode", "managed-by": "opencode-alicloud"}.items() <= instance["tags"].items()
    for document in policies.values():
        for statement in document["Statement"]:
            assert not any(action in {"*", "ecs:*"} or action.endswith(":*") for action in statement["Action"])
            assert "*" not in statement["Resource"]
    attached = {a["policy_name"]: a for a in resources(doc, "alicloud_ram_role_policy_attachment")}
    stop_attachment = next(a for a in attached.values() if "stop-self" in a["policy_name"])
    assert stop_attachment["role_name"].startswith("${alicloud_ram_role.opencode_role_")
    # Without the setting: no stop permission at all.
    plain = synth_roles(tmp_path / "plain")
    assert [p["policy_name"] for p in resources(plain, "alicloud_ram_policy")] == ["opencode-instance-read-secrets"]


def test_idle_stop_settings_are_checked() -> None:
    assert_rejected({"idle_stop_minutes": 5}, "idle_stop_minutes", "greater than or equal to 10")
    assert_rejected({"idle_stop_minutes": 60, "tls_mode": "tunnel-only", "ssh_cidrs": ["203.0.113.7/32"],
                     "key_pair_name": "laptop"}, "idle_stop_minutes", "tls_mode = tunnel-only has none")


def test_only_folders_of_recent_sessions_are_asked(idle: Any) -> None:
    """Asking OpenCode for a folder's statuses loads that folder's project: only folders with a session
    updated in the last day are asked (and /workspace), each once."""
    import http.server
    import threading

    day_ms = 86_400_000
    now_ms = NOW * 1000
    sessions = [{"id": "a", "directory": "/workspace/app", "time": {"updated": now_ms - 3_600_000}},
                {"id": "b", "directory": "/workspace/old", "time": {"updated": now_ms - 3 * day_ms}},
                {"id": "c", "directory": "/workspace/app", "time": {"updated": now_ms - 60_000}}]
    asked: list[str] = []

    class OpenCode(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            body = json.dumps(sessions if self.path == "/experimental/session" else
                              ({"a": {"type": "busy"}} if "app" in self.path else {})).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OpenCode)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        found = idle.statuses("pw", f"http://127.0.0.1:{server.server_address[1]}", now=NOW)
    finally:
        server.shutdown()
    assert found == {"a": {"type": "busy"}}
    assert asked == ["/experimental/session", "/session/status?directory=%2Fworkspace",
                     "/session/status?directory=%2Fworkspace%2Fapp"]


def test_an_accepted_stop_is_not_asked_for_again_while_it_happens(idle: Any) -> None:
    assert not idle.stop_pending({}, NOW)
    assert idle.stop_pending({"stopped_at": NOW - 60}, NOW)
    assert not idle.stop_pending({"stopped_at": NOW - idle.SETTLE}, NOW)  # it did not happen: ask again
    assert not idle.stop_pending({"stopped_at": NOW + 60}, NOW)  # a clock gone back: judge afresh


@pytest.mark.parametrize("plant", ["symlink", "hardlink"])
def test_the_idle_check_never_reads_a_link_planted_in_caddys_folder(idle: Any, tmp_path: Path, plant: str) -> None:
    """Security review 2, #13: it runs as root over Caddy's folder: a planted link is no access log (so no stop),
    and the file it points at is never read."""
    secret = tmp_path / "secrets.env"
    secret.write_text(json.dumps({"user_id": "opencode", "ts": NOW, "status": 200}) + "\n")
    log = tmp_path / "opencode-access.log"
    log.symlink_to(secret) if plant == "symlink" else os.link(secret, log)
    assert idle.read_log(str(log)) is None
    regular = tmp_path / "regular.log"
    regular.write_text(access(NOW) + "\n")
    assert idle.read_log(str(regular)) == [access(NOW)]  # the control: a log of its own is read
