"""The deployer's RAM policy for one workspace, made from the same settings as the stack.

Everything the deployer may change is this workspace's: new resources must carry the stack's
`workspace` tag (acs:RequestTag), existing ones must already carry it (acs:ResourceTag), and
RAM roles, RAM policies and OOS parameters are named by the workspace. No statement reads a
secret of another workspace, and no statement grants a write on "*" without the tag condition.

The roles the instances run with, and their policies, are not the deployer's to write (security review 2, #3):
an administrator applies the stack opencode-roles, and the deployer may only pass exactly those roles to
instances (ram:PassRole). It has no ram:CreatePolicy*, ram:AttachPolicyTo*, ram:SetDefaultPolicyVersion or
ram:UpdateRole, and a Deny says so whatever else it is given.

RAM takes a policy document of at most 6,144 characters, so the policy is handed out in parts (`policy_parts`);
RAM evaluates every policy attached to an identity together, so the parts allow exactly what the whole does.
`scripts/deployer-policy` prints the parts; config/deployer-ram-policy.json is the default workspace's, kept equal
to this module's output by a test.
"""
from __future__ import annotations

import json
from typing import Any

from opencode_settings import MANAGED_BY

from .instance.layout import model_server_role_name, workspace_role_name
from .schedule import START_TEMPLATE, schedule_role_name
from .secrets import SECRET_KEYS, secret_parameter_name


# Read-only calls Terraform makes to plan and refresh; they return no secret value. RAM gives
# most Describe calls no resource-level control, so they are on "*". (The reason for each
# exception to "no * next to a write or secret read" is in tests/test_deployer_policy.py.)
READ_FOR_PLANNING = [
    "ecs:DescribeZones", "ecs:DescribeAvailableResource", "ecs:DescribeImages", "ecs:DescribeInstances",
    "ecs:DescribeInstanceAttribute", "ecs:DescribeSecurityGroups",
    "ecs:DescribeSecurityGroupAttribute", "ecs:DescribeDisks", "ecs:DescribeAutoSnapshotPolicyEx",
    "ecs:DescribeKeyPairs", "ecs:DescribeInstanceRamRole", "ecs:DescribeTags", "ecs:ListTagResources",
    "ecs:DescribeInstanceTypes", "ecs:DescribeNetworkInterfaces",
    "ecs:DescribeAccountAttributes",  # doctor: the vCPU and security-group quotas
    "vpc:DescribeVpcs", "vpc:DescribeVpcAttribute", "vpc:DescribeVSwitches", "vpc:DescribeVSwitchAttributes",
    "vpc:DescribeEipAddresses", "vpc:ListTagResources", "vpc:DescribeRouteTableList",
    "ram:ListRoles",  # the workspace's roles looked up (alicloud_ram_roles); the roles' own reads are the administrator's
    "oos:ListSecretParameters", "oos:ListTagResources", "sts:GetCallerIdentity",
    "ecs:DescribePrice", "bss:DescribePrice",  # scripts/cost's live prices (DescribePrice, GetPayAsYouGoPrice)
    "ecs:DescribeSnapshots",
    "oos:GetTemplate", "oos:ListExecutions",  # the schedule's template and executions
    "ecs:DescribeImagePipelines", "ecs:DescribeImagePipelineExecutions",  # the image stack (image_source = baked)
]

# Calls that create a resource: allowed only when the request tags it as this workspace's.
CREATE_TAGGED = [
    "ecs:RunInstances", "ecs:CreateInstance", "ecs:CreateSecurityGroup",
    "ecs:CreateAutoSnapshotPolicy", "ecs:ImportKeyPair", "vpc:CreateVpc",
    "ecs:CreateImagePipeline",  # the image stack: Image Builder's template, tagged by the stack
]
# Provider 1.289.0 sends CreateVSwitch and AllocateEipAddress without tags (resource_alicloud_vswitch.go,
# resource_alicloud_eip_address.go) and tags the new resource next: a request-tag condition would refuse them.
CREATE_UNTAGGED = ["vpc:CreateVSwitch", "vpc:AllocateEipAddress"]
# What a new instance is made from or joins: ECS authorizes RunInstances and CreateInstance on the snapshots,
# security group and vSwitch the request names, so a deployer could boot another workspace's snapshot as a data
# disk, or join its security group (which its model server admits). Denied when they are another workspace's
# (security review 2, follow-up); on a resource whose tags ECS does not present the Deny stays silent rather than
# refusing every launch. Images are not in it: a team's workspaces all boot the image `image bake` tags as the
# file's, and an image holds no workspace's data.
LAUNCH = ["ecs:RunInstances", "ecs:CreateInstance"]
# Tags are what every other right here is conditioned on, so tagging is itself conditioned on the resource's
# tags (security review 2, #2: with only the request's tags, the deployer could tag another workspace's
# instance, disk or security group as its own and then attach, open or reboot it). ECS resources carry their
# tags from their create request (provider 1.289.0), so ECS tagging needs them already this workspace's.
TAG_ECS = ["ecs:TagResources"]
# Provider 1.289.0 creates vSwitches and EIPs without tags and tags them in a second call, and RAM has no test
# for a tag that is absent: VPC tagging is allowed with the request's tags, and denied on anything another
# workspace of this project owns (TAKEN_BY_ANOTHER below).
TAG_VPC = ["vpc:TagResources"]
# Snapshots and disks made from them: the source must be this workspace's (ECS authorizes the disk for
# CreateSnapshot and the snapshot for CreateDisk), the new one is tagged by the request.
SNAPSHOT = ["ecs:CreateSnapshot"]  # the CLI's `down --snapshot`
DISK = ["ecs:CreateDisk"]

# Calls on existing resources: allowed only on resources tagged as this workspace's.
READ_TAGGED = ["ecs:DescribeUserData", "ecs:GetInstanceConsoleOutput"]
MANAGE_TAGGED = [
    "ecs:DeleteInstance", "ecs:DeleteInstances", "ecs:StartInstance", "ecs:StopInstance", "ecs:RebootInstance",
    "ecs:ModifyInstanceAttribute", "ecs:ModifyInstanceMetadataOptions", "ecs:ModifyInstanceChargeType",
    "ecs:ModifyInstanceSpec", "ecs:DeleteSecurityGroup", "ecs:ModifySecurityGroupPolicy",
    "ecs:ModifySecurityGroupAttribute", "ecs:AuthorizeSecurityGroup", "ecs:RevokeSecurityGroup",
    "ecs:ModifySecurityGroupRule",
    "ecs:AuthorizeSecurityGroupEgress", "ecs:RevokeSecurityGroupEgress", "ecs:ModifySecurityGroupEgressRule",  # egress
    "ecs:DeleteDisk", "ecs:AttachDisk", "ecs:DetachDisk", "ecs:ModifyDiskAttribute",
    "ecs:DeleteAutoSnapshotPolicy", "ecs:ModifyAutoSnapshotPolicyEx", "ecs:ApplyAutoSnapshotPolicy",
    "ecs:CancelAutoSnapshotPolicy", "ecs:DeleteKeyPairs", "ecs:AttachKeyPair", "ecs:DetachKeyPair",
    "ecs:AttachInstanceRamRole", "ecs:DetachInstanceRamRole", "ecs:UntagResources",
    "vpc:DeleteVpc", "vpc:ModifyVpcAttribute", "vpc:DeleteVSwitch", "vpc:ModifyVSwitchAttribute",
    "vpc:ReleaseEipAddress", "vpc:AssociateEipAddress", "vpc:UnassociateEipAddress",
    "vpc:ModifyEipAddressAttribute", "vpc:UnTagResources",
    # The image stack's template and its bakes; the baked images, which `image bake` tags as this workspace's
    # (Image Builder's provider resource cannot), for `image prune`.
    "ecs:DeleteImagePipeline", "ecs:StartImagePipelineExecution", "ecs:CancelImagePipelineExecution", "ecs:DeleteImage",
    "ecs:DeleteSnapshot",  # a pruned image's snapshots (DeleteImage keeps them), tagged by `image bake`
]

# The health gate (health_gate_minutes > 0): Cloud Assistant. Provider 1.289.0 creates commands without tags
# (resource_alicloud_ecs_command.go), and RAM gives commands no other handle: any command may be made or deleted,
# but run only on this workspace's instances (InvokeCommand is authorized on the command and on each instance).
# The provider reads commands and polls invocations: those reads are on "*" (docs/guides/security.md: the residual), so they are in
# the policy only when the gate is on.
GATE_READS = ["ecs:DescribeCommands", "ecs:DescribeInvocations"]
GATE_COMMANDS = ["ecs:CreateCommand", "ecs:DeleteCommand"]
GATE_INVOKE = ["ecs:InvokeCommand"]
GATE_STOP = ["ecs:StopInvocation"]  # the provider's delete of an invocation

SECRET_PARAMETERS = [
    "oos:CreateSecretParameter", "oos:UpdateSecretParameter", "oos:DeleteSecretParameter",
    "oos:GetSecretParameter", "oos:GetSecretParameters", "oos:TagResources", "oos:UntagResources",
]
# OOS encrypts and decrypts secret parameters with KMS as the caller, through the OOS service.
KMS_THROUGH_OOS = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:GetSecretValue"]

# The schedule (schedule.enabled): this workspace's stop template, and executions of it and of the public
# start template; executions are tagged as this workspace's when started.
TEMPLATE_ACTIONS = ["oos:CreateTemplate", "oos:UpdateTemplate", "oos:DeleteTemplate", "oos:TagResources",
                    "oos:UntagResources"]
EXECUTION_ACTIONS = ["oos:CancelExecution", "oos:DeleteExecutions"]

# The instance and schedule roles and their policies are an administrator's (stack opencode-roles, security
# review 2, #3): the deployer only hands them to the instances and executions it makes.
ROLE_ACTIONS = ["ram:PassRole"]

# Image Builder's service-linked role, made by ECS on the first CreateImagePipeline of the account.
IMAGE_BUILDER_SERVICE = "imagebuilder.ecs.aliyuncs.com"
IMAGE_BUILDER_ROLE = "aliyunserviceroleforecsimagebuilder"

# Never, whatever else the deployer is given: new identities or keys, and no RAM policy written or attached.
DENIED = ["ram:CreateUser", "ram:CreateAccessKey", "ram:CreateLoginProfile", "ram:UpdateLoginProfile",
          "ram:AttachPolicyToUser", "ram:AttachPolicyToGroup", "ram:AddUserToGroup",
          "ram:CreatePolicy", "ram:CreatePolicyVersion", "ram:SetDefaultPolicyVersion", "ram:AttachPolicyToRole",
          "ram:UpdateRole", "ram:CreateRole"]


def role_names(name: str) -> list[str]:
    return [workspace_role_name(name), model_server_role_name(name), schedule_role_name(name)]


def tag_conditions(name: str) -> tuple[dict[str, Any], ...]:
    """The conditions on workspace `name`'s tags: a resource tagged as its, a request tagging as its, both, and a
    resource this project manages (any workspace's) whose workspace is not this one."""
    tagged = {"StringEquals": {"acs:ResourceTag/workspace": name, "acs:ResourceTag/managed-by": MANAGED_BY}}
    requested = {"StringEquals": {"acs:RequestTag/workspace": name, "acs:RequestTag/managed-by": MANAGED_BY}}
    both = {"StringEquals": {**tagged["StringEquals"], **requested["StringEquals"]}}
    taken = {"StringEquals": {"acs:ResourceTag/managed-by": MANAGED_BY}, "StringNotEquals": {"acs:ResourceTag/workspace": name}}
    return tagged, requested, both, taken


def deployer_policy(name: str, health_gate: bool = True) -> dict[str, Any]:
    """The RAM policy that deploys and destroys workspace `name` and nothing else; with `health_gate`, the Cloud
    Assistant rights the deploy's health gate needs (health_gate_minutes > 0)."""
    tagged, requested, both, taken = tag_conditions(name)
    roles = [f"acs:ram:*:*:role/{role}" for role in role_names(name)]
    template = f"acs:oos:*:*:template/{name}-schedule-stop"
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadForPlanning", "Effect": "Allow", "Action": READ_FOR_PLANNING, "Resource": "*"},
        {"Sid": "CreateOnlyTaggedAsThisWorkspace", "Effect": "Allow", "Action": CREATE_TAGGED, "Resource": "*",
         "Condition": requested},
        {"Sid": "CreateWhatTheProviderTagsNext", "Effect": "Allow", "Action": CREATE_UNTAGGED, "Resource": "*"},
        {"Sid": "NeverAVSwitchInAnotherWorkspacesVpc", "Effect": "Deny", "Action": ["vpc:CreateVSwitch"],
         "Resource": ["acs:vpc:*:*:vpc/*"], "Condition": taken},
        {"Sid": "NeverLaunchWithAnotherWorkspacesSnapshotsGroupOrNetwork", "Effect": "Deny", "Action": LAUNCH,
         "Resource": ["acs:ecs:*:*:snapshot/*", "acs:ecs:*:*:securitygroup/*", "acs:vpc:*:*:vswitch/*"],
         "Condition": taken},
        {"Sid": "ChangeOnlyThisWorkspacesResources", "Effect": "Allow", "Action": MANAGE_TAGGED, "Resource": "*",
         "Condition": tagged},
        {"Sid": "TagOnlyThisWorkspacesEcsResources", "Effect": "Allow", "Action": TAG_ECS, "Resource": "*",
         "Condition": both},
        {"Sid": "TagVpcResourcesAsThisWorkspaces", "Effect": "Allow", "Action": TAG_VPC, "Resource": "*",
         "Condition": requested},
        {"Sid": "NeverTagAnotherWorkspacesResources", "Effect": "Deny", "Action": [*TAG_ECS, *TAG_VPC, "ecs:UntagResources",
                                                                                    "vpc:UnTagResources"],
         "Resource": "*", "Condition": taken},
        {"Sid": "SnapshotOnlyThisWorkspacesDisks", "Effect": "Allow", "Action": SNAPSHOT,
         "Resource": ["acs:ecs:*:*:disk/*"], "Condition": tagged},
        {"Sid": "NewSnapshotsTaggedAsThisWorkspace", "Effect": "Allow", "Action": SNAPSHOT,
         "Resource": ["acs:ecs:*:*:snapshot/*"], "Condition": requested},
        {"Sid": "NewDisksTaggedAsThisWorkspace", "Effect": "Allow", "Action": DISK,
         "Resource": ["acs:ecs:*:*:disk/*"], "Condition": requested},
        {"Sid": "DisksOnlyFromThisWorkspacesSnapshots", "Effect": "Allow", "Action": DISK,
         "Resource": ["acs:ecs:*:*:snapshot/*"], "Condition": tagged},
        # Another instance's user-data and console are that workspace's business (security review 2, #5): the
        # provider reads this one's user-data, the CLI its console (boot progress).
        {"Sid": "ReadOnlyThisWorkspacesUserDataAndConsole", "Effect": "Allow", "Action": READ_TAGGED,
         "Resource": "*", "Condition": tagged},
        {"Sid": "ThisWorkspacesSecretParameters", "Effect": "Allow", "Action": SECRET_PARAMETERS,
         # Each parameter by its exact name: `<name>-*` would also match workspace `<name>-gpu`'s.
         "Resource": [f"acs:oos:*:*:secretparameter/{secret_parameter_name(name, key)}" for key in SECRET_KEYS]},
        {"Sid": "KmsOnlyThroughOos", "Effect": "Allow", "Action": KMS_THROUGH_OOS, "Resource": "*",
         "Condition": {"StringEquals": {"acs:ViaService": "oos.aliyuncs.com"}}},
        {"Sid": "PassOnlyThisWorkspacesRoles", "Effect": "Allow", "Action": ROLE_ACTIONS, "Resource": roles},
        {"Sid": "ThisWorkspacesScheduleTemplate", "Effect": "Allow", "Action": TEMPLATE_ACTIONS, "Resource": [template]},
        {"Sid": "ScheduleExecutionsTaggedAsThisWorkspace", "Effect": "Allow", "Action": ["oos:StartExecution"],
         "Resource": [template, f"acs:oos:*:*:template/{START_TEMPLATE}"], "Condition": requested},
        {"Sid": "ChangeOnlyThisWorkspacesExecutions", "Effect": "Allow", "Action": EXECUTION_ACTIONS,
         "Resource": ["acs:oos:*:*:execution/*"], "Condition": tagged},
    ]
    if health_gate:
        statements += health_gate_statements(tagged)
    statements += [
        {"Sid": "ImageBuildersServiceLinkedRole", "Effect": "Allow", "Action": ["ram:CreateServiceLinkedRole"],
         "Resource": [f"acs:ram:*:*:role/{IMAGE_BUILDER_ROLE}"],
         "Condition": {"StringEquals": {"ram:ServiceName": IMAGE_BUILDER_SERVICE}}},
        {"Sid": "NoNewIdentitiesOrKeys", "Effect": "Deny", "Action": DENIED, "Resource": "*"},
    ]
    return {"Version": "1", "Statement": statements}


def health_gate_statements(tagged: dict[str, Any]) -> list[dict[str, Any]]:
    """The Cloud Assistant rights of the deploy's health gate: its reads are on every command (RAM scopes them
    by nothing narrower), its invocations only on this workspace's instances (`tagged`)."""
    return [
        {"Sid": "HealthGateReads", "Effect": "Allow", "Action": GATE_READS, "Resource": "*"},
        {"Sid": "HealthGateCommands", "Effect": "Allow", "Action": [*GATE_COMMANDS, *GATE_INVOKE, *GATE_STOP],
         "Resource": ["acs:ecs:*:*:command/*"]},
        {"Sid": "HealthGateRunsOnlyOnThisWorkspacesInstances", "Effect": "Allow", "Action": [*GATE_INVOKE, *GATE_STOP],
         "Resource": ["acs:ecs:*:*:instance/*"], "Condition": tagged},
    ]


POLICY_DOCUMENT_LIMIT = 6144  # RAM CreatePolicy: PolicyDocument, 1 to 6,144 characters


def compact(document: dict[str, Any]) -> str:
    """A policy document as RAM receives it here: JSON without whitespace."""
    return json.dumps(document, separators=(",", ":"))


def policy_parts(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """`policy`'s statements, in order, in as few documents as RAM accepts (each at most POLICY_DOCUMENT_LIMIT
    characters compact). A statement too long for a document of its own is an error, never a silent cut."""
    parts: list[list[dict[str, Any]]] = [[]]
    for statement in policy["Statement"]:
        if parts[-1] and len(compact({"Version": "1", "Statement": [*parts[-1], statement]})) > POLICY_DOCUMENT_LIMIT:
            parts.append([])
        parts[-1].append(statement)
        if len(compact({"Version": "1", "Statement": parts[-1]})) > POLICY_DOCUMENT_LIMIT:
            raise ValueError(f"statement {statement.get('Sid')} alone exceeds RAM's {POLICY_DOCUMENT_LIMIT} characters")
    return [{"Version": "1", "Statement": statements} for statements in parts]


def policy_parts_text(name: str, health_gate: bool = True) -> str:
    """What `scripts/deployer-policy` prints: a JSON array of the parts, one compact document a line (each line is
    one RAM policy: `jq -c '.[N]'`)."""
    return "[\n" + ",\n".join(compact(part) for part in policy_parts(deployer_policy(name, health_gate))) + "\n]\n"
