"""audit.ship_access_log: the hourly copy of the proxy's access log to the audit bucket. The on-instance
OSS signature (V4) against the official SDK's, the program against a fake OSS that recomputes that
signature with the SDK and applies the role policy's prefix, what it reads of a log Caddy rolls, the
role policy, the units and the settings."""
from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_rejected, resources
from fake_alibaba import Cloud, MetadataHandler, OssHandler, oss_v4_authorization, serve
from support import AUDIT_VARIANTS, on_instance_module, rendered_bootstrap, synth_roles

SHIP = "/usr/local/sbin/opencode-ship-logs"
AUDIT = AUDIT_VARIANTS["ship-logs"]


@pytest.fixture()
def ship(tmp_path: Path) -> Any:
    return on_instance_module(tmp_path, SHIP, "ship-logs")


def line(n: int) -> bytes:
    return json.dumps({"ts": 1700000000 + n, "request": {"uri": f"/p{n}"}, "status": 200}).encode() + b"\n"


@pytest.mark.parametrize("key", ["access-logs/opencode/i-abc/2026/12/02/040000-0.jsonl", "a b/ünï+code=&.jsonl"])
def test_the_oss_signature_is_the_official_sdks(ship: Any, key: str) -> None:
    """The on-instance V4 signer and alibabacloud-oss-v2's SignerV4: same request, time and credentials, same Authorization."""
    credentials = {"AccessKeyId": "STS.NTest", "AccessKeySecret": "testSecret/+=", "SecurityToken": "CAIS+token/=="}
    when = datetime.datetime(2026, 12, 2, 4, 5, 6, tzinfo=datetime.timezone.utc)
    api = sys.modules["opencode_aliyun"]  # the on-instance API module the program imports
    headers = api.oss_headers("PUT", "acme-audit-trail", key, "eu-central-1", credentials,
                               {"Content-Type": "application/x-ndjson", "x-oss-forbid-overwrite": "true"}, when)
    assert headers["x-oss-date"] == "20261202T040506Z" and headers["x-oss-security-token"] == credentials["SecurityToken"]
    official = oss_v4_authorization("PUT", "acme-audit-trail", key, headers, credentials["AccessKeyId"],
                                    credentials["AccessKeySecret"], "eu-central-1")
    assert headers["Authorization"] == official
    assert official.startswith("OSS4-HMAC-SHA256 Credential=STS.NTest/20261202/eu-central-1/oss/aliyun_v4_request,Signature=")


def test_what_is_new_in_a_log_caddy_rolls(ship: Any, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "opencode-access.log"
    log.parent.mkdir()
    log.write_bytes(line(1) + line(2) + b'{"partial')
    body, state = ship.pending(str(log), {})
    assert body == line(1) + line(2)  # a line still being written waits for the next run
    with log.open("ab") as f:
        f.write(b'": 1}\n' + line(3))
    body, state = ship.pending(str(log), state)
    assert body == b'{"partial": 1}\n' + line(3)
    # Caddy rolls by renaming the file (same inode) and starts a new one: the rest of the old one comes first.
    with log.open("ab") as f:
        f.write(line(4))
    log.rename(log.parent / "opencode-access-2026-12-02T04-00-00.000.log")
    log.write_bytes(line(5))
    body, state = ship.pending(str(log), state)
    assert body == line(4) + line(5)
    assert ship.pending(str(log), state)[0] == b""  # nothing new
    log.write_bytes(line(6))  # truncated and rewritten (same inode, shorter): from the start
    assert ship.pending(str(log), {**state, "offset": 10**6})[0] == line(6)


@pytest.mark.parametrize("plant", ["symlink", "hardlink", "rolled hardlink"])
def test_a_link_planted_in_caddys_folder_is_never_read(ship: Any, tmp_path: Path, plant: str) -> None:
    """Security review 2, #13: the program runs as root and reads Caddy's folder, which Caddy writes: a link
    there to a root-only file (the secrets) is refused, not shipped, whether it is the log or a rolled one."""
    secret = tmp_path / "secrets.env"
    secret.write_text("MODEL_API_KEY=sk-must-not-ship\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "opencode-access.log"
    state: dict[str, Any] = {}
    if plant == "symlink":
        log.symlink_to(secret)
    elif plant == "hardlink":
        os.link(secret, log)
    else:
        log.write_bytes(line(1))
        state = ship.pending(str(log), {})[1]
        log.rename(logs / "gone.log")
        (logs / "gone.log").unlink()
        os.link(secret, logs / "opencode-access-rolled.log")  # as if it were the rolled log (its inode)
        log.write_bytes(line(2))
        state = {**state, "inode": secret.stat().st_ino, "offset": 0}
    with pytest.raises(OSError):
        ship.pending(str(log), state)


def test_a_refused_log_is_one_line_and_a_failure_not_a_traceback(ship: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secrets.env"
    secret.write_text("MODEL_API_KEY=sk-must-not-ship\n")
    log = tmp_path / "opencode-access.log"
    log.symlink_to(secret)
    monkeypatch.setattr(ship, "LOG", str(log))
    monkeypatch.setattr(ship, "STATE", str(tmp_path / "state.json"))
    assert ship.main("http://127.0.0.1:9/latest") == 1  # the unit fails (seen in systemctl), nothing is read
    out = capsys.readouterr().out
    assert out.startswith("not shipping: ") and str(log) in out and "sk-must" not in out
    assert not (tmp_path / "state.json").exists()


def test_the_program_adds_an_object_through_the_role_and_never_overwrites(ship: Any, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cloud = Cloud(instance_id="i-t4nship01", region="ap-southeast-1", role="opencode-instance", parameters={},
                  oss_bucket="acme-audit-trail", oss_writable="access-logs/opencode")
    metadata, oss = serve(MetadataHandler, cloud), serve(OssHandler, cloud)
    md, base = f"http://127.0.0.1:{metadata.port}/latest", f"http://127.0.0.1:{oss.port}"
    log, state = tmp_path / "access.log", tmp_path / "state.json"
    monkeypatch.setattr(ship, "LOG", str(log))
    monkeypatch.setattr(ship, "STATE", str(state))
    try:
        assert ship.main(md, base) == 0 and cloud.objects == {}  # no log yet: nothing to do
        log.write_bytes(line(1) + line(2))
        assert ship.main(md, base) == 0
        ((key, body),) = cloud.objects.items()
        assert key.startswith("access-logs/opencode/i-t4nship01/") and key.endswith("-0.jsonl") and body == line(1) + line(2)
        assert json.loads(state.read_text())["offset"] == len(body)
        assert ship.main(md, base) == 0 and len(cloud.objects) == 1  # nothing new: no object
        with log.open("ab") as f:
            f.write(line(3))
        assert ship.main(md, base) == 0
        assert sorted(cloud.objects.values()) == sorted([line(1) + line(2), line(3)])
        # The fake OSS refuses what OSS would: an existing key (x-oss-forbid-overwrite), a key outside the
        # role policy's prefix, a wrong secret. The state stays where it was when a put fails.
        role = cloud.credentials.document()
        with pytest.raises(ship.ApiError, match="FileAlreadyExists"):
            ship.oss_put("acme-audit-trail", key, b"x", "ap-southeast-1", role, base=base)
        with pytest.raises(ship.ApiError, match="AccessDenied"):
            ship.oss_put("acme-audit-trail", "elsewhere/x.jsonl", b"x", "ap-southeast-1", role, base=base)
        with pytest.raises(ship.ApiError, match="SignatureDoesNotMatch"):
            ship.oss_put("acme-audit-trail", "access-logs/opencode/x", b"x", "ap-southeast-1",
                         {**role, "AccessKeySecret": "wrong"}, base=base)
        before = state.read_text()
        with log.open("ab") as f:
            f.write(line(4))
        monkeypatch.setattr(ship, "PREFIX", "elsewhere")
        assert ship.main(md, base) == 1 and state.read_text() == before
    finally:
        metadata.close()
        oss.close()


def test_the_role_may_only_add_objects_under_its_prefix(tmp_path: Path) -> None:
    doc = synth_roles(tmp_path, **AUDIT)
    (ship,) = [p for p in resources(doc, "alicloud_ram_policy") if p["policy_name"] == "opencode-instance-ship-logs"]
    assert json.loads(ship["policy_document"]) == {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["oss:PutObject"], "Resource": ["acs:oss:*:*:acme-audit-trail/access-logs/opencode/*"]}]}
    attached = [a for a in resources(doc, "alicloud_ram_role_policy_attachment") if "ship" in a["policy_name"]]
    assert len(attached) == 1 and attached[0]["role_name"].startswith("${alicloud_ram_role.")
    # Without the setting there is no such policy, and the log rolls compressed as before.
    assert not [p for p in resources(synth_roles(tmp_path / "off"), "alicloud_ram_policy") if "ship" in p["policy_name"]]
    assert "roll_uncompressed" not in rendered_bootstrap("default")[1]["/etc/opencode/Caddyfile"]


def test_the_files_units_and_the_bootstrap(tmp_path: Path) -> None:
    files = rendered_bootstrap("ship-logs")[1]
    assert "roll_uncompressed" in files["/etc/opencode/Caddyfile"]  # a rolled file keeps its inode
    assert "SHIP_LOGS=1" in files["/etc/opencode/bootstrap.env"]
    assert "systemctl enable --now opencode-ship-logs.timer" in files["/usr/local/sbin/opencode-bootstrap"]
    assert "OnCalendar=hourly" in files["/etc/systemd/system/opencode-ship-logs.timer"]
    assert 'BUCKET, PREFIX, REGION, ROLE = "acme-audit-trail", "access-logs/opencode", "ap-southeast-1", "opencode-instance"' \
        in files[SHIP]
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    for name in ("opencode-ship-logs.service", "opencode-ship-logs.timer"):
        (tmp_path / name).write_text(files[f"/etc/systemd/system/{name}"])
    (tmp_path / "opencode-ship-logs").write_text(files[SHIP])
    os.chmod(tmp_path / "opencode-ship-logs", 0o755)
    service = (tmp_path / "opencode-ship-logs.service").read_text().replace(SHIP, str(tmp_path / "opencode-ship-logs"))
    (tmp_path / "opencode-ship-logs.service").write_text(service)
    verify = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "opencode-ship-logs.service"),
                             str(tmp_path / "opencode-ship-logs.timer")], capture_output=True, text=True)
    assert "opencode-ship-logs" not in verify.stderr, verify.stderr


@pytest.mark.parametrize("overrides, field, fix", [
    ({"audit": {"ship_access_log": True}}, "audit.ship_access_log", "needs the audit bucket"),
    ({"audit": {"enabled": True, "existing_trail": "t", "ship_access_log": True}}, "audit.ship_access_log",
     "needs the audit bucket"),
    ({**AUDIT, "tls_mode": "tunnel-only", "ssh_cidrs": ["203.0.113.7/32"], "key_pair_name": "laptop"}, "audit.ship_access_log",
     "no access log to ship"),
])
def test_settings_that_cannot_ship_are_named(overrides: dict, field: str, fix: str) -> None:
    assert_rejected(overrides, field, fix)
