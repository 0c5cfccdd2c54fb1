"""scripts/rehearse-boot: the project's own user-data, exactly as Terraform sends it, boots a Debian 13
VM under QEMU to an authenticated OpenCode login. See docs/development/boot-rehearsal.md ("First boot, rehearsed").

What the VM reaches: the stub cloud's services on the host's loopback (the metadata service, OOS and ECS,
the ACME server, a registry serving the container base image), and, through QEMU's user network, whatever
this host reaches: Debian's archive and the npm registry, which the first boot installs from (as an ECS
instance reaches them through the internet). Nothing else is simulated or cut off.

Sequence (one Terraform state on the stub provider, as a user's deploys would go):
  1. deploy settings A (an OpenAI-compatible provider, OpenCode 1.18.32, use_github_token) on the public
     image: a from-scratch first boot (the bake recipe, then the bootstrap); check; the GitHub token reaches
     the agent; the metadata control (the firewall rule out and back).
  2. the bake (tests/boot/bake.py): the image stack on the stub; its build content (the recipe, --seal) runs in
     the base image, which powers off; its disk becomes the baked image (cached by the recipe's digest).
  3. redeploy with the defaults on the baked image (OpenCode 1.18.33, idle stop, egress allowlist): Terraform
     replaces the instance and keeps the data disk; boot a NEW boot disk of the baked image on the SAME data
     disk; check, incl. that this boot ran no bake and the workspace files written in step 1; egress; the
     negative control (a root-only opencode.json must fail the config check for its reason, and pass again
     once undone); reboot (a new boot id); the idle stop; a restart from stopped (power-off, power-on).
Every check has a control that shows it can fail (the secret search finds a planted secret first).
Prints one PASS/FAIL line per check, the bootstrap's phase times and each step's time; every step is
bounded and ends in a FAIL line, and the summary always prints. Keeps the work folder on failure.
Exit status 0 when every check passed, 1 otherwise; where QEMU can't run, one SKIP line and 0, or under
CI=true a FAIL line and 1."""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests" / "harness"), str(ROOT / "tests")]

import bake  # noqa: E402
import images  # noqa: E402
import yaml  # noqa: E402
import vendor  # noqa: E402
from cloud_sim import Rehearsal, build_mirror, environment  # noqa: E402
from opencode_alicloud.instance.layout import ACCESS_LOG, GITHUB_TOKEN_ENV, PASSWORD_ENV  # noqa: E402
from opencode_cli.boot import verdict  # noqa: E402
from fake_alibaba import Cloud, MetadataHandler, RpcHandler, parameters_from_state, serve  # noqa: E402
from pki import TestCA  # noqa: E402
from support import applied_user_data, written_files  # noqa: E402
from vm import METADATA, OOS_ADDRESS, Machine, accelerator, free_port, qemu  # noqa: E402

TEST_SECRETS = {"model_api_key": "sk-rehearsal-DO-NOT-LEAK-4d1e", "github_token": "ghp_rehearsalDONOTLEAK42"}
GITHUB_SETTING = "OPENCODE_ALICLOUD_USE_GITHUB_TOKEN"
COMPATIBLE = {"OPENCODE_ALICLOUD_MODEL__PROVIDER": "openai-compatible",
              "OPENCODE_ALICLOUD_MODEL__BASE_URL": "https://llm.rehearsal.test/v1",
              "OPENCODE_ALICLOUD_MODEL__MODEL": "qwen3-coder",
              "OPENCODE_ALICLOUD_OPENCODE_VERSION": "1.18.32",
              GITHUB_SETTING: "true"}
# A boot's bounds follow its progress (a slower machine is not a failure): it fails after BOOT_STALL seconds in
# which none of cloud-init's, the bootstrap's or the image build's logs grew, or BOOT_CAP
# seconds after power-on whatever it is doing. (Measured under TCG on 2 cores, 2026-12-02: 11 min to ready from
# scratch, 2 min on the baked image.)
BOOT_STALL = 10 * 60
BOOT_CAP = 45 * 60
MARKER = "/data/workspace/rehearsal-marker.txt"
IDLE_MINUTES = 10  # the setting's least value: the second deployment stops itself when idle this long
# Deploy 2: the defaults, on the baked image, with the idle stop and the egress allowlist.
BAKED = {"OPENCODE_ALICLOUD_IMAGE_SOURCE": "baked", "OPENCODE_ALICLOUD_IDLE_STOP_MINUTES": str(IDLE_MINUTES),
         "OPENCODE_ALICLOUD_EGRESS__MODE": "allowlist"}
COMPOSE = "/etc/opencode/compose.yaml"
OPENCODE_LOGS = "/data/opencode/share/log"  # the container's ~/.local/share/opencode/log
# A boot's progress, in bytes of its logs (the image build logs each step as it runs), then cloud-init's status.
PROGRESS = ("cat /var/log/cloud-init-output.log /var/log/opencode-bake.log /var/log/opencode-bootstrap.log /var/log/opencode-image-build.log "
            "2>/dev/null | wc -c; cloud-init status")
CONTAINER = "opencode-opencode-1"
# Where no secret may be: name -> the command that prints it in the VM (each must succeed).
SECRET_SOURCES = {
    "user-data (the gzip ECS hands over, decompressed)": "zcat /var/lib/cloud/instance/user-data.txt",
    "/var/lib/cloud/instance/user-data.txt.i": "cat /var/lib/cloud/instance/user-data.txt.i",
    "/var/log/cloud-init.log": "cat /var/log/cloud-init.log",
    "/var/log/cloud-init-output.log": "cat /var/log/cloud-init-output.log",
    "/var/log/opencode-bootstrap.log": "cat /var/log/opencode-bootstrap.log",
    "/var/log/opencode-bake.log (this boot's bake, or the image's)": "cat /var/log/opencode-bake.log",
    "the journal (every unit, this boot; -a: no line shown as a blob)": "journalctl -b -a --no-pager",
    "the container's output (docker logs)": f"docker logs {CONTAINER} 2>&1",
    f"{ACCESS_LOG} (Caddy's)": f"cat {ACCESS_LOG}",
    f"{OPENCODE_LOGS}/*.log (OpenCode's own logs)": f"cat {OPENCODE_LOGS}/*.log",
}
SQUID_LOGS = {"/var/log/squid/access.log (with egress allowlist)": "cat /var/log/squid/access.log",
              "/var/log/squid/cache.log": "cat /var/log/squid/cache.log"}


def say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Report:
    results: list[tuple[bool, str, str]] = field(default_factory=list)
    quiet: bool = False  # a negative control's own checks are reported by the control

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        ok = bool(ok)
        self.results.append((ok, name, detail))
        if not self.quiet:
            say(f"{'PASS' if ok else 'FAIL'}  {name}" + (f": {detail}" if detail else ""))
        return ok

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(ok for ok, _, _ in self.results)


@dataclass(frozen=True)
class Deployment:
    """What Terraform made of one deploy on the stub: the values the VM and the checks need."""

    user_data: str  # as Terraform sent it: base64 of the gzip of the cloud-config (host.gzipped_user_data)
    instance_id: str
    data_disk_id: str
    region: str
    role: str
    site: str
    password: str
    parameters: dict[str, str]
    settings: dict[str, str]
    opencode_version: str  # as the user-data's compose file names the workspace image
    image_id: str  # the system image Terraform gave the instance
    gate: str  # the health gate's command, as Cloud Assistant would hand it to the instance

    @classmethod
    def from_state(cls, state: dict, settings: dict[str, str]) -> Deployment:
        first = {r["type"]: r["instances"][0]["attributes"] for r in state["resources"] if r["mode"] == "managed"}
        instance = first["alicloud_instance"]
        outputs = state["outputs"]
        text = applied_user_data(instance["user_data"])
        return cls(user_data=instance["user_data"], instance_id=instance["id"],
                   data_disk_id=first["alicloud_ecs_disk"]["id"],
                   region=_env_line(text, "REGION"), role=_env_line(text, "ROLE"),
                   site=outputs["url"]["value"].removeprefix("https://"), password=outputs["password"]["value"],
                   parameters=parameters_from_state(state), settings=settings,
                   opencode_version=_compose_image(text).rpartition(":")[2], image_id=instance["image_id"],
                   gate=base64.b64decode(first.get("alicloud_ecs_command", {}).get("command_content", "")).decode())


def _compose_image(user_data: str) -> str:
    """The workspace image the user-data's compose file runs (opencode-workspace:<version>, baked)."""
    compose = yaml.safe_load(written_files(user_data)[COMPOSE]["content"])
    return compose["services"]["opencode"]["image"]


def _env_line(user_data: str, name: str) -> str:
    """The value of a `NAME=value` line of a file in the user-data (bootstrap.env, the Dockerfile's ARG)."""
    match = re.search(rf"^\s*{name}=(\S+)$", user_data, re.MULTILINE)
    if not match:
        raise SystemExit(f"FAIL  the user-data has no {name}= line")
    return match.group(1)


class Stage:
    """The host side: stub-provider Terraform, the local registry, Pebble, the fake endpoints."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.servers: list = []
        self.machine: Machine | None = None  # stopped by close(), whatever happened
        self.ca = TestCA.create(workdir / "pki")
        # The account's own images (alicloud_images, owners = "self"): none until the rehearsal's bake made one.
        self.own_images = workdir / "account-images.json"
        # The account's RAM roles: none until the administrator's stack (opencode-roles) is applied in deploy().
        self.env = {**environment(build_mirror(workdir / "sim")), "STUB_PROVIDER_IMAGES": str(self.own_images),
                    "STUB_PROVIDER_ROLES": str(workdir / "account-roles.json")}
        self.terraform = Rehearsal(workdir / "tf", {**self.env, **{f"TF_VAR_{k}": v for k, v in TEST_SECRETS.items()}})
        self.image_terraform = Rehearsal(workdir / "tf-image", self.env)
        self.roles_terraform = Rehearsal(workdir / "tf-roles", self.env)

    def synth(self, settings: dict[str, str]) -> Path:
        """main.py with these settings; the folder of its stacks."""
        outdir = self.workdir / "cdktf.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_ALICLOUD_")}
        env.update(settings, CDKTF_OUTDIR=str(outdir), OPENCODE_ALICLOUD_STATE_DIR=str(self.workdir / "state"))
        result = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True,
                                timeout=300, cwd=ROOT)
        if result.returncode != 0:
            raise SystemExit(f"FAIL  synth: {result.stderr.strip()[-2000:]}")
        return outdir / "stacks"

    def deploy(self, settings: dict[str, str]) -> Deployment:
        stacks = self.synth(settings)
        # The administrator's stack first (the workspace's plan stops by name without its roles), then the workspace.
        self.roles_terraform.load(json.loads((stacks / "opencode-roles" / "cdk.tf.json").read_text()))
        self.roles_terraform.apply()
        self.terraform.load(json.loads((stacks / "opencode" / "cdk.tf.json").read_text()))
        self.terraform.apply()
        return Deployment.from_state(self.terraform.state(), settings)

    def deploy_image_stack(self, settings: dict[str, str]) -> tuple[str, str]:
        """The image stack applied on the stub: (the pipeline's image name, its build content, as Terraform sent it)."""
        stacks = self.synth(settings)
        self.image_terraform.load(json.loads((stacks / "opencode-image" / "cdk.tf.json").read_text()))
        self.image_terraform.apply()
        (pipeline,) = [r["instances"][0]["attributes"] for r in self.image_terraform.state()["resources"]
                       if r["type"] == "alicloud_ecs_image_pipeline"]
        return pipeline["image_name"], pipeline["build_content"]

    def image_baked(self, image_name: str) -> str:
        """The bake done: the account has the image, under Image Builder's name for it. Returns its id."""
        image_id = "m-rehearsal" + hashlib.sha256(image_name.encode()).hexdigest()[:11]
        self.own_images.write_text(json.dumps([{"id": image_id, "name": f"{image_name}_exec-rehearsal0000000000"}]))
        return image_id

    def start_registry(self) -> int:
        port = free_port()
        config = self.workdir / "registry.yml"
        config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.workdir / 'registry'}\n"
                          f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: warn\n")
        self._spawn(["docker-registry", "serve", str(config)], "registry.log")
        _wait_http(f"http://127.0.0.1:{port}/v2/")
        images.push(images.base_image_layout(say), f"127.0.0.1:{port}", say)
        return port

    def start_pebble(self) -> tuple[int, Path]:
        port, management = free_port(), free_port()
        cert, key = self.ca.issue([vendor.ACME_HOST, "localhost"], self.workdir / "pki" / "pebble")
        config = self.workdir / "pebble.json"
        config.write_text(json.dumps({"pebble": {
            "listenAddress": f"127.0.0.1:{port}", "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(cert), "privateKey": str(key), "httpPort": 5002, "tlsPort": 5001,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
        # Pebble validates no challenge (the VM's name resolves nowhere here): ALWAYS_VALID.
        self._spawn(["pebble", "-config", str(config), "-strict"], "pebble.log",
                    {"PEBBLE_VA_ALWAYS_VALID": "1", "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"})
        roots = self.workdir / "pki" / "acme-roots.pem"
        _wait_http(f"https://localhost:{management}/roots/0", cafile=self.ca.cert, into=roots)
        return port, roots

    def start_cloud(self, deployment: Deployment) -> tuple[Cloud, dict[str, int]]:
        cloud = Cloud(instance_id=deployment.instance_id, region=deployment.region, role=deployment.role,
                      parameters=deployment.parameters)
        cert = self.ca.issue([f"oos.{deployment.region}.aliyuncs.com", f"ecs.{deployment.region}.aliyuncs.com"],
                             self.workdir / "pki" / "oos")
        metadata, oos = serve(MetadataHandler, cloud), serve(RpcHandler, cloud, tls=cert)
        self.servers += [metadata, oos]
        return cloud, {f"{METADATA}:80": metadata.port, f"{OOS_ADDRESS}:443": oos.port}

    def _spawn(self, command: list[str], log: str, env: dict[str, str] | None = None) -> None:
        self.processes.append(subprocess.Popen(command, stdout=open(self.workdir / log, "ab"), stderr=subprocess.STDOUT,
                                               env={**os.environ, **(env or {})}))

    def own(self, machine: Machine | None) -> None:
        self.machine = machine

    def close(self) -> None:
        if self.machine:
            self.machine.stop()
        for server in self.servers:
            server.close()
        for process in self.processes:
            process.terminate()


def _wait_http(url: str, cafile: Path | None = None, into: Path | None = None, seconds: int = 30) -> None:
    import ssl
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                if into:
                    into.write_bytes(response.read())
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def seed(workdir: Path, deployment: Deployment, vendor_settings: vendor.VendorSettings) -> Path:
    # As ECS hands it to the instance: Terraform's base64 decoded, i.e. the gzip, which cloud-init decompresses.
    return make_seed(workdir, deployment.instance_id, base64.b64decode(deployment.user_data), vendor_settings)


def make_seed(workdir: Path, instance_id: str, user_data: bytes, vendor_settings: vendor.VendorSettings) -> Path:
    folder = workdir / f"seed-{instance_id}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "user-data").write_bytes(user_data)
    (folder / "meta-data").write_text(f"instance-id: {instance_id}\nlocal-hostname: {instance_id}\n")
    (folder / "vendor-data").write_text(vendor.vendor_data(vendor_settings))
    image = folder / "seed.img"
    subprocess.run(["cloud-localds", "-V", str(folder / "vendor-data"), str(image), str(folder / "user-data"),
                    str(folder / "meta-data")], check=True, timeout=120)
    return image


class Checks:
    def __init__(self, machine: Machine, key: Path, deployment: Deployment, acme_roots: Path, report: Report) -> None:
        self.machine, self.key, self.deployment, self.roots, self.report = machine, key, deployment, acme_roots, report

    def ssh(self, command: str, stdin: str | None = None, timeout: int = 180) -> subprocess.CompletedProcess[str]:
        return self.machine.ssh(self.key, command, timeout, stdin)  # bounded: exit 124 when it times out

    def bootstrap_log(self) -> str:
        return self.ssh("cat /var/log/opencode-bootstrap.log 2>/dev/null").stdout

    def wait_for_bootstrap(self, started: float, stall: float = BOOT_STALL, cap: float = BOOT_CAP,
                           poll: float = 15) -> tuple[str, str]:
        """(the bootstrap's log, why the wait ended without a verdict or ''). The bound follows progress: the
        wait goes on while cloud-init's output, the bootstrap's or the image build's log grows (the build logs
        each step), and ends after `stall` s without growth or `cap` s after power-on, whichever comes first.
        (Not the serial console: each of these polls logs in over SSH, which systemd announces there, so it
        always grows.)"""
        log, progress, moved = "", -1, time.monotonic()
        while True:
            now = time.monotonic()
            if not self.machine.running():
                return log, "the VM is no longer running"
            if now - started > cap:
                return log, f"no verdict {cap:.0f} s after power-on (the cap)"
            if now - moved > stall:
                return log, f"no progress for {stall:.0f} s (cloud-init's, the bootstrap's and the image build's logs unchanged)"
            log = self.bootstrap_log() or log
            if verdict(log.splitlines()) or "Traceback" in log:
                return log, ""
            answer = self.ssh(PROGRESS, timeout=60)
            probe = answer.stdout.splitlines()
            # (`cloud-init status` exits 1 on error: its line counts whatever the exit status.)
            if probe[1:] and probe[1].strip() in ("status: error", "status: done"):
                log = self.bootstrap_log() or log  # the verdict may have been written since the read above
                return log, "" if verdict(log.splitlines()) else f"cloud-init ended ({probe[1].strip()}) with no verdict in the log"
            if probe and probe[0].strip().isdigit():  # a probe that printed no size is no progress
                current = int(probe[0])
                if current != progress:
                    progress, moved = current, now
            time.sleep(poll)

    def login(self, password: str | None) -> str:
        """The HTTP status of /global/health through the proxy, from outside the VM (TLS verified)."""
        config = self.machine.workdir / "curl.cfg"
        config.write_text(f'user = "opencode:{password}"\n' if password else "")
        config.chmod(0o600)
        try:
            result = subprocess.run(
                ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-K", str(config),
                 "--cacert", str(self.roots), "--resolve", f"{self.deployment.site}:{self.machine.https_port}:127.0.0.1",
                 f"https://{self.deployment.site}:{self.machine.https_port}/global/health"],
                capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return "curl timed out"
        finally:
            config.unlink()
        return result.stdout.strip() or result.stderr.strip()

    def all(self, log: str) -> None:
        r, d = self.report, self.deployment
        last = log.strip().splitlines()[-1] if log.strip() else "(no bootstrap log)"
        # As the CLI judges a boot: its last verdict line (the idle check writes to the same log after it).
        ended = verdict(log.splitlines())
        r.check("bootstrap log ends healthy", ended == "ready", f"{ended or 'no verdict'}; last line: {last}")
        with_password, without = self.login(d.password), self.login(None)
        r.check("HTTPS login: 200 with the password, 401 without", (with_password, without) == ("200", "401"),
                f"{with_password} / {without} at https://{d.site} (certificate from the ACME server, verified)")
        device = f"/dev/disk/by-id/virtio-{d.data_disk_id.removeprefix('d-')}"
        mounted = self.ssh(f"findmnt -n -o SOURCE /data; readlink -f {device}").stdout.split()
        r.check("data disk mounted at /data", len(mounted) == 2 and mounted[0] == mounted[1],
                f"{' '.join(mounted)} ({device})")
        self.agent_config()
        self.metadata()
        self.no_secrets()

    def agent_findings(self) -> AgentConfig | str:
        """`opencode debug config` as the container's user: its uid, version and what differs from the
        managed opencode.json; or what was printed instead when that could not be read."""
        run = self.ssh(f"docker compose -f {COMPOSE} exec -T opencode sh -c 'id -u; opencode --version; opencode debug config'")
        lines = run.stdout.splitlines()
        try:
            uid, version, config = lines[0], lines[1].strip(), json.loads("\n".join(lines[2:]))
        except (IndexError, ValueError):
            return (run.stdout + run.stderr).strip()[-300:] or f"exit {run.returncode}, nothing printed"
        expected = json.loads(self.ssh("cat /etc/opencode/opencode.json").stdout or "{}")
        problems = [f"{key} is {config.get(key)!r}, configured {expected.get(key)!r}"
                    for key in ("model", "permission") if config.get(key) != expected.get(key)]
        missing = set(expected.get("provider", {})) - set(config.get("provider", {}))
        problems += [f"provider {', '.join(sorted(missing))} missing"] if missing else []
        return AgentConfig(uid, version, problems, config)

    def agent_config(self, name: str = "agent config as uid 1000 (opencode debug config)") -> bool:
        """The configured model, provider and permissions as the agent sees them (what a root-only
        opencode.json would silently drop), as uid 1000 on the deployed version."""
        found = self.agent_findings()
        if isinstance(found, str):
            return self.report.check(name, False, found)
        problems = [*([f"uid {found.uid}"] if found.uid != "1000" else []),
                    *([f"version {found.version}, expected {self.deployment.opencode_version}"]
                      if found.version != self.deployment.opencode_version else []), *found.problems]
        config = found.config
        return self.report.check(name, not problems, "; ".join(problems) or (
            f"uid 1000, opencode {found.version}, model {config['model']}, "
            f"providers {', '.join(sorted(config['provider']))}, permission {config['permission']}"))

    def container_to_metadata(self) -> tuple[str, subprocess.CompletedProcess[str]]:
        """(the container's state, its curl for a metadata token). Directly (--noproxy): with egress allowlist
        the container's proxy would answer 403 itself (see egress())."""
        state = self.ssh(f"docker inspect -f '{{{{.State.Status}}}}' {CONTAINER}")
        curl = self.ssh(f"docker exec {CONTAINER} curl --noproxy '*' -sS -m 5 -o /dev/null -w '%{{http_code}}' -X PUT "
                        "-H 'X-aliyun-ecs-metadata-token-ttl-seconds: 60' http://100.100.100.200/latest/api/token")
        return (state.stdout.strip() or f"no container ({state.stderr.strip()[:60]})"), curl

    def metadata(self) -> None:
        """The container is running and its connection to the metadata service is refused (curl's exit 7:
        the firewall's reject, or no route from the internal network); the host gets the instance id with a token."""
        state, container = self.container_to_metadata()
        host = self.ssh("t=$(curl -sS -m 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 60' "
                        "http://100.100.100.200/latest/api/token) && "
                        "curl -sS -m 5 -H \"X-aliyun-ecs-metadata-token: $t\" http://100.100.100.200/latest/meta-data/instance-id")
        self.report.check("metadata: the running container is refused at 100.100.100.200 (curl exit 7), the host gets in with a token",
                          state == "running" and container.returncode == 7 and host.stdout.strip() == self.deployment.instance_id,
                          f"container {state}: curl exit {container.returncode} ({container.stdout.strip() or container.stderr.strip()[:80]}); "
                          f"host: {host.stdout.strip()[:40] or host.stderr.strip()[:80]}")

    def secret_values(self) -> dict[str, str]:
        """Every secret of this deployment, and the forms it could be written in: the test secrets given to
        Terraform, the web password, the upstream password made on the instance; passwords also as the
        base64 of `opencode:<password>` (a Basic authorization header)."""
        values = dict(TEST_SECRETS)  # every deploy is given both (TF_VAR_*), whether it uses the token or not
        values["web password"] = self.deployment.password
        upstream = self.ssh(f"sed -n 's/^{PASSWORD_ENV}=//p' /etc/opencode/upstream.env").stdout.strip()
        values["upstream password"] = upstream or "(unreadable: /etc/opencode/upstream.env)"
        for name in ("web password", "upstream password"):
            values[f"{name} (Basic header)"] = base64.b64encode(f"opencode:{values[name]}".encode()).decode()
        return values

    def secret_sources(self) -> dict[str, str | None]:
        """The text of every place a secret must not be (None where it could not be read)."""
        texts: dict[str, str | None] = {"serial console (host side)": self.machine.serial_since(0)}
        egress = self.deployment.settings.get("OPENCODE_ALICLOUD_EGRESS__MODE", "open") != "open"
        for name, command in {**SECRET_SOURCES, **(SQUID_LOGS if egress else {})}.items():
            run = self.ssh(command, timeout=300)
            texts[name] = run.stdout if run.returncode == 0 else None
        return texts

    def search_secrets(self, values: dict[str, str]) -> tuple[list[tuple[str, str]], list[str], dict[str, str | None]]:
        """(what was found where, what could not be read, the sources): an unreadable source, or an unreadable
        upstream password, is a place the search could not look."""
        sources = self.secret_sources()
        unread = [name for name, text in sources.items() if text is None]
        unread += ["/etc/opencode/upstream.env"] if values["upstream password"].startswith("(unreadable") else []
        return leaks(sources, values), unread, sources

    def no_secrets_again(self, when: str) -> None:
        """The same search, later (after the reboot: every unit started again)."""
        values = self.secret_values()
        found, unread, sources = self.search_secrets(values)
        self.report.check(f"no secret in any of those places {when}", not found and not unread,
                          f"found {found}" if found else f"unreadable: {', '.join(unread)}" if unread else
                          f"{len(values)} secret forms, {len(sources)} sources")

    def no_secrets(self) -> None:
        """No secret value in any log or the user-data: a positive control first (a secret planted in
        cloud-init's output log must be found there, and nowhere else), then the same search without it."""
        values = self.secret_values()
        planted = "/var/log/cloud-init-output.log"
        size = self.ssh(f"stat -c %s {planted}").stdout.strip()
        plant = self.ssh(f"printf 'rehearsal positive control: %s\\n' \"$(cat)\" >>{planted}", stdin=TEST_SECRETS["model_api_key"])
        found = leaks(self.secret_sources(), values)
        self.report.check("positive control: a secret planted in cloud-init's output log is found there",
                          plant.returncode == 0 and size.isdigit() and found == [("cloud-init-output.log", "model_api_key")],
                          f"found {found or 'nothing'}")
        removed = self.ssh(f"truncate -s {size} {planted}") if size.isdigit() else None
        found, unread, sources = self.search_secrets(values)
        self.report.check("no secret in the user-data, the serial console, the journal, cloud-init's, the bootstrap's, "
                          "the image build's, Squid's, Caddy's or OpenCode's logs, or the container's output",
                          removed is not None and removed.returncode == 0 and not found and not unread,
                          f"found {found}" if found else f"unreadable: {', '.join(unread)}" if unread else
                          f"{len(values)} secret forms ({', '.join(values)}), {len(sources)} sources, "
                          f"{sum(len(text or '') for text in sources.values()) // 1024} KiB searched")

    def github_token_in_container(self) -> None:
        """use_github_token: the token reaches the agent's environment (compared by hash: never printed)."""
        digest = hashlib.sha256(TEST_SECRETS["github_token"].encode()).hexdigest()
        run = self.ssh(f"docker exec {CONTAINER} printenv {GITHUB_TOKEN_ENV} | tr -d '\\n' | sha256sum")
        self.report.check(f"use_github_token: the token reaches the agent as {GITHUB_TOKEN_ENV} (by its hash)",
                          run.stdout.split()[:1] == [digest], "the same hash" if run.stdout.split()[:1] == [digest]
                          else f"exit {run.returncode}: {run.stderr.strip()[:80] or 'another value'}")


@dataclass(frozen=True)
class AgentConfig:
    uid: str
    version: str
    problems: list[str]  # what differs from the managed opencode.json
    config: dict


def leaks(sources: dict[str, str | None], values: dict[str, str]) -> list[tuple[str, str]]:
    """(source, secret name) for every secret value found in a source's text, sorted. The search runs
    here, on the host, on texts copied out of the VM: no shell pipeline can turn the texts into the
    patterns (as `... | grep -f /dev/stdin` did)."""
    found = {(source.rsplit("/", 1)[-1], name) for source, text in sources.items() if text
             for name, value in values.items() if value and value in text}
    return sorted(found)


def phases(log: str) -> list[tuple[str, float]]:
    """(phase, seconds after boot) from the bootstrap log's `[uptime s] phase` lines."""
    found = []
    for line in log.splitlines():
        match = re.match(r"\S+ \[([\d.]+)s\] (.*)$", line)
        if match:
            found.append((match.group(2), float(match.group(1))))
    return found


def print_phases(log: str, bake_log: str, baked: bool) -> None:
    """Each phase with its time after power-on and how long it took: the bake's (when this boot ran it), then
    the bootstrap's."""
    bake_steps = [] if baked else [(f"bake: {name}", at) for name, at in phases(bake_log)]
    steps = bake_steps + phases(log)
    say("phase times (seconds after power-on; from /var/log/opencode-bake.log and /var/log/opencode-bootstrap.log):")
    for (name, at), following in zip(steps, [*steps[1:], None]):
        took = f"{following[1] - at:7.1f}" if following else "       "
        say(f"  {at:7.1f}  {took}  {name}")
    if baked:
        say("  (no bake on this boot: the system image was baked)")


def boot(stage: Stage, machine: Machine, deployment: Deployment, vendor_settings: vendor.VendorSettings,
         key: Path, roots: Path, report: Report, new_disk: bool) -> tuple[Checks, bool]:
    """Power on with this deployment's user-data and run every check; (the checks, whether it became ready)."""
    machine.seed = seed(stage.workdir, deployment, vendor_settings)
    machine.data_serial = deployment.data_disk_id.removeprefix("d-")
    if new_disk:
        machine.new_boot_disk()
    started = time.monotonic()
    machine.start()
    checks = Checks(machine, key, deployment, roots, report)
    log, stopped = checks.wait_for_bootstrap(started)
    took = time.monotonic() - started
    say(f"booted {deployment.instance_id}: bootstrap ended {took:.0f} s after power-on ({machine.accel})")
    ready = report.check(f"{deployment.instance_id} boots to a verdict within its bounds (stall {BOOT_STALL} s, cap {BOOT_CAP} s)",
                         not stopped, stopped or f"{took:.0f} s")
    print_phases(log, checks.ssh("cat /var/log/opencode-bake.log 2>/dev/null").stdout, machine.image.disk_format == "qcow2")
    if not ready:
        say(f"       the boot's last console lines: {' | '.join(machine.serial_since(0).strip().splitlines()[-3:])[-400:]}")
        return checks, False
    checks.all(log)
    return checks, verdict(log.splitlines()) == "ready"


def baked_boot(checks: Checks, digest: str) -> None:
    """The baked image's first boot only configured: no bake and no package install in it, the workspace image
    found in the image, and the image made by this recipe (its bake log names the digest)."""
    output = checks.ssh("cat /var/log/cloud-init-output.log").stdout
    log = checks.bootstrap_log()
    baked_log = checks.ssh("cat /var/log/opencode-bake.log").stdout
    ran = [word for word in ("opencode-bake", "apt-get", "Setting up ", "docker build") if word in output]
    checks.report.check("baked boot: no bake and no package install on this boot; the workspace image came with the "
                        f"system image, made by recipe {digest}",
                        not ran and "is baked in" in log and f"recipe {digest}:" in baked_log and "baked: " in baked_log,
                        f"in cloud-init's output: {', '.join(ran) or 'none of the bake'}; bootstrap: "
                        f"{'the image is baked in' if 'is baked in' in log else 'NO baked image line'}; bake log: "
                        f"{'recipe ' + digest if f'recipe {digest}:' in baked_log else 'another recipe or none'}")


def restart(checks: Checks, key: Path, deadline_seconds: int = 15 * 60) -> None:
    """What an idle-stopped workspace does when it is started again: a clean power-off, then power-on of the same
    disks; the login healthy again through the proxy (no bootstrap runs: everything it set up is enabled)."""
    machine, r = checks.machine, checks.report
    before = checks.bootstrap_log().count("] start\n")
    clean = machine.shutdown(key)
    # QEMU's serial file starts anew at power-on: the console so far is kept beside it, and the new one is this boot's.
    machine.serial.rename(machine.workdir / "serial-before-restart.log")
    offset = 0
    started = time.monotonic()
    machine.start()
    status = ""
    while time.monotonic() < started + deadline_seconds and machine.running():
        status = checks.login(checks.deployment.password)
        if status == "200":
            break
        time.sleep(5)
    took = time.monotonic() - started
    kept = checks.ssh(f"cat {MARKER}").stdout.strip() if status == "200" else ""
    banner = machine.serial_since(offset).count("Linux version")
    again = checks.bootstrap_log().count("] start\n") - before
    r.check("restart from stopped: a clean power-off, then power-on to a healthy login, the workspace files kept, "
            "no bootstrap run again", clean and status == "200" and banner >= 1 and bool(kept) and again == 0,
            f"{'clean' if clean else 'NOT a clean'} power-off; login {status or 'no answer'} {took:.0f} s after power-on; "
            f"{banner} kernel banner(s) since; {MARKER}: {'kept' if kept else 'missing'}; bootstrap runs since: {again}")
    rules_before_docker(checks, "after a restart")
    checks.metadata()  # and the rule is in place now
    say(f"time: restart from stopped: {took:.0f} s from power-on to the login answering 200 (from the host, polled every 5 s)")


def negative_control(checks: Checks) -> None:
    """A root-only opencode.json (the security finding) must fail the agent-config check for its own reason:
    the container up and answering as uid 1000 on the deployed version, with the configured model or provider
    missing. Then the mode is restored and the same check must pass again."""
    recreate = f"docker compose -f {COMPOSE} up -d --force-recreate --wait opencode"
    broken = checks.ssh(f"chmod 0600 /etc/opencode/opencode.json && {recreate}", timeout=420)
    say("negative control: opencode.json made root-only (0600), as before the security fix:")
    found = checks.agent_findings()
    expected = checks.deployment.opencode_version
    specific = (broken.returncode == 0 and isinstance(found, AgentConfig) and found.uid == "1000"
                and found.version == expected and any(p.startswith(("model ", "provider ")) for p in found.problems))
    checks.report.check(f"negative control: a root-only opencode.json fails the agent-config check (model or provider "
                        f"missing, as uid 1000 on opencode {expected})", specific,
                        f"compose exit {broken.returncode}; " + (found if isinstance(found, str) else
                        f"uid {found.uid}, opencode {found.version}: {'; '.join(found.problems) or 'no difference'}"))
    restored = checks.ssh(f"chmod 0644 /etc/opencode/opencode.json && {recreate}", timeout=420)
    checks.report.check("negative control undone: compose brings the agent back", restored.returncode == 0,
                        f"exit {restored.returncode} {restored.stderr.strip()[-120:]}")
    checks.agent_config("negative control undone: the agent-config check passes again (opencode.json 0644)")


def health_gate(checks: Checks, when: str, control: bool) -> None:
    """The health gate's command as Cloud Assistant runs it (sh, as root): on an instance whose bootstrap said ready
    it passes at once. Its controls, on this VM's own cloud-init: without the ready file it waits (killed at the
    bound, 124); with cloud-init answering `status: error` (a `cloud-init` first on PATH, in root's home: /run is
    noexec on Debian 13), it fails with the logs' tail."""
    gate = checks.deployment.gate
    passed = checks.ssh("sh -s", stdin=gate, timeout=60)
    checks.report.check(f"health gate {when}: the command Cloud Assistant would run passes on this instance's ready",
                        bool(gate) and passed.returncode == 0 and passed.stdout.startswith("ready "),
                        f"exit {passed.returncode}: {passed.stdout.strip()[-160:] or 'no command in the state'}")
    if not control:
        return
    ready = "/var/lib/opencode-ready-seconds"
    hidden = checks.ssh(f"mv {ready} {ready}.control && timeout 15 sh -s", stdin=gate, timeout=60)
    failed = checks.ssh("mkdir -p /root/gate-control && printf '#!/bin/sh\\necho \"status: error\"\\n' "
                        ">/root/gate-control/cloud-init && chmod 755 /root/gate-control/cloud-init && "
                        "PATH=/root/gate-control:$PATH timeout 60 sh -s", stdin=gate, timeout=90)
    restored = checks.ssh(f"mv {ready}.control {ready} && rm -rf /root/gate-control")
    checks.report.check("health gate control: no ready file waits (killed at the bound, 124); cloud-init's error "
                        "fails it (exit 1, with the logs' tail)",
                        hidden.returncode == 124 and failed.returncode == 1 and "first boot failed" in failed.stdout
                        and restored.returncode == 0,
                        f"no ready file: exit {hidden.returncode}; cloud-init error: exit {failed.returncode}; "
                        f"restored: exit {restored.returncode}")


def metadata_control(checks: Checks) -> None:
    """The metadata check can see a container that reaches the service: with the firewall's rule taken
    out, the container gets a token (HTTP 200); with the rule back, it is refused again (exit 7)."""
    rule = "DOCKER-USER -d 100.100.100.200 -j REJECT"
    dropped = checks.ssh(f"iptables -D {rule}")
    _, open_curl = checks.container_to_metadata()
    restored = checks.ssh("systemctl restart opencode-imds-block.service && iptables -C " + rule)
    _, closed_curl = checks.container_to_metadata()
    checks.report.check("metadata control: without the firewall rule the container gets a token (200); with it back, exit 7",
                        dropped.returncode == 0 and open_curl.stdout.strip() == "200" and restored.returncode == 0
                        and closed_curl.returncode == 7,
                        f"rule removed (exit {dropped.returncode}): {open_curl.stdout.strip() or 'curl exit ' + str(open_curl.returncode)}; "
                        f"restored (exit {restored.returncode}): curl exit {closed_curl.returncode}")


def reboot(checks: Checks, deadline_seconds: int = 15 * 60) -> None:
    """A real reboot: a new kernel boot id and a second kernel banner on the serial console, then the login
    healthy again and the workspace file written before it kept."""
    r, machine = checks.report, checks.machine
    marker = MARKER.replace(".txt", "-reboot.txt")
    before = f"written before a reboot at {time.time():.0f}\n"
    checks.ssh(f"cat > {marker} && chown 1000:1000 {marker} && sync", stdin=before)
    boot_id = checks.ssh("cat /proc/sys/kernel/random/boot_id").stdout.strip()
    offset = machine.serial_size()
    asked = checks.ssh("systemctl reboot", timeout=60)  # the connection may drop as it goes down (exit 255)
    started, new_id = time.monotonic(), ""
    while time.monotonic() < started + deadline_seconds and machine.running():
        answer = checks.ssh("cat /proc/sys/kernel/random/boot_id", timeout=30)
        if answer.returncode == 0 and answer.stdout.strip() not in ("", boot_id):
            new_id = answer.stdout.strip()
            break
        time.sleep(5)
    banner = machine.serial_since(offset).count("Linux version")
    r.check("reboot: a new boot id and a second kernel boot on the serial console",
            bool(boot_id) and bool(new_id) and banner >= 1,
            f"systemctl reboot exit {asked.returncode}; boot id {boot_id[:8] or '?'} -> {new_id[:8] or 'unchanged'}; "
            f"{banner} kernel banner(s) on the console since")
    status = ""
    while new_id and time.monotonic() < started + deadline_seconds:
        status = checks.login(checks.deployment.password)
        if status == "200":
            break
        time.sleep(10)
    after = checks.ssh(f"cat {marker}").stdout if new_id else ""
    r.check("after a reboot: healthy again with the same data", status == "200" and after == before,
            f"login {status or 'no answer'} {time.monotonic() - started:.0f} s after the reboot was asked; "
            f"workspace file {'kept' if after == before else 'LOST'}")
    rules_before_docker(checks, "after a reboot")


def rules_before_docker(checks: Checks, when: str) -> None:
    """The metadata and egress firewall units were active before Docker's daemon (which starts the containers)
    was started, by systemd's own monotonic timestamps of this boot."""
    units = ["opencode-imds-block.service"] + (["opencode-egress.service"] if checks.deployment.settings.get(
        "OPENCODE_ALICLOUD_EGRESS__MODE", "open") != "open" else [])
    answer = checks.ssh("; ".join(f"systemctl show -p ActiveEnterTimestampMonotonic --value {unit}" for unit in units)
                        + "; systemctl show -p ExecMainStartTimestampMonotonic --value docker.service").stdout.split()
    times = [int(value) if value.isdigit() else 0 for value in answer]
    ok = len(times) == len(units) + 1 and all(0 < t <= times[-1] for t in times[:-1])
    checks.report.check(f"{when}: the firewall rules exist before Docker starts the agent ({', '.join(units)} before docker.service)",
                        ok, ", ".join(f"{name} {t / 1e6:.2f} s" for name, t in zip([*units, "docker.service (its start)"], times)))


def egress(checks: Checks) -> None:
    """egress.mode = allowlist, from inside the agent's container: an allowed name (the npm registry, reachable
    from here) through the proxy; a name not on the list and the metadata service through the proxy refused
    (403), anything direct refused (no route); Squid's access log holds each decision."""
    curl = "docker exec opencode-opencode-1 curl -sS -m 30 -o /dev/null -w '%{http_code} %{http_connect}' "
    allowed = checks.ssh(curl + "https://registry.npmjs.org/opencode-ai").stdout.split()
    denied = checks.ssh(curl + "https://example.com/").stdout.split()
    metadata = checks.ssh(curl + "http://100.100.100.200/latest/meta-data/").stdout.split()
    direct = checks.ssh(curl + "--noproxy '*' https://registry.npmjs.org/opencode-ai")
    checks.report.check(
        "egress allowlist: the agent reaches an allowed name through the proxy and nothing else",
        allowed[:1] == ["200"] and denied[-1:] == ["403"] and metadata[:1] == ["403"] and direct.returncode != 0,
        f"registry.npmjs.org {' '.join(allowed)}; example.com (CONNECT) {' '.join(denied)}; metadata via the proxy "
        f"{' '.join(metadata)}; direct: curl exit {direct.returncode}")
    log = checks.ssh("cat /var/log/squid/access.log").stdout
    logged = [line for line in log.splitlines() if "registry.npmjs.org:443" in line or "example.com:443" in line]
    checks.report.check(
        "egress allowlist: Squid's access log holds each decision",
        any("TCP_TUNNEL/200" in line and "registry.npmjs.org:443" in line for line in logged)
        and any("TCP_DENIED/403" in line and "example.com:443" in line for line in logged),
        " | ".join(" ".join(line.split()[3:7]) for line in logged[-2:]) or "no line")


def idle_stop(checks: Checks, cloud: Cloud, minutes: int, since: float, deadline_seconds: int = 16 * 60) -> None:
    """The idle check on the instance stops it through the fake ECS: signed by the role (the fake checks the
    signature), economical mode, this instance only, not before `minutes` have passed since the last login
    (made at `since`, monotonic), and said in the bootstrap log and on the serial console first."""
    r, instance = checks.report, checks.deployment.instance_id
    while not cloud.stops and time.monotonic() < since + deadline_seconds and checks.machine.running():
        time.sleep(10)
    after = time.monotonic() - since
    stops = list(cloud.stops)
    ok = len(stops) == 1 and stops[0]["InstanceId"] == instance and stops[0].get("StoppedMode") == "StopCharging"
    # 30 s of slack: the VM's clock and the host's are not the same clock.
    r.check(f"idle stop: StopInstance arrives signed by the role after {minutes} idle minutes", ok and after >= minutes * 60 - 30,
            f"{len(stops)} StopInstance call(s) {after:.0f} s after the last login"
            + (f": {stops[0]['InstanceId']} {stops[0].get('StoppedMode')}" if stops else ""))
    log = checks.bootstrap_log()
    said = [line for line in log.splitlines() if "opencode-idle: idle" in line and "stopping this instance" in line]
    console = checks.machine.serial.read_text(errors="replace") if checks.machine.serial.exists() else ""
    r.check("idle stop: said in the bootstrap log and on the serial console before the stop",
            bool(said) and "opencode-bootstrap: " in console and "opencode-idle: idle" in console
            and f"StopInstance {instance} accepted" in log, said[-1] if said else log.strip().splitlines()[-1:])


def rehearse(stage: Stage, report: Report, workdir: Path, accel_choice: str) -> None:
    """The sequence (see the module's docstring). The stage owns the machine and stops it."""
    image = images.vm_image(say)
    accel = accelerator(image, workdir) if accel_choice == "auto" else accel_choice
    say(f"accelerator: {accel}" + (" (KVM probe failed or /dev/kvm unusable)" if accel == "tcg" else ""))
    registry, (acme, roots) = stage.start_registry(), stage.start_pebble()
    key = workdir / "ssh-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
    data = workdir / "data.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(data), "40G"], check=True, timeout=60)

    first = stage.deploy(COMPATIBLE)
    say(f"deploy 1 on the stub: {first.instance_id}, data disk {first.data_disk_id}, settings {COMPATIBLE}")
    # Trusted in the VM: the test CA, the ACME server's root (as Let's Encrypt's is on ECS), the host's extra CAs.
    cas = (stage.ca.cert.read_text(), roots.read_text(), *(ca.read_text() for ca in images.host_extra_cas()))
    vendor_settings = vendor.VendorSettings(first.region, registry, acme, cas, (workdir / "ssh-key.pub").read_text().strip())
    cloud, forwards = stage.start_cloud(first)
    machine = stage.machine = Machine(workdir, image, data, "", Path(), accel, forwards)
    timed: list[tuple[str, float]] = []
    begun = time.monotonic()
    checks, ready = boot(stage, machine, first, vendor_settings, key, roots, report, new_disk=True)
    timed.append(("boot 1 (from scratch, settings A) and its checks", time.monotonic() - begun))
    if not ready:
        return
    checks.github_token_in_container()
    metadata_control(checks)
    health_gate(checks, "on boot 1", control=True)
    checks.ssh(f"echo 'written by {first.instance_id}' > {MARKER} && chown 1000:1000 {MARKER} && sync")
    machine.shutdown(key)

    # The bake: the image stack on the stub, its build content run in the base image, the disk cached as the image.
    begun = time.monotonic()
    image_name, build_content = stage.deploy_image_stack(BAKED)
    digest = image_name.rsplit("-", 1)[1]
    bake_seed = make_seed(workdir, f"i-rehearsal-bake-{digest}", b"#cloud-config\n{}\n", vendor_settings)
    version = image_name.split("-")[1]  # opencode-<version>-<family>-<digest>
    baked = bake.baked_image(image, build_content, digest, f"opencode-workspace:{version}", workdir, accel,
                             bake_seed, key, report.check, say, stage.own)
    stage.machine = machine
    timed.append((f"the bake of {image_name}", time.monotonic() - begun))
    if not baked:
        return
    baked_id = stage.image_baked(image_name)

    second = stage.deploy(BAKED)
    report.check("deploy 2 boots the baked image (the lookup by the recipe's name found it)",
                 second.image_id == baked_id, f"planned {second.image_id}, baked {baked_id}")
    say(f"deploy 2 on the stub (defaults, image_source baked, idle stop {IDLE_MINUTES} min, egress allowlist): instance "
        f"{first.instance_id} -> {second.instance_id}, data disk {second.data_disk_id} "
        f"({'kept' if second.data_disk_id == first.data_disk_id else 'REPLACED'})")
    report.check("redeploy replaces the instance and keeps the data disk",
                 second.instance_id != first.instance_id and second.data_disk_id == first.data_disk_id)
    cloud.instance_id, cloud.parameters = second.instance_id, second.parameters
    machine.image = baked
    begun = time.monotonic()
    checks, ready = boot(stage, machine, second, vendor_settings, key, roots, report, new_disk=True)
    timed.append(("boot 2 (the baked image, a new boot disk, the same data disk) and its checks", time.monotonic() - begun))
    if not ready:
        return
    baked_boot(checks, digest)
    kept = checks.ssh(f"cat {MARKER}").stdout.strip()
    report.check("a new boot disk with a bumped OpenCode version keeps the workspace files",
                 kept == f"written by {first.instance_id}", f"{MARKER}: {kept or 'missing'}")
    egress(checks)
    begun = time.monotonic()
    negative_control(checks)
    checks.login(second.password)  # a use of the workspace: the idle check's clock restarts before the reboot
    reboot(checks)  # its last step is a login through the proxy: the idle clock runs from there
    health_gate(checks, "after the reboot (a later start passes at once)", control=False)
    checks.no_secrets_again("after the reboot")
    timed.append(("negative control and reboot", time.monotonic() - begun))
    begun = time.monotonic()
    idle_stop(checks, cloud, IDLE_MINUTES, time.monotonic())
    timed.append(("idle stop", time.monotonic() - begun))
    begun = time.monotonic()
    restart(checks, key)
    timed.append(("restart from stopped", time.monotonic() - begun))
    for name, seconds in timed:
        say(f"time: {seconds:6.0f} s  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (serial logs, disks)")
    args = parser.parse_args(argv)
    in_ci = os.environ.get("CI", "").lower() in ("true", "1")
    if not qemu() or subprocess.run([qemu(), "--version"], capture_output=True, timeout=30).returncode != 0:
        say(f"{'FAIL' if in_ci else 'SKIP'}  boot rehearsal: qemu-system-x86_64 can't run on this machine "
            "(scripts/install-test-tools --boot installs it)" + ("; under CI=true a skip is a failure" if in_ci else ""))
        return 1 if in_ci else 0
    for tool in ("mmdebstrap", "cloud-localds", "docker-registry", "skopeo", "umoci", "pebble", "ssh", "qemu-img", "socat"):
        if not shutil.which(tool):
            say(f"FAIL  boot rehearsal: {tool} is missing (scripts/install-test-tools --boot installs it)")
            return 1
    workdir = Path(tempfile.mkdtemp(prefix="rehearse-boot-"))
    report, begun, stage = Report(), time.monotonic(), None
    # A CI's time limit ends a run with SIGTERM: it becomes SystemExit, so the cleanup and the summary still run.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))
    try:
        stage = Stage(workdir)
        rehearse(stage, report, workdir, args.accel)
    except (Exception, SystemExit) as error:  # the summary always prints: an unexpected stop is one more FAIL
        report.check("the rehearsal runs to its end", False, f"{type(error).__name__}: {str(error).strip()[-500:]}")
    finally:
        if stage:
            stage.close()
    say(f"boot rehearsal: {'PASS' if report.passed else 'FAIL'} in {time.monotonic() - begun:.0f} s "
        f"({sum(ok for ok, _, _ in report.results)}/{len(report.results)} checks)")
    if report.passed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        say(f"kept: {workdir} (serial log: {workdir / 'serial.log'})")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
