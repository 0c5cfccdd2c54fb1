"""The deployer's RAM policy (config/deployer-ram-policy.json, scripts/deployer-policy): scoped to
one workspace, no account-wide write or secret read, and covering what the stack does. The
documents are checked as documents: RAM's own evaluation is not available offline."""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cloud_sim import SCHEMAS
from conftest import ROOT, VARIANTS, synth, synth_app
from strategies import NAMES
from support import synth_roles
from opencode_alicloud.deployer_policy import READ_FOR_PLANNING, compact, deployer_policy, policy_parts, policy_parts_text

SECRET_READS = {"oos:GetSecretParameter", "oos:GetSecretParameters", "kms:Decrypt", "kms:GetSecretValue"}
READ_VERBS = ("Describe", "List", "Get")
# "*" next to an action is allowed only in these statements, each for a reason:
STAR_ALLOWED = {
    "ReadForPlanning": "Describe/List/Get calls without a secret in the answer; most have no resource-level control",
    "CreateOnlyTaggedAsThisWorkspace": "a resource that does not exist yet has no ARN; the request must tag it as this workspace's",
    "ChangeOnlyThisWorkspacesResources": "ECS and VPC ids are not known before the deploy; the resource must carry this workspace's tag",
    "ReadOnlyThisWorkspacesUserDataAndConsole": "the instance id is not known before the deploy; it must carry this workspace's tag",
    "KmsOnlyThroughOos": "OOS decrypts secret parameters with KMS as the caller; only through the OOS service",
    "TagOnlyThisWorkspacesEcsResources": "the resource must already carry this workspace's tags, and the request too",
    "TagVpcResourcesAsThisWorkspaces": "provider 1.289.0 tags new vSwitches and EIPs after creating them: the request's "
                                       "tags; another workspace's resources are denied (NeverTagAnotherWorkspacesResources)",
    "NeverTagAnotherWorkspacesResources": "a Deny",
    "NoNewIdentitiesOrKeys": "a Deny",
    "CreateWhatTheProviderTagsNext": "provider 1.289.0 creates vSwitches and EIPs with no tag in the request (a new, "
                                     "empty resource; tagging it next is conditioned)",
    "HealthGateReads": "the provider reads the gate's command and polls its invocation; RAM's resource-level control "
                       "for them is not documented (docs/guides/security.md: the residual); only with the gate on",
}


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return policy["Statement"]


def test_the_shipped_policy_is_the_generated_one_for_the_default_workspace() -> None:
    shipped = json.loads((ROOT / "config" / "deployer-ram-policy.json").read_text())
    assert [statement for part in shipped for statement in part["Statement"]] == deployer_policy("opencode")["Statement"]
    assert (ROOT / "config" / "deployer-ram-policy.json").read_text() == policy_parts_text("opencode")


@pytest.mark.parametrize("name", ["opencode", "team-a", "abcdefghijklmnopqrstuvwx"])  # the longest name: 24
def test_each_part_is_a_document_ram_accepts_and_together_they_are_the_policy(name: str) -> None:
    """RAM's CreatePolicy takes 1 to 6,144 characters; RAM evaluates all of an identity's policies together, so
    the parts, in order, are the policy. The control: the policy whole is longer than RAM takes."""
    whole = deployer_policy(name)
    parts = policy_parts(whole)
    assert all(0 < len(compact(part)) <= 6144 for part in parts), [len(compact(part)) for part in parts]
    assert [statement for part in parts for statement in part["Statement"]] == whole["Statement"]
    assert all(part["Version"] == "1" for part in parts)
    assert len(compact(whole)) > 6144 and len(parts) > 1
    with pytest.raises(ValueError, match="alone exceeds RAM's 6144 characters"):
        policy_parts({"Version": "1", "Statement": [{"Sid": "Huge", "Action": ["ecs:DescribeInstances"] * 400}]})


@pytest.mark.parametrize("name", ["opencode", "team-a"])
def test_no_star_next_to_a_write_or_a_secret_read_without_a_reason(name: str) -> None:
    for statement in _statements(deployer_policy(name)):
        actions = set(statement["Action"])
        if statement["Resource"] == "*" or "*" in statement["Resource"]:
            assert statement["Sid"] in STAR_ALLOWED, statement
            if statement["Sid"] == "ReadForPlanning":
                assert all(a.split(":")[1].startswith(READ_VERBS) for a in actions)
                assert not actions & SECRET_READS
            elif statement["Sid"] == "CreateWhatTheProviderTagsNext":  # creates only: nothing that exists is reached
                assert actions == {"vpc:CreateVSwitch", "vpc:AllocateEipAddress"}
            elif statement["Sid"] == "HealthGateReads":  # reads only
                assert actions == {"ecs:DescribeCommands", "ecs:DescribeInvocations"}
            elif statement["Effect"] == "Allow":
                condition = json.dumps(statement.get("Condition", {}))
                assert f'"{name}"' in condition or "acs:ViaService" in condition, statement
        if actions & SECRET_READS and statement["Sid"] != "KmsOnlyThroughOos":
            assert statement["Resource"] == [f"acs:oos:*:*:secretparameter/{name}-{key}" for key in
                                             ("web-password", "model-server-api-key", "model-api-key", "github-token")]


@pytest.mark.parametrize("name", ["opencode", "team-a"])
def test_of_ram_the_deployer_may_only_pass_this_workspaces_roles(name: str) -> None:
    """Security review 2, #3: whoever writes a role's policy can give it any right and use it through an instance
    it starts, so the roles are an administrator's (opencode-roles) and the deployer writes no RAM at all."""
    for statement in _statements(deployer_policy(name)):
        ram = [a for a in statement["Action"] if a.startswith("ram:") and not a.split(":")[1].startswith(READ_VERBS)]
        if not ram or statement["Effect"] == "Deny":
            continue
        if statement["Sid"] == "ImageBuildersServiceLinkedRole":  # ECS's own role for Image Builder, nothing else
            assert statement["Action"] == ["ram:CreateServiceLinkedRole"]
            assert statement["Resource"] == ["acs:ram:*:*:role/aliyunserviceroleforecsimagebuilder"]
            assert statement["Condition"] == {"StringEquals": {"ram:ServiceName": "imagebuilder.ecs.aliyuncs.com"}}
            continue
        assert ram == ["ram:PassRole"], statement
        assert sorted(r.rsplit("/", 1)[1] for r in statement["Resource"]) == sorted(
            f"{name}{suffix}" for suffix in ("-instance", "-model-instance", "-schedule"))
    denied = next(s for s in _statements(deployer_policy(name)) if s["Sid"] == "NoNewIdentitiesOrKeys")
    assert {"ram:CreateUser", "ram:CreateAccessKey", "ram:AttachPolicyToUser"} <= set(denied["Action"])


# What a deployer that may write its roles' policies would do (the review's chain), on its own roles' names.
RAM = "acs:ram::1234"
POLICY_WRITES = [("ram:CreatePolicyVersion", "policy/alice-instance-read-secrets"),
                 ("ram:SetDefaultPolicyVersion", "policy/alice-instance-read-secrets"),
                 ("ram:CreatePolicy", "policy/alice-instance-anything"),
                 ("ram:AttachPolicyToRole", "role/alice-instance"),
                 ("ram:AttachPolicyToRole", "policy/AdministratorAccess"),
                 ("ram:UpdateRole", "role/alice-instance"),
                 ("ram:CreateRole", "role/alice-instance")]


def test_the_deployer_can_neither_write_its_roles_policies_nor_pass_anothers_roles() -> None:
    from ram_eval import Request, Resource, allowed

    policy = deployer_policy("alice")
    for action, resource in POLICY_WRITES:
        assert not allowed(policy, Request(action, (Resource(f"{RAM}:{resource}", {}),))), (action, resource)
    assert allowed(policy, Request("ram:PassRole", (Resource(f"{RAM}:role/alice-instance", {}),)))
    assert not allowed(policy, Request("ram:PassRole", (Resource(f"{RAM}:role/bob-instance", {}),)))
    assert not allowed(policy, Request("ram:PassRole", (Resource(f"{RAM}:role/AliyunECSAdmin", {}),)))


def test_the_policy_write_test_fails_on_a_deployer_that_manages_its_roles() -> None:
    """The control: the policy before the fix allowed RAM writes on this workspace's role and policy names."""
    from ram_eval import Request, Resource, allowed

    before = deployer_policy("alice")
    names = [f"{RAM}:role/alice-instance", f"{RAM}:policy/alice-instance-read-secrets", f"{RAM}:policy/alice-instance-anything"]
    before["Statement"] = [s for s in before["Statement"] if s["Sid"] != "NoNewIdentitiesOrKeys"] + [
        {"Sid": "RolesAndPoliciesOfThisWorkspace", "Effect": "Allow", "Resource": names,
         "Action": sorted({action for action, _ in POLICY_WRITES})}]
    assert [a for a, r in POLICY_WRITES if allowed(before, Request(a, (Resource(f"{RAM}:{r}", {}),)))] == [
        "ram:CreatePolicyVersion", "ram:SetDefaultPolicyVersion", "ram:CreatePolicy", "ram:AttachPolicyToRole",
        "ram:UpdateRole", "ram:CreateRole"]


def test_the_policy_names_what_the_stack_creates(tmp_path) -> None:
    settings = dict(name="team-a", model_server={"enabled": True}, idle_stop_minutes=60, schedule={"enabled": True},
                    egress={"mode": "allowlist"}, audit={"enabled": True, "bucket": "team-a-audit", "ship_access_log": True})
    document = synth(tmp_path, **settings)
    policy = json.dumps(deployer_policy("team-a"))
    assert not {"alicloud_ram_role", "alicloud_ram_policy", "alicloud_ram_role_policy_attachment"} & set(document["resource"])
    passed = {a["ram_role_name"] for a in document["resource"]["alicloud_ecs_ram_role_attachment"].values()}
    passed |= {json.loads(e["parameters"])["OOSAssumeRole"] for e in document["resource"]["alicloud_oos_execution"].values()}
    admin = synth_roles(tmp_path / "roles", **settings)  # the roles it passes: exactly the administrator's
    assert passed == {r["role_name"] for r in admin["resource"]["alicloud_ram_role"].values()}
    for role in passed:
        assert f"role/{role}\"" in policy
    for parameter in document["resource"]["alicloud_oos_secret_parameter"].values():
        assert parameter["secret_parameter_name"].startswith("team-a-")
    for template in document["resource"]["alicloud_oos_template"].values():
        assert f"template/{template['template_name']}\"" in policy
    for execution in document["resource"]["alicloud_oos_execution"].values():
        name = execution["template_name"]
        assert name.startswith("${alicloud_oos_template.") or f"template/{name}\"" in policy


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_taggable_resource_carries_the_tags_the_conditions_check(variant: str, tmp_path) -> None:
    schema = json.loads((SCHEMAS / "alicloud-1.289.0.json").read_text())
    resources = schema["provider_schemas"]["registry.terraform.io/aliyun/alicloud"]["resource_schemas"]
    document = synth(tmp_path, **VARIANTS[variant])
    name = VARIANTS[variant].get("name", "opencode")
    for type_name, items in document["resource"].items():
        if "tags" not in resources.get(type_name, {}).get("block", {}).get("attributes", {}):
            continue
        for item in items.values():
            assert item["tags"]["workspace"] == name and item["tags"]["managed-by"] == "opencode-alicloud", type_name


def test_the_policy_covers_every_service_the_stack_uses(tmp_path) -> None:
    policy = deployer_policy("opencode")
    actions = {action for statement in policy["Statement"] if statement["Effect"] == "Allow" for action in statement["Action"]}
    services = {action.split(":")[0] for action in actions}
    document = synth(tmp_path, **VARIANTS["all-options"])
    needed = {
        "alicloud_vpc": "vpc", "alicloud_vswitch": "vpc", "alicloud_eip_address": "vpc", "alicloud_eip_association": "vpc",
        "alicloud_security_group": "ecs", "alicloud_security_group_rule": "ecs", "alicloud_instance": "ecs",
        "alicloud_ecs_disk": "ecs", "alicloud_ecs_disk_attachment": "ecs", "alicloud_ecs_key_pair": "ecs",
        "alicloud_ecs_auto_snapshot_policy": "ecs", "alicloud_ecs_auto_snapshot_policy_attachment": "ecs",
        "alicloud_ram_role": "ram", "alicloud_ram_policy": "ram", "alicloud_ram_role_policy_attachment": "ram",
        "alicloud_ecs_ram_role_attachment": "ecs",
        "alicloud_oos_secret_parameter": "oos", "random_password": None, "terraform_data": None,
        "alicloud_oos_template": "oos", "alicloud_oos_execution": "oos",  # the schedule
        "alicloud_ecs_image_pipeline": "ecs", "alicloud_ecs_image_pipeline_execution": "ecs",  # the image stack
        "alicloud_ecs_command": "ecs", "alicloud_ecs_invocation": "ecs",  # the health gate
    }
    baked = synth_app(tmp_path / "baked", image_source="baked")["opencode-image"]
    assert {"ecs:CreateImagePipeline", "ecs:StartImagePipelineExecution", "ram:CreateServiceLinkedRole"} <= actions
    for type_name in [*document["resource"], *baked["resource"]]:
        assert type_name in needed, f"{type_name}: add its actions to deployer_policy.py"
        assert needed[type_name] is None or needed[type_name] in services
    assert {"ram:PassRole", "ecs:ModifyInstanceMetadataOptions", "ecs:AttachInstanceRamRole"} <= actions
    assert READ_FOR_PLANNING  # and nothing else on "*" unconditionally (above)


def test_a_workspaces_secret_rights_never_reach_another_whose_name_it_prefixes() -> None:
    """Workspace `alice` may not touch `alice-gpu`'s parameters (security review 2, #4): `alice-*` did. RAM's `*`
    matches any characters, as fnmatch's does."""
    from fnmatch import fnmatchcase

    from opencode_alicloud.secrets import SECRET_KEYS, secret_parameter_name

    theirs = [f"acs:oos:ap-southeast-1:1234:secretparameter/{secret_parameter_name('alice-gpu', key)}" for key in SECRET_KEYS]
    mine = [f"acs:oos:ap-southeast-1:1234:secretparameter/{secret_parameter_name('alice', key)}" for key in SECRET_KEYS]
    for statement in _statements(deployer_policy("alice")):
        patterns = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        touches = {"oos:CreateSecretParameter", "oos:UpdateSecretParameter", "oos:DeleteSecretParameter",
                   "oos:GetSecretParameter", "oos:GetSecretParameters"}
        if touches & set(statement["Action"]) and statement["Effect"] == "Allow":
            assert not [arn for arn in theirs if any(fnmatchcase(arn, p) for p in patterns)], statement
            assert all(any(fnmatchcase(arn, p) for p in patterns) for arn in mine), statement


def _named(name: str) -> set[str]:
    """What workspace `name`'s deployer may touch by exact name: roles, secret parameters, templates (not ECS's
    service-linked role for Image Builder nor OOS's public templates, the account's and Alibaba's by design)."""
    found = set()
    for statement in _statements(deployer_policy(name)):
        if statement["Effect"] == "Allow" and statement["Sid"] != "ImageBuildersServiceLinkedRole":
            resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
            found |= {arn.rsplit(":", 1)[-1] for arn in resources if "*" not in arn.rsplit(":", 1)[-1]
                      and not arn.rsplit(":", 1)[-1].startswith("template/ACS-")}
    return found


def _valid(name: str) -> bool:
    from opencode_settings import SettingsError, load_settings

    try:
        load_settings(name=name)
    except SettingsError:
        return False
    return True


# Another workspace's name is this one's with a tail: the tails the project's own names use, and any name.
TAILS = st.one_of(st.sampled_from(["model", "instance", "schedule", "model-instance", "model-server", "gpu", "stop",
                                   "schedule-stop", "web-password", "model-api-key"]), NAMES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=NAMES, tail=TAILS)
def test_no_two_valid_workspaces_name_the_same_role_secret_or_template(first: str, tail: str) -> None:
    """Security review 2, follow-up: `alice`'s model server role was workspace `alice-model`'s instance role, and
    alice's deployer may pass it. Names ending in -model are refused, so no two valid workspaces share a name."""
    second = f"{first}-{tail}"
    assume(_valid(first) and _valid(second))
    assert not _named(first) & _named(second)


def test_the_name_test_fails_where_the_names_collide() -> None:
    """The control: without the settings' rule, alice and alice-model share a role."""
    assert not _valid("alice-model")
    assert "role/alice-model-instance" in _named("alice") & _named("alice-model")


def test_no_two_workspaces_of_a_team_share_a_role_or_policy_of_the_administrators_stack(tmp_path) -> None:
    """The names the roles stack makes (roles, their policies: read-secrets, stop-self, ship-logs, start-stop),
    every feature on, for a workspace and the same name with each tail the project's names use: all distinct."""
    tails = ["instance", "schedule", "gpu", "stop", "model-server", "model-instance", "read-secrets", "stop-self",
             "ship-logs", "start-stop"]
    team = {"alice": {}} | {f"alice-{tail}": {} for tail in tails}
    roles = synth_app(tmp_path, workspaces=team, idle_stop_minutes=30, schedule={"enabled": True},
                      model_server={"enabled": True},
                      audit={"enabled": True, "bucket": "acme-opencode-audit", "ship_access_log": True},
                      )["opencode-roles"]["resource"]
    names = [r["role_name"] for r in roles["alicloud_ram_role"].values()] + [
        p["policy_name"] for p in roles["alicloud_ram_policy"].values()]
    assert len(names) >= 11 * 7 and len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("action", ["ecs:DescribeUserData", "ecs:GetInstanceConsoleOutput"])
def test_other_instances_user_data_and_consoles_are_out_of_reach(action: str) -> None:
    """Allowed on `*` they reached every instance of the account (security review 2, #5): only with this
    workspace's tags now. (RAM's evaluation of the condition is not run offline.)"""
    granted = [s for s in _statements(deployer_policy("alice")) if action in s["Action"] and s["Effect"] == "Allow"]
    assert granted and all(s["Condition"]["StringEquals"]["acs:ResourceTag/workspace"] == "alice" for s in granted), granted


# --- tag chains (security review 2, #2), judged by RAM's documented evaluation (tests/harness/ram_eval.py) -------

ACCOUNT = "acs:ecs:ap-southeast-1:1234"
MINE = {"workspace": "alice", "managed-by": "opencode-alicloud"}
BOBS = {"workspace": "bob", "managed-by": "opencode-alicloud"}


def _chain_requests(owner: dict[str, str] | None) -> list[Any]:
    """The steps of the chains the review found, against resources that `owner`'s tags mark (None: untagged)."""
    from ram_eval import Request, Resource

    return [
        Request("ecs:TagResources", (Resource(f"{ACCOUNT}:instance/i-target", owner),), MINE),
        Request("ecs:TagResources", (Resource(f"{ACCOUNT}:securitygroup/sg-target", owner),), MINE),
        Request("ecs:TagResources", (Resource(f"{ACCOUNT}:disk/d-target", owner),), MINE),
        Request("vpc:TagResources", (Resource("acs:vpc:ap-southeast-1:1234:eip/eip-target", owner),), MINE),
        Request("ecs:CreateSnapshot", (Resource(f"{ACCOUNT}:disk/d-target", owner), Resource(f"{ACCOUNT}:snapshot/*")), MINE),
        Request("ecs:CreateDisk", (Resource(f"{ACCOUNT}:disk/*"), Resource(f"{ACCOUNT}:snapshot/s-target", owner)), MINE),
        Request("ecs:AttachDisk", (Resource(f"{ACCOUNT}:disk/d-target", owner),)),
        Request("ecs:AuthorizeSecurityGroup", (Resource(f"{ACCOUNT}:securitygroup/sg-target", owner),)),
        Request("vpc:AssociateEipAddress", (Resource("acs:vpc:ap-southeast-1:1234:eip/eip-target", owner),)),
    ]


def test_no_step_of_a_tag_chain_reaches_another_workspaces_resources() -> None:
    from ram_eval import allowed

    policy = deployer_policy("alice")
    for request in _chain_requests(BOBS):
        assert not allowed(policy, request), request
    for request in _chain_requests(MINE):  # the same calls on its own resources: what deploy and `down` need
        assert allowed(policy, request), request


def test_what_the_provider_and_the_cli_do_first_stays_allowed() -> None:
    """Provider 1.289.0 creates vSwitches and EIPs untagged and tags them next; `down --snapshot` snapshots the
    data disk; the data disk is created tagged and from no snapshot."""
    from ram_eval import Request, Resource, allowed

    policy = deployer_policy("alice")
    assert allowed(policy, Request("vpc:TagResources", (Resource("acs:vpc:ap-southeast-1:1234:vswitch/vsw-new", {}),), MINE))
    assert allowed(policy, Request("ecs:CreateDisk", (Resource(f"{ACCOUNT}:disk/*"),), MINE))
    assert not allowed(policy, Request("ecs:CreateDisk", (Resource(f"{ACCOUNT}:disk/*"),), BOBS))
    assert not allowed(policy, Request("vpc:TagResources", (Resource("acs:vpc:ap-southeast-1:1234:eip/eip-mine", MINE),), BOBS))


def test_the_chain_test_fails_on_the_policy_the_review_found() -> None:
    """The control: tagging and snapshots allowed with the request's tags only (the policy before the fix) let a
    chain through, so the test above can fail."""
    from ram_eval import allowed

    before = deployer_policy("alice")
    requested = next(s for s in before["Statement"] if s["Sid"] == "CreateOnlyTaggedAsThisWorkspace")
    old = {**requested, "Action": [*requested["Action"], "ecs:TagResources", "vpc:TagResources", "ecs:CreateSnapshot",
                                   "ecs:CreateDisk"]}
    before["Statement"] = [old if s is requested else s for s in before["Statement"]
                           if s["Sid"] != "NeverTagAnotherWorkspacesResources"]
    assert [r.action for r in _chain_requests(BOBS) if allowed(before, r)] == [
        "ecs:TagResources", "ecs:TagResources", "ecs:TagResources", "vpc:TagResources", "ecs:CreateSnapshot", "ecs:CreateDisk"]


def test_a_new_instance_never_boots_another_workspaces_snapshot_nor_joins_its_network() -> None:
    """ECS authorizes RunInstances on every resource it names (the new instance, its security group, vSwitch, image
    and data-disk snapshots). Alice's own launch passes: her tagged group and vSwitch, a public image, or the
    team's baked image (tagged as the file's workspace); another workspace's snapshot, group or vSwitch does not."""
    from ram_eval import Request, Resource, allowed

    policy = deployer_policy("alice")

    def launch(*named: Resource) -> Any:
        return Request("ecs:RunInstances", (Resource(f"{ACCOUNT}:instance/*"), *named), MINE)

    own = (Resource(f"{ACCOUNT}:securitygroup/sg-alice", MINE), Resource("acs:vpc:ap-southeast-1:1234:vswitch/vsw-alice", MINE))
    for image in (Resource(f"{ACCOUNT}:image/debian_13_x64", {}),
                  Resource(f"{ACCOUNT}:image/m-team-baked", {"workspace": "opencode", "managed-by": "opencode-alicloud"})):
        assert allowed(policy, launch(*own, image)), image
    assert allowed(policy, launch(Resource(f"{ACCOUNT}:securitygroup/sg-new-in-this-apply", MINE),
                                  Resource("acs:vpc:ap-southeast-1:1234:vswitch/vsw-existing", {})))  # settings.vswitch_id
    for theirs in (Resource(f"{ACCOUNT}:snapshot/s-bob-before-down", BOBS), Resource(f"{ACCOUNT}:securitygroup/sg-bob", BOBS),
                   Resource("acs:vpc:ap-southeast-1:1234:vswitch/vsw-bob", BOBS)):
        assert not allowed(policy, launch(*own, theirs)), theirs
    # The control: without the Deny, the create condition alone lets bob's snapshot through.
    before = {**policy, "Statement": [s for s in policy["Statement"] if not s["Sid"].startswith("NeverLaunch")]}
    assert allowed(before, launch(*own, Resource(f"{ACCOUNT}:snapshot/s-bob-before-down", BOBS)))


def test_the_creates_pass_as_the_provider_sends_them() -> None:
    """Provider 1.289.0: CreateVSwitch and AllocateEipAddress carry no tag (resource_alicloud_vswitch.go,
    resource_alicloud_eip_address.go), CreateVpc and the ECS creates carry the workspace's. Not in another
    workspace's VPC."""
    from ram_eval import Request, Resource, allowed

    policy = deployer_policy("alice")
    vpc = "acs:vpc:ap-southeast-1:1234"
    assert allowed(policy, Request("vpc:CreateVSwitch", (Resource(f"{vpc}:vswitch/*"), Resource(f"{vpc}:vpc/vpc-alice", MINE))))
    assert allowed(policy, Request("vpc:CreateVSwitch", (Resource(f"{vpc}:vswitch/*"), Resource(f"{vpc}:vpc/vpc-existing", {}))))
    assert not allowed(policy, Request("vpc:CreateVSwitch", (Resource(f"{vpc}:vswitch/*"), Resource(f"{vpc}:vpc/vpc-bob", BOBS))))
    assert allowed(policy, Request("vpc:AllocateEipAddress", (Resource(f"{vpc}:eip/*"),)))
    assert allowed(policy, Request("vpc:CreateVpc", (Resource(f"{vpc}:vpc/*"),), MINE))
    assert not allowed(policy, Request("vpc:CreateVpc", (Resource(f"{vpc}:vpc/*"),)))


def test_the_health_gate_runs_on_this_workspaces_instance_and_no_other() -> None:
    """Provider 1.289.0 creates the gate's command untagged (resource_alicloud_ecs_command.go) and invokes it on the
    instance: ECS authorizes InvokeCommand on the command and on the instance. A command on another workspace's
    instance would be root there (and its role's secrets): refused."""
    from ram_eval import Request, Resource, allowed

    policy = deployer_policy("alice")
    command = Resource(f"{ACCOUNT}:command/c-gate")
    assert allowed(policy, Request("ecs:CreateCommand", (Resource(f"{ACCOUNT}:command/*"),)))
    assert allowed(policy, Request("ecs:InvokeCommand", (command, Resource(f"{ACCOUNT}:instance/i-alice", MINE))))
    for theirs in (Resource(f"{ACCOUNT}:instance/i-bob", BOBS), Resource(f"{ACCOUNT}:instance/i-untagged", {})):
        assert not allowed(policy, Request("ecs:InvokeCommand", (command, theirs))), theirs
    # with the gate off (health_gate_minutes = 0), the deployer has no Cloud Assistant right at all
    off = json.dumps(deployer_policy("alice", health_gate=False))
    assert not any(action in off for action in ("Command", "Invocation"))
    # the control: with the instance statement on every instance, bob's is reached
    loose = {**policy, "Statement": [{**s, "Condition": {}} if s["Sid"] == "HealthGateRunsOnlyOnThisWorkspacesInstances"
                                     else s for s in policy["Statement"]]}
    assert allowed(loose, Request("ecs:InvokeCommand", (command, Resource(f"{ACCOUNT}:instance/i-bob", BOBS))))


def test_an_untagged_vpc_resource_can_be_claimed_and_a_reserved_one_cannot() -> None:
    """The residual in docs/guides/security.md, held to the policy: RAM cannot test for an absent tag, so an untagged EIP of the
    account can be tagged as alice's and then moved or released; one tagged managed-by=opencode-alicloud with
    another workspace (the advice in docs/guides/security.md for EIPs the deployer must not reach) cannot."""
    from ram_eval import Request, Resource, allowed

    policy = deployer_policy("alice")
    for owner, reachable in (({}, True), ({"managed-by": "opencode-alicloud", "workspace": "RESERVED"}, False)):
        eip = Resource("acs:vpc:ap-southeast-1:1234:eip/eip-production", owner)
        assert allowed(policy, Request("vpc:TagResources", (eip,), MINE)) is reachable
    claimed = Resource("acs:vpc:ap-southeast-1:1234:eip/eip-production", MINE)  # after the tagging
    assert allowed(policy, Request("vpc:ReleaseEipAddress", (claimed,)))
