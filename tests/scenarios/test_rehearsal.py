"""Deploy rehearsal with real Terraform and the real cdktf CLI, offline.

A SIMULATION OF THE CLOUD: the providers are stubs that serve the provider schemas
(harness/stub_provider.py). Terraform checks every attribute and block against the
schema and runs plan/apply/destroy for real; nothing is created anywhere, and nothing
here knows Alibaba Cloud's API semantics.
"""
from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

from cloud_sim import Rehearsal, build_mirror, environment, terraform_binary, warnings_in, with_admin_roles
from conftest import ROOT, VARIANTS, synth, terraform_literal
from opencode_alicloud.instance.files import render_files
from opencode_alicloud.instance.inputs import BootstrapFacts, BootstrapSettings
from opencode_alicloud.instance.user_data import render_user_data
from support import applied_user_data, written_files
from opencode_settings import load_settings

pytestmark = pytest.mark.slow

TEST_SECRETS = {"model_api_key": "sk-test-DO-NOT-LEAK-7f3a9c", "github_token": "ghp_testDONOTLEAK0123456789"}


@pytest.fixture(scope="module")
def sim_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    sim = tmp_path_factory.mktemp("sim")
    return with_admin_roles(environment(build_mirror(sim)), sim / "account-roles.json", "opencode")


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_terraform_validate_accepts_every_stack(variant: str, tmp_path: Path, sim_env: dict[str, str]) -> None:
    synth(tmp_path, **VARIANTS[variant])
    stack = tmp_path / "cdktf.out" / "stacks" / "opencode"
    tf = terraform_binary()
    run([tf, "init", "-input=false", "-backend=false", "-no-color"], sim_env, stack)
    result = subprocess.run(
        [tf, "validate", "-json", "-no-color"], env=sim_env, cwd=stack, capture_output=True, text=True, timeout=120
    )
    report = json.loads(result.stdout)
    assert report["valid"] is True, json.dumps(report["diagnostics"], indent=1)
    assert report["error_count"] == 0
    # The stub warns where the provider would (deprecated arguments): none may come from our config.
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=1)


def test_the_default_stack_plans_with_every_provider_rule_and_no_warning(tmp_path: Path, sim_env: dict[str, str]) -> None:
    rehearsal = Rehearsal(tmp_path / "tf", {**sim_env, "TF_VAR_model_api_key": "sk-test"})
    rehearsal.load(synth(tmp_path))
    code, plan, output = rehearsal.plan()
    assert code == 0, output[-3000:]
    assert warnings_in(output) == []
    assert plan is not None and len(plan["resource_changes"]) == 18  # its roles are opencode-roles'


def test_the_audit_stack_plans_applies_and_destroys_only_when_unprotected(tmp_path: Path, sim_env: dict[str, str]) -> None:
    """opencode-audit against every provider rule, with SLS and a locked WORM policy: planned clean, applied;
    protected, a destroy is refused by Terraform (prevent_destroy); unprotected, it goes (the provider's delete
    of a locked WORM policy only forgets it; OSS keeps it, and the bucket, until the logs are old enough)."""
    from test_audit import synth_audit

    rehearsal = Rehearsal(tmp_path / "tf", sim_env)
    rehearsal.load(synth_audit(tmp_path / "protected", sls=True, worm=True))
    code, plan, output = rehearsal.plan()
    assert code == 0 and warnings_in(output) == [], output[-3000:]
    assert plan is not None and len(plan["resource_changes"]) == 10
    rehearsal.apply()
    refused = rehearsal._run("destroy", "-auto-approve", "-input=false", "-no-color")
    assert refused.returncode != 0 and "prevent_destroy" in refused.stderr
    rehearsal.load(synth_audit(tmp_path / "unprotected", sls=True, protect=False, worm=True))
    rehearsal.apply()
    assert "Destroy complete! Resources: 10 destroyed" in rehearsal._run(
        "destroy", "-auto-approve", "-input=false", "-no-color").stdout


@pytest.mark.parametrize("controls", [
    {"egress": {"mode": "allowlist", "allow": [".example.org"]}, "idle_stop_minutes": 30,
     "audit": {"enabled": True, "bucket": "acme-audit-trail", "ship_access_log": True}},
    {"egress": {"mode": "none", "workspace_image": "registry-vpc.ap-southeast-1.aliyuncs.com/acme/opencode:1.18.33"},
     "model_server": {"enabled": True, "downloads": False}, "tls_mode": "internal"},
], ids=["allowlist-idle-ship", "none-model-server"])
def test_the_controls_plan_and_apply_against_every_provider_rule(controls: dict, tmp_path: Path,
                                                                  sim_env: dict[str, str]) -> None:
    """The egress rules (drop at priority 100, all protocols, IPv6), the ship policy and the gzip user-data
    of the model server too: planned with no warning and applied on the stub; a re-plan is clean."""
    rehearsal = Rehearsal(tmp_path / "tf", {**sim_env, "TF_VAR_model_api_key": "sk-test"})
    rehearsal.load(synth(tmp_path, **controls))
    code, plan, output = rehearsal.plan()
    assert code == 0 and warnings_in(output) == [], output[-3000:]
    assert plan is not None
    egress = [c for c in plan["resource_changes"] if c["type"] == "alicloud_security_group_rule"
              and c["change"]["after"]["type"] == "egress"]
    assert egress and all(c["change"]["after"]["description"].split(":")[0].endswith(f"egress={controls['egress']['mode']}")
                          for c in egress)
    rehearsal.apply()
    code, _, output = rehearsal.plan()
    assert code == 0 and "No changes." in output, output[-3000:]


def test_the_stub_rejects_what_the_provider_rejects(tmp_path: Path, sim_env: dict[str, str]) -> None:
    """The defect this rehearsal once missed: alicloud_zones' disk filter knows no cloud_essd_entry."""
    document = synth(tmp_path)
    document["data"]["alicloud_zones"] = {"zones": {"available_disk_category": "cloud_essd_entry"}}
    (instance,) = document["resource"]["alicloud_instance"].values()
    instance["role_name"] = "opencode-instance"
    rehearsal = Rehearsal(tmp_path / "tf", {**sim_env, "TF_VAR_model_api_key": "sk-test"})
    rehearsal.load(document)
    report = rehearsal.validate()
    assert report["valid"] is False
    details = [d.get("detail", "") for d in report["diagnostics"]]
    assert any("expected available_disk_category to be one of" in d and "got cloud_essd_entry" in d for d in details)
    assert any("`role_name` has been deprecated" in d for d in details)


def test_free_text_settings_reach_terraform_literally(tmp_path: Path, sim_env: dict[str, str]) -> None:
    """Tags, the image regex and an SSH key's comment are text: Terraform must not evaluate them."""
    tricky = '${file("/etc/passwd")} %{ if true }x%{ endif }'
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGV4YW1wbGUuY29tIGtleSBmb3IgdGVzdHM ${path.cwd}"
    rehearsal = Rehearsal(tmp_path / "tf", {**sim_env, "TF_VAR_model_api_key": "sk-test"})
    rehearsal.load(synth(tmp_path, tags={"note": tricky}, ssh_cidrs=["203.0.113.7/32"], ssh_public_key=key,
                         image_name_regex="^ubuntu_24_04_x64_20G_alibase_.*\\.vhd$|${x}"))
    code, plan, output = rehearsal.plan()
    assert code == 0, output[-3000:]
    planned = {c["type"]: c["change"]["after"] for c in plan["resource_changes"]}
    assert planned["alicloud_vpc"]["tags"]["note"] == tricky
    assert planned["alicloud_ecs_key_pair"]["public_key"] == key
    images = next(r for r in plan["prior_state"]["values"]["root_module"]["resources"] if r["type"] == "alicloud_images")
    assert images["values"]["name_regex"].endswith("|${x}")


def _actions(plan: dict) -> dict[str, list[str]]:
    return {c["address"]: c["change"]["actions"] for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]}


@pytest.mark.parametrize(
    "change, replaced",
    [
        # cloud-init runs the bootstrap once per instance: a new version is a new instance.
        ({"opencode_version": "1.18.34"}, {"alicloud_instance", "terraform_data"}),
        # force_new in the provider schema.
        ({"system_disk_category": "cloud_essd"}, {"alicloud_instance"}),
        # security group rules are force_new in the provider: new rules, the same instance.
        ({"web_cidrs": ["198.51.100.0/24"]}, {"alicloud_security_group_rule"}),
    ],
)
def test_which_settings_replace_the_instance(
    change: dict, replaced: set[str], tmp_path: Path, sim_env: dict[str, str]
) -> None:
    rehearsal = Rehearsal(tmp_path / "tf", {**sim_env, "TF_VAR_model_api_key": "sk-test"})
    rehearsal.load(synth(tmp_path / "before"))
    rehearsal.apply()
    before = {r["type"]: r["instances"][0]["attributes"]["id"] for r in rehearsal.state()["resources"] if r["mode"] == "managed"}
    rehearsal.load(synth(tmp_path / "after", **change))
    code, plan, output = rehearsal.plan()
    assert code == 0, output[-3000:]
    actions = _actions(plan)
    replacing = {address.split(".")[0] for address, act in actions.items() if "delete" in act and "create" in act}
    # What hangs on the instance id follows it (attachments, the EIP association, the health gate's invocation,
    # which waits for the new instance's bootstrap); the disk and EIP stay.
    followers = {"alicloud_ecs_disk_attachment", "alicloud_eip_association", "alicloud_ecs_ram_role_attachment",
                 "alicloud_ecs_invocation"}
    assert replacing == (replaced | followers if "alicloud_instance" in replaced else replaced), actions
    for kept in ("alicloud_ecs_disk", "alicloud_eip_address", "alicloud_vpc"):
        assert not any(a.startswith(kept + ".") and "delete" in act for a, act in actions.items())
    rehearsal.apply()
    after = {r["type"]: r["instances"][0]["attributes"]["id"] for r in rehearsal.state()["resources"] if r["mode"] == "managed"}
    assert after["alicloud_ecs_disk"] == before["alicloud_ecs_disk"]
    assert after["alicloud_eip_address"] == before["alicloud_eip_address"]
    assert (after["alicloud_instance"] != before["alicloud_instance"]) == ("alicloud_instance" in replaced)


def test_a_reclaimed_spot_instance_comes_back_on_the_same_disk_and_address(tmp_path: Path, sim_env: dict[str, str]) -> None:
    gone = tmp_path / "gone"  # what the cloud removed outside Terraform, as the stub's reads will see it
    rehearsal = Rehearsal(tmp_path / "tf", {**sim_env, "TF_VAR_model_api_key": "sk-test", "STUB_PROVIDER_GONE": str(gone)})
    rehearsal.load(synth(tmp_path / "spot", spot=True))
    rehearsal.apply()

    def managed() -> dict[str, dict]:
        return {r["type"]: r["instances"][0]["attributes"] for r in rehearsal.state()["resources"] if r["mode"] == "managed"}

    before = managed()
    assert before["alicloud_instance"]["spot_strategy"] == "SpotAsPriceGo"
    # A reclaim releases the instance; what hung on it (the disk's attachment, the EIP's association, the
    # role's attachment) reads as gone too. The data disk (delete_with_instance false) and the EIP stay.
    followers = ("alicloud_instance", "alicloud_ecs_disk_attachment", "alicloud_eip_association", "alicloud_ecs_ram_role_attachment")
    gone.write_text("\n".join(before[kind]["id"] for kind in followers))
    code, plan, output = rehearsal.plan(refresh=True)
    assert code == 0, output[-3000:]
    assert {address.split(".")[0] for address, act in _actions(plan).items() if act == ["create"]} == set(followers)
    # and the health gate waits for the new instance's bootstrap: its invocation follows the instance id
    replaced = {address.split(".")[0] for address, act in _actions(plan).items() if "delete" in act}
    assert replaced == {"alicloud_ecs_invocation"}, _actions(plan)
    rehearsal.apply()
    after = managed()
    assert after["alicloud_instance"]["id"] != before["alicloud_instance"]["id"]
    for kept in ("alicloud_ecs_disk", "alicloud_eip_address", "alicloud_vpc", "alicloud_security_group"):
        assert after[kept] == before[kept], kept
    assert after["alicloud_ecs_disk_attachment"]["disk_id"] == before["alicloud_ecs_disk"]["id"]
    assert after["alicloud_ecs_disk_attachment"]["instance_id"] == after["alicloud_instance"]["id"]
    assert after["alicloud_eip_association"]["allocation_id"] == before["alicloud_eip_address"]["id"]
    assert after["alicloud_eip_association"]["instance_id"] == after["alicloud_instance"]["id"]
    code, plan, output = rehearsal.plan(refresh=True)
    assert code == 0 and not _actions(plan), output[-3000:]  # settled: the next deploy changes nothing


def test_cdktf_deploy_output_redeploy_destroy(tmp_path: Path, sim_env: dict[str, str]) -> None:
    env = dict(sim_env)
    env.update(
        OPENCODE_ALICLOUD_STATE_DIR=str(tmp_path / "state"),
        OPENCODE_ALICLOUD_USE_GITHUB_TOKEN="true",
        CI="1",
        **{f"TF_VAR_{name}": value for name, value in TEST_SECRETS.items()},
    )
    for key in [k for k in env if k.startswith("OPENCODE_ALICLOUD_") and k not in (
        "OPENCODE_ALICLOUD_STATE_DIR", "OPENCODE_ALICLOUD_USE_GITHUB_TOKEN")]:
        env.pop(key)
    env["STUB_PROVIDER_ROLES"] = str(tmp_path / "account-roles.json")  # an account with no roles of ours yet
    outdir = tmp_path / "cdktf.out"
    cdktf = str(ROOT / "node_modules" / ".bin" / "cdktf")
    common = ["opencode", "--output", str(outdir)]

    # The deployer alone cannot make its roles: the plan stops, naming them and the administrator's stack. The
    # message is read from Terraform's own plan in the folder cdktf synthesized (Node may lose a piped tail at exit).
    alone = subprocess.run([cdktf, "deploy", *common, "--auto-approve", "--skip-provider-lock"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert alone.returncode != 0 and "Apply complete" not in alone.stdout, alone.stdout[-3000:]
    plan = subprocess.run([terraform_binary(), "plan", "-input=false", "-no-color"], env=env, cwd=outdir / "stacks" / "opencode",
                          capture_output=True, text=True, timeout=300)
    said = " ".join(plan.stderr.replace("│", " ").split())
    assert plan.returncode != 0 and ("the RAM roles opencode-instance must exist first: an administrator applies the "
                                     "stack opencode-roles") in said, said[-3000:]
    # The administrator's stack, then the workspace (docs/guides/deploy.md).
    roles = run([cdktf, "deploy", "opencode-roles", "--output", str(outdir), "--auto-approve", "--skip-provider-lock"],
                env, ROOT)
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in roles.stdout  # role, policy, attachment
    assert json.loads((tmp_path / "account-roles.json").read_text()) == ["opencode-instance"]
    first = run([cdktf, "deploy", *common, "--auto-approve", "--skip-provider-lock"], env, ROOT)
    assert "Apply complete! Resources: 19 added, 0 changed, 0 destroyed." in first.stdout

    outputs_file = tmp_path / "outputs.json"
    run([cdktf, "output", *common, "--skip-synth", "--outputs-file", str(outputs_file),
         "--outputs-file-include-sensitive-outputs"], env, ROOT)
    outputs = json.loads(outputs_file.read_text())["opencode"]
    assert set(outputs) == {"url", "public_ip", "username", "password"}
    assert outputs["url"] == "https://" + outputs["public_ip"].replace(".", "-") + ".sslip.io"
    assert outputs["username"] == "opencode"
    assert re.fullmatch(r"[A-Za-z0-9]{32}", outputs["password"])

    second = run([cdktf, "deploy", *common, "--auto-approve", "--skip-provider-lock"], env, ROOT)
    assert "No changes." in second.stdout
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in second.stdout
    stack = outdir / "stacks" / "opencode"
    plan = subprocess.run([terraform_binary(), "plan", "-detailed-exitcode", "-input=false", "-no-color"],
                          env=env, cwd=stack, capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]  # 2 would mean changes

    # Secrets given at deploy time reach the state (encrypted OOS parameters) and nothing else.
    synthesized = (stack / "cdk.tf.json").read_text()
    state = json.loads((tmp_path / "state" / "opencode" / "opencode.tfstate").read_text())
    sent = next(r for r in state["resources"] if r["type"] == "alicloud_instance")["instances"][0]["attributes"]["user_data"]
    user_data = applied_user_data(sent)  # Terraform's base64gzip of the text: what ECS receives, decoded
    for value in [*TEST_SECRETS.values(), outputs["password"]]:
        assert value not in synthesized
        assert value not in user_data
    assert "ANTHROPIC_API_KEY=opencode-model-api-key" in user_data  # the parameter's name, not its value

    # The user-data as Terraform resolved it is exactly our rendering with the same facts:
    # the escaping of shell `${...}` survives Terraform, and the tokens became values.
    by_type = {r["type"]: r["instances"][0]["attributes"] for r in state["resources"]}
    facts = BootstrapFacts(
        data_disk_id=by_type["alicloud_ecs_disk"]["id"],
        password_hash=by_type["random_password"]["bcrypt_hash"],
        site_host=outputs["url"].removeprefix("https://"),
        secret_parameters={
            "ANTHROPIC_API_KEY": "opencode-model-api-key",
            "GH_TOKEN": "opencode-github-token",
        },
    )
    boot = BootstrapSettings.from_settings(load_settings(use_github_token=True))
    written = written_files(user_data)
    assert {path: item["content"].rstrip("\n") for path, item in written.items()} == {
        path: content.rstrip("\n") for path, content in render_files(boot, facts).items()}
    assert user_data == terraform_literal(render_user_data(boot, facts))
    assert len(base64.b64decode(sent)) <= 9 * 1024  # the gzip ECS receives (its limit: 16 KB; docs/guides/on-the-instance.md: at most 9 KB)
    resolved = tmp_path / "resolved-user-data.yaml"
    resolved.write_text(user_data)
    check = subprocess.run(["cloud-init", "schema", "-c", str(resolved)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "Valid cloud-config" in check.stdout, check.stdout + check.stderr
    site = outputs["url"].removeprefix("https://")
    assert f"\n    SITE={site}\n" in user_data and f"\n    {site} {{\n" in user_data

    destroyed = run([cdktf, "destroy", *common, "--auto-approve"], env, ROOT)
    assert "Destroy complete! Resources: 19 destroyed." in destroyed.stdout
    unroled = run([cdktf, "destroy", "opencode-roles", "--output", str(outdir), "--auto-approve"], env, ROOT)
    assert "Destroy complete! Resources: 3 destroyed." in unroled.stdout
    assert json.loads((tmp_path / "account-roles.json").read_text()) == []
    assert json.loads((tmp_path / "state" / "opencode" / "opencode.tfstate").read_text())["resources"] == []
