"""The preflight (`opencode-alicloud doctor`, and `up` before it deploys) against the signature-checking fakes
of ECS, STS and OSS, whose answers have the real APIs' shapes (the SDK's models). Each check: a pass, a fail
with its advice, an API error; and no credentials. The launch dry run is judged by RAM's documented evaluation
(tests/harness/ram_eval.py) against the deployer policy `scripts/deployer-policy` prints. A SIMULATION: none of
Alibaba's real images, stock, quotas or IAM are known here."""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig

from fake_alibaba import serve
from fake_openapi import Account, FakeInstance, OpenApiHandler, OssAccount, OssBucketHandler
from opencode_alicloud.deployer_policy import deployer_policy
from opencode_cli import doctor
from opencode_cli.probe import Probe
from opencode_settings import load_settings
from support import DEBIAN, OLDER, REGION, TYPE, ready_for_preflight



def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    return {**policy, "Statement": [{**st, "Action": [a for a in st["Action"] if a != action]} for st in policy["Statement"]]}


def healthy_account() -> Account:
    return ready_for_preflight(Account(policy=deployer_policy("opencode")))


@pytest.fixture
def world(tmp_path: Path) -> Any:
    account = healthy_account()
    ecs = serve(OpenApiHandler, account)  # type: ignore[arg-type]
    oss = OssAccount(account.access_key_id, account.access_key_secret, REGION, account.account_id,
                     {"acme-tf-state": "mine", "someone-elses-state": "theirs-readable", "acme-audit-taken": "theirs-readable",
                      "acme-team-state": "theirs"})
    buckets = serve(OssBucketHandler, oss)  # type: ignore[arg-type]
    credential = CredentialClient(CredentialConfig(type="access_key", access_key_id=account.access_key_id,
                                                   access_key_secret=account.access_key_secret))
    yield {"account": account, "oss": oss, "ecs": f"http://127.0.0.1:{ecs.port}", "credential": credential,
           "buckets": f"http://127.0.0.1:{buckets.port}", "base": tmp_path}
    ecs.close()
    buckets.close()


def settings_file(base: Path, text: str = "") -> Path:
    path = base / "opencode-alicloud.toml"
    path.write_text(f'name = "opencode"\nregion = "{REGION}"\n' + text)
    return path


def values_of(path: Path) -> Any:
    os.environ["OPENCODE_ALICLOUD_CONFIG"] = str(path)
    try:
        return load_settings()
    finally:
        del os.environ["OPENCODE_ALICLOUD_CONFIG"]


def run(world: Any, text: str = "", endpoint: str | None = None, lookup: Any = lambda name: set()) -> dict[str, doctor.Check]:
    values = values_of(settings_file(world["base"], text))
    probe = Probe(values.region, world["credential"], endpoint or world["ecs"])
    return {check.name: check for check in doctor.checks(values, probe, lookup)}


def cli(world: Any, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    account = world["account"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_ALICLOUD_", "ALIBABA_CLOUD_", "ALICLOUD_"))}
    clean.update(HOME=str(world["base"]), ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
                 ALIBABA_CLOUD_ACCESS_KEY_ID=account.access_key_id, ALIBABA_CLOUD_ACCESS_KEY_SECRET=account.access_key_secret)
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "opencode_cli", "--api-endpoint", world["ecs"], *args], cwd=world["base"],
                          env=clean, capture_output=True, text=True, timeout=120)


def test_a_ready_account_passes_every_check_and_says_what_it_found(world: Any) -> None:
    settings_file(world["base"])
    result = cli(world, "doctor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    found = {c["name"]: c for c in report["checks"]}
    assert report["ok"] and report["workspace"] == "opencode"
    assert found["credentials"]["detail"] == ("account 5123456789012345 as acs:ram::5123456789012345:user/deployer "
                                              "(RAMUser)")
    # the newest public image of the family that the type runs, by the stack's own pattern (not Ubuntu, not the older)
    assert found["image"]["detail"].startswith("debian_13_2_x64_20G_alibase_20261115.vhd (m-t4ndebian13000000001)")
    assert found["instance stock"]["detail"] == (f"{TYPE} with cloud_essd_entry and cloud_essd_entry disks in "
                                                 "ap-southeast-1b, ap-southeast-1c")
    assert found["vCPU quota"]["detail"] == "2 postpaid vCPUs needed, 12 of 500 in use"
    assert found["security groups"]["status"] == "pass" and found["EIP quota"]["status"] == "not checked"
    # RAM let it through; the request itself stops at the missing vSwitch, so the dry run proves no more
    assert found["deployer may launch"]["status"] == "not checked"
    assert "stopped at MissingParameter: The input parameter VSwitchId" in found["deployer may launch"]["detail"]
    assert found["OpenCode version"]["status"] == "pass"
    assert {c["status"] for c in report["checks"]} == {"pass", "not checked"}
    # every call was judged by RAM against the deployer policy `scripts/deployer-policy` prints, and allowed
    assert not any("Forbidden.RAM" in line for line in world["account"].log), world["account"].log
    # the dry run as the stack launches: its zone, type, image and tags, and nothing launched
    (launch,) = [r for r in world["account"].requests if r["action"] == "RunInstances"]
    assert (launch["DryRun"], launch["ZoneId"], launch["InstanceType"], launch["ImageId"]) == (
        "True", "ap-southeast-1b", TYPE, "m-t4ndebian13000000001")
    assert {launch["Tag.1.Key"]: launch["Tag.1.Value"], launch["Tag.2.Key"]: launch["Tag.2.Value"]} == {
        "managed-by": "opencode-alicloud", "workspace": "opencode"}

    text = cli(world, "doctor")
    assert text.returncode == 0 and "✓ credentials: account 5123456789012345" in text.stdout
    assert "· EIP quota: not checked: the EIP quota" in text.stdout and "Traceback" not in text.stdout + text.stderr


@pytest.mark.parametrize("case, change, settings, name, detail, advice", [
    ("no image", lambda a: a.public_images.remove(DEBIAN) or a.public_images.remove(OLDER), "", "image",
     "no public image in ap-southeast-1 matches", "set image_name_regex"),
    ("no stock with the disks", lambda a: a.stock[TYPE].pop("ap-southeast-1b") and a.stock[TYPE].pop("ap-southeast-1c"),
     "", "instance stock", "in no zone of ap-southeast-1 (it is offered in ap-southeast-1a, ap-southeast-1d with other disk "
     "categories)",
     "choose another instance_type or disk category"),
    ("vCPU quota", lambda a: a.attributes.update({"used-postpaid-instance-vcpu-count": 499}), "", "vCPU quota",
     "2 postpaid vCPUs needed, 499 of 500 in use", "raise the ECS vCPU quota in Quota Center"),
    ("security groups", lambda a: setattr(a, "security_groups", 100), "", "security groups", "100 of 100",
     "delete unused security groups"),
    # another workspace's deployer: its policy allows launches tagged workspace=bob only
    ("another deployer's policy", lambda a: setattr(a, "policy", {**deployer_policy("bob"), "Statement": [
        *deployer_policy("bob")["Statement"], *[st for st in deployer_policy("opencode")["Statement"]
                                               if st["Sid"] == "ReadForPlanning"]]}), "", "deployer may launch",
     "RAM refused RunInstances (Forbidden.RAM:", "attach the deployer policy"),
    # the deployer policy without the quota read: RAM refuses the call, and the check says so
    ("a call the policy lacks", lambda a: setattr(a, "policy", without(a.policy, "ecs:DescribeAccountAttributes")), "",
     "quotas", "could not ask: ECS DescribeAccountAttributes: Forbidden.RAM", "check the deployer policy"),
    ("unknown version", lambda a: None, 'opencode_version = "1.18.30"\n', "OpenCode version",
     "1.18.30 is not one the project knows (1.18.32, 1.18.33)", "opencode-alicloud upgrade --to"),
    ("state bucket missing", lambda a: None, '[backend]\nkind = "oss"\nbucket = "acme-tf-nobody"\ntablestore_endpoint = '
     '"https://acme.ap-southeast-1.ots.aliyuncs.com"\ntablestore_table = "locks"\n', "state bucket",
     "acme-tf-nobody does not exist", "scripts/state-bootstrap"),
    ("state bucket taken", lambda a: None, '[backend]\nkind = "oss"\nbucket = "someone-elses-state"\ntablestore_endpoint = '
     '"https://acme.ap-southeast-1.ots.aliyuncs.com"\ntablestore_table = "locks"\n', "state bucket",
     "belongs to another account", "name a bucket of yours"),
    ("audit bucket taken", lambda a: None, '[audit]\nenabled = true\nbucket = "acme-audit-taken"\n', "audit bucket",
     "belongs to another account", "choose another audit.bucket"),
])
def test_each_check_fails_with_what_to_do(world: Any, case: str, change: Any, settings: str, name: str, detail: str,
                                          advice: str) -> None:
    change(world["account"])
    found = run(world, settings, endpoint=None)
    if name in ("state bucket", "audit bucket"):  # OSS has its own endpoint
        values = values_of(settings_file(world["base"], settings))
        probe = Probe(values.region, world["credential"], world["ecs"])
        probe._endpoint = world["buckets"]  # the OSS fake; ECS stays on its own
        found = {check.name: check for check in doctor.buckets(values, probe, world["account"].account_id)}
    check = found[name]
    assert check.status == "fail" and detail in check.detail and advice in check.advice, (case, check)
    assert doctor.verdict(list(found.values())) == 1


def test_a_dry_run_that_passes_every_check_passes(world: Any) -> None:
    world["account"].dry_run_without_network = True  # were the API to answer DryRunOperation without a vSwitch
    check = run(world)["deployer may launch"]
    assert check.status == "pass" and check.detail.endswith("tagged as the stack tags it, passed")


def test_the_quota_counts_what_this_deploy_adds(world: Any) -> None:
    """Spot vCPUs against the spot quota (the model server, never spot, against pay-as-you-go); a workspace already
    deployed is in "used" and adds nothing; a quota the account does not report is not checked."""
    account = world["account"]
    account.attributes.update({"max-spot-instance-vcpu-count": 4, "used-spot-instance-vcpu-count": 3})
    spot = run(world, "spot = true\n")["vCPU quota"]
    assert spot.status == "fail" and spot.detail == "2 spot vCPUs needed, 3 of 4 in use"
    account.attributes["used-postpaid-instance-vcpu-count"] = 499
    account.instances.append(FakeInstance("i-t4n1", "opencode-workspace", REGION, {"workspace": "opencode"}))
    deployed = run(world)["vCPU quota"]
    assert deployed.status == "pass" and deployed.detail == "0 postpaid vCPUs needed, 499 of 500 in use"
    del account.attributes["max-postpaid-instance-vcpu-count"]
    assert run(world)["vCPU quota"].status == "not checked"


def test_the_baked_image_of_the_recipe_or_the_one_named(world: Any) -> None:
    missing = run(world, 'image_source = "baked"\n')["image"]
    assert missing.status == "fail" and missing.detail.startswith("no baked image opencode-1.18.33-debian-13-")
    assert "opencode-alicloud image bake" in missing.advice
    name = missing.detail.split()[3]
    world["account"].images.append({"ImageId": "m-t4nbaked000000000001", "ImageName": f"{name}_exec-1",
                                    "Status": "Available", "CreationTime": "2026-12-01T00:00:00Z"})
    assert run(world, 'image_source = "baked"\n')["image"].status == "pass"
    named = run(world, 'image_source = "baked"\nimage_id = "m-t4nbaked000000000001"\n')["image"]
    assert named.status == "pass" and "is Available" in named.detail
    gone = run(world, 'image_source = "baked"\nimage_id = "m-t4nbaked000000000009"\n')["image"]
    assert gone.status == "fail" and "is not in this account" in gone.detail


def test_a_bucket_of_yours_passes_and_a_bad_signature_is_refused(world: Any) -> None:
    values = values_of(settings_file(world["base"], '[backend]\nkind = "oss"\nbucket = "acme-tf-state"\ntablestore_endpoint = '
                                     '"https://acme.ap-southeast-1.ots.aliyuncs.com"\ntablestore_table = "locks"\n'
                                     '[audit]\nenabled = true\nbucket = "acme-audit-new"\n'))
    probe = Probe(values.region, world["credential"], world["buckets"])
    found = {c.name: c for c in doctor.buckets(values, probe, world["account"].account_id)}
    assert found["state bucket"].detail == "acme-tf-state is yours" and found["audit bucket"].detail.endswith("the stack makes it")
    assert world["oss"].requests == ["acme-tf-state", "acme-audit-new"]
    # the control: a key whose secret is wrong is refused by the fake's signature check
    wrong = CredentialClient(CredentialConfig(type="access_key", access_key_id=world["account"].access_key_id,
                                              access_key_secret=secrets.token_urlsafe(24)))
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        Probe(values.region, wrong, world["buckets"]).bucket("acme-tf-state", REGION, world["account"].account_id)


def test_a_state_bucket_these_credentials_may_not_read_is_not_checked(world: Any) -> None:
    """A teammate's per-workspace state policy reaches its own folder only: GetBucketInfo is refused (AccessDenied),
    which says nothing of who owns the bucket."""
    backend = ('[backend]\nkind = "oss"\nbucket = "{}"\ntablestore_endpoint = "https://acme.ap-southeast-1.ots.aliyuncs.com"'
               '\ntablestore_table = "locks"\n{}')
    probe = Probe(REGION, world["credential"], world["buckets"])
    for text in (backend.format("acme-team-state", ""), backend.format("acme-tf-state", 'profile = "team"\n')):
        (check,) = doctor.buckets(values_of(settings_file(world["base"], text)), probe, world["account"].account_id)
        assert check.status == "not checked", check
    assert world["oss"].requests == ["acme-team-state"]  # a profile's bucket is not asked with the default chain


def test_the_domain_must_point_at_the_eip_once_deployed(world: Any) -> None:
    settings = 'domain = "code.example.com"\n'
    before = run(world, settings, lookup=lambda name: {"198.51.100.9"})["domain"]
    assert before.status == "pass" and "resolves to 198.51.100.9 today; nothing is deployed" in before.detail
    world["account"].instances.append(FakeInstance("i-t4n1", "opencode-workspace", REGION, {"workspace": "opencode"},
                                                   public_ip="203.0.113.10"))
    wrong = run(world, settings, lookup=lambda name: {"198.51.100.9"})["domain"]
    assert wrong.status == "fail" and wrong.advice.startswith("point its A record at 203.0.113.10")
    assert run(world, settings, lookup=lambda name: {"203.0.113.10"})["domain"].status == "pass"


def test_an_api_error_fails_its_check_with_the_apis_words(world: Any) -> None:
    world["account"].fail_on["DescribeAvailableResource"] = (403, "Forbidden.RAM", "User not authorized to operate.")
    found = run(world)
    stock = found["instance stock"]
    assert stock.status == "fail" and stock.detail.startswith("could not ask: ECS DescribeAvailableResource: Forbidden.RAM")
    assert found["deployer may launch"].status == "not checked"  # no zone to try
    assert found["image"].status == "pass"


def test_no_credentials_or_no_answer_is_exit_4_in_one_line(world: Any) -> None:
    settings_file(world["base"])
    none = cli(world, "doctor", env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""})
    assert none.returncode == 4 and "no Alibaba Cloud credentials" in none.stderr, none.stderr
    world["account"].fail = (503, "ServiceUnavailable", "The request has failed due to a temporary failure.")
    down = cli(world, "doctor", "--json")
    assert down.returncode == 4 and "STS GetCallerIdentity: ServiceUnavailable" in down.stderr
    assert json.loads(down.stdout)["ok"] is False
    for result in (none, down):
        assert "Traceback" not in result.stdout + result.stderr


def test_up_stops_before_anything_when_the_preflight_fails(world: Any) -> None:
    settings_file(world["base"], 'opencode_version = "1.18.30"\n')
    up = cli(world, "up", "--yes", env={"CDKTF_OUTDIR": str(world["base"] / "cdktf.out")})
    assert up.returncode == 1 and "✗ OpenCode version: 1.18.30 is not one the project knows" in up.stdout
    assert "the preflight failed (above): fix what it says, or add --no-preflight" in up.stderr
    assert not (world["base"] / "cdktf.out").exists() and "Traceback" not in up.stdout + up.stderr


def test_the_known_versions_are_the_ones_the_boot_rehearsal_boots() -> None:
    """KNOWN_OPENCODE_VERSIONS says each boots to a login in the boot rehearsal: the versions its deploys set, and
    the default (the newest), are exactly those."""
    from opencode_settings.workspace import KNOWN_OPENCODE_VERSIONS

    rehearsal = (Path(__file__).parent / "boot" / "rehearse.py").read_text()
    pinned = set(re.findall(r'"OPENCODE_ALICLOUD_OPENCODE_VERSION": "([\d.]+)"', rehearsal))
    assert pinned and pinned | {KNOWN_OPENCODE_VERSIONS[-1]} == set(KNOWN_OPENCODE_VERSIONS)
