"""The boot rehearsal's own pieces (scripts/rehearse-boot runs the VM itself, after the test suite):
its vendor-data and how it reads the bootstrap's phases."""
from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from conftest import cloud_config, rendered_bootstrap
from rehearse import phases
from vendor import ACME_HOST, VendorSettings, vendor_data

SETTINGS = VendorSettings(region="ap-southeast-1", registry_port=5000, acme_port=14000,
                          ca_pems=("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",),
                          ssh_public_key="ssh-ed25519 AAAAC3Nza rehearsal")


def test_vendor_data_is_valid_cloud_config_that_leaves_the_user_data_alone(tmp_path: Path) -> None:
    text = vendor_data(SETTINGS)
    (tmp_path / "vendor-data").write_text(text)
    result = subprocess.run(["cloud-init", "schema", "-c", str(tmp_path / "vendor-data")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr
    # cloud-init lets user-data keys replace vendor-data keys: none may be shared, or one side is lost.
    user_data = cloud_config(rendered_bootstrap("default")[2])
    assert set(yaml.safe_load(text)) & set(user_data) == set()


def test_vendor_data_points_docker_and_caddy_at_the_local_services_and_names_the_fake_oos() -> None:
    document = yaml.safe_load(vendor_data(SETTINGS))
    hosts, files = document["bootcmd"]
    assert "100.100.100.201 oos.ap-southeast-1.aliyuncs.com" in hosts[2] and f"100.100.100.2 {ACME_HOST}" in hosts[2]
    blob = files[2].split()[1]
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(blob))) as tar:
        written = {member.name: tar.extractfile(member).read().decode() for member in tar.getmembers()}  # type: ignore[union-attr]
    assert json.loads(written["etc/docker/daemon.json"])["registry-mirrors"] == ["http://100.100.100.2:5000"]
    assert f"acme_ca https://{ACME_HOST}:14000/dir" in written["usr/local/sbin/rehearsal-acme-ca"]
    assert "ExecStartPre=+/usr/local/sbin/rehearsal-acme-ca" in written["etc/systemd/system/caddy.service.d/rehearsal-acme.conf"]
    assert document["ca_certs"]["trusted"] == list(SETTINGS.ca_pems)


def test_phases_come_from_the_bootstraps_log_lines() -> None:
    log = ("2026-12-01T10:00:00Z [70.12s] start\n"
           "2026-12-01T10:00:01Z [70.50s] data disk d-abc\n"
           "some docker output\n"
           "2026-12-01T10:03:00Z [250.00s] ready 250.00s after boot\n")
    assert phases(log) == [("start", 70.12), ("data disk d-abc", 70.5), ("ready 250.00s after boot", 250.0)]


def test_the_test_ca_satisfies_strict_verification_as_debian_13s_python_does(tmp_path: Path) -> None:
    """Python 3.13 (Debian 13) verifies with VERIFY_X509_STRICT: the fake OOS's certificate must pass it."""
    import ssl
    import urllib.request

    from fake_alibaba import Cloud, RpcHandler, serve
    from pki import TestCA

    ca = TestCA.create(tmp_path / "pki")
    cloud = Cloud(instance_id="i-x", region="ap-southeast-1", role="r", parameters={})
    server = serve(RpcHandler, cloud, tls=ca.issue(["localhost"], tmp_path / "pki" / "oos"))
    context = ssl.create_default_context(cafile=str(ca.cert))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        with urllib.request.urlopen(f"https://localhost:{server.port}/", context=context, timeout=5) as response:
            raise AssertionError(f"an unsigned request was answered {response.status}")
    except urllib.error.HTTPError as error:  # TLS held; the API refused the unsigned request
        assert json.loads(error.read())["Code"] == "InvalidAccessKeyId.NotFound"
    finally:
        server.close()


# --- the secret search: found where it is, never vacuous -------------------------------------------

def test_the_secret_search_finds_each_value_in_each_source_and_nothing_else() -> None:
    from rehearse import leaks

    sources = {"/var/log/cloud-init-output.log": "ok\nrehearsal positive control: sk-1\n", "the journal": "nothing",
               "unreadable": None, "user-data": "token ghp_2 and sk-1"}
    values = {"model_api_key": "sk-1", "github_token": "ghp_2", "web password": "pw-3", "empty": ""}
    assert leaks(sources, values) == [("cloud-init-output.log", "model_api_key"), ("user-data", "github_token"),
                                      ("user-data", "model_api_key")]
    assert leaks({"a": "clean"}, values) == []


def test_the_old_pipeline_could_not_find_a_secret_and_a_pattern_file_does(tmp_path: Path) -> None:
    """Why the search moved to the host: inside `{ cat logs; } | grep -c -F -f /dev/stdin`, /dev/stdin is the
    pipe, so the logs became the patterns and nothing was searched (0 found, with the secret in the log)."""
    log = tmp_path / "bootstrap.log"
    log.write_text("line one\nleaked sk-rehearsal-secret here\n")
    old = subprocess.run(["bash", "-c", f"{{ cat {log}; }} | grep -c -F -f /dev/stdin || true"], input="sk-rehearsal-secret\n",
                         capture_output=True, text=True, timeout=30)
    patterns = tmp_path / "patterns"
    patterns.write_text("sk-rehearsal-secret\n")
    honest = subprocess.run(["grep", "-c", "-F", "-f", str(patterns), str(log)], capture_output=True, text=True, timeout=30)
    assert old.stdout.strip() == "0" and honest.stdout.strip() == "1"


# --- what the rehearsal does where it cannot run ---------------------------------------------------

@pytest.mark.parametrize("ci, code, word", [("true", 1, "FAIL"), (None, 0, "SKIP")])
def test_without_qemu_the_rehearsal_skips_outside_ci_and_fails_under_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ci: str | None, code: int, word: str) -> None:
    import rehearse

    monkeypatch.setattr(rehearse, "qemu", lambda: None)
    if ci:
        monkeypatch.setenv("CI", ci)
    else:
        monkeypatch.delenv("CI", raising=False)
    assert rehearse.main([]) == code
    assert capsys.readouterr().out.startswith(f"{word}  boot rehearsal: qemu-system-x86_64 can't run")


def test_a_step_that_times_out_is_an_answer_not_an_exception(tmp_path: Path) -> None:
    from vm import Machine

    machine = Machine(tmp_path, None, tmp_path / "d", "", tmp_path / "s", "tcg", {}, ssh_port=9)  # type: ignore[arg-type]
    answer = machine.ssh(tmp_path / "no-key", "true", timeout=0)
    assert answer.returncode in (124, 255) and answer.stdout == ""


def test_the_golden_regeneration_is_refused_by_the_test_command(tmp_path: Path) -> None:
    from conftest import ROOT

    process = subprocess.Popen([str(ROOT / "scripts" / "test")], env={**os.environ, "UPDATE_GOLDEN": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=60)
    finally:  # were the refusal gone, this would start a whole run: end it and all it started
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()
    assert process.returncode == 2 and "UPDATE_GOLDEN is set" in stderr


# --- a boot's bounds follow its progress, and each ends in a reason --------------------------------

class ConsoleVM:
    """Stands in for the VM: its logs as the checks read them over SSH (sizes, cloud-init's status)."""

    def __init__(self, sizes: list[int], log: str = "", status: str = "status: running") -> None:
        self.sizes, self.log, self.status, self.polls = sizes, log, status, 0

    def running(self) -> bool:
        return True

    def ssh(self, key: Path, command: str, timeout: int = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if command.startswith("cat /var/log/opencode-bootstrap.log"):
            return subprocess.CompletedProcess(command, 0, self.log, "")
        size = self.sizes[min(self.polls, len(self.sizes) - 1)]
        self.polls += 1  # `cloud-init status` exits 1 when it says error: so does the probe that ends with it
        return subprocess.CompletedProcess(command, 1 if "error" in self.status else 0, f"{size}\n{self.status}\n", "")


def wait(vm: ConsoleVM, stall: float = 0.3, cap: float = 5.0) -> tuple[str, str]:
    import time

    from rehearse import Checks, Report

    checks = Checks(vm, Path("key"), None, Path("roots"), Report(quiet=True))  # type: ignore[arg-type]
    return checks.wait_for_bootstrap(time.monotonic(), stall=stall, cap=cap, poll=0.02)


def test_a_boot_whose_logs_stop_growing_fails_after_the_stall_bound() -> None:
    assert wait(ConsoleVM([100]))[1].startswith("no progress for 0 s")


def test_a_boot_that_keeps_moving_is_waited_for_until_the_cap() -> None:
    assert wait(ConsoleVM(list(range(1, 100000))), cap=0.5)[1] == "no verdict 0 s after power-on (the cap)"


def test_a_boot_ends_at_its_verdict_or_when_cloud_init_ends_without_one() -> None:
    ready = "2026-12-02T10:00:00Z [70.1s] start\n2026-12-02T10:05:00Z [370.1s] ready 370.1s after boot\n"
    assert wait(ConsoleVM([1, 2, 3], log=ready)) == (ready, "")
    assert wait(ConsoleVM([1, 2, 3], status="status: error"))[1] == "cloud-init ended (status: error) with no verdict in the log"


# -- the rehearsal's bake (tests/boot/bake.py) --------------------------------------------------------------

def _build_content(tmp_path: Path) -> str:
    from conftest import synth_app

    documents = synth_app(tmp_path, image_source="baked")
    (pipeline,) = documents["opencode-image"]["resource"]["alicloud_ecs_image_pipeline"].values()
    return pipeline["build_content"]


def test_the_bake_runs_the_build_contents_one_command_and_reads_the_facts_in_the_same_session(tmp_path: Path) -> None:
    import bake

    content = _build_content(tmp_path)
    script = bake.bake_script(content, "opencode-workspace:1.18.33")
    assert bake.run_line(content) in script.splitlines()  # the command Image Builder runs, unchanged
    assert script.index(bake.run_line(content)) < script.index("rehearsal-fact: machine-id bytes")
    assert script.rstrip().endswith('[ "$status" = 0 ] && systemctl poweroff --no-block\nexit "$status"')
    with pytest.raises(ValueError, match="not one RUN line"):
        bake.run_line("RUN true\nRUN false")
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_the_seal_check_names_what_was_left() -> None:
    import bake

    clean = ("rehearsal-fact: exit 0\nrehearsal-fact: machine-id bytes 0\nrehearsal-fact: ssh host keys 0\n"
             "rehearsal-fact: authorized keys 0\nrehearsal-fact: cloud-init instance absent\nrehearsal-fact: cloud-init logs 0\n"
             "rehearsal-fact: apt lists 0\nrehearsal-fact: caddy enabled disabled\nrehearsal-fact: squid enabled disabled\n"
             "rehearsal-fact: workspace image sha256:abc\nrehearsal-fact: recipe 0123456789ab\n")
    facts = bake.facts_in("apt-get output\n" + clean)
    assert facts["exit"] == "0" and facts["recipe"] == "0123456789ab" and bake.sealed(facts) == []
    left = bake.facts_in(clean.replace("ssh host keys 0", "ssh host keys 6").replace("caddy enabled disabled", "caddy enabled enabled"))
    assert bake.sealed(left) == ["ssh host keys: 6", "caddy enabled: enabled"]
    assert bake.sealed({}) != []  # nothing read is not clean
