"""Access: the instance role may read exactly this workspace's secret parameters and, with the idle
stop on, stop exactly this instance, and with audit.ship_access_log add objects under this workspace's
prefix of the audit bucket; nothing else."""
from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from imports.alicloud.ram_policy import RamPolicy
from imports.alicloud.ram_role_policy_attachment import RamRolePolicyAttachment

from opencode_settings import MANAGED_BY

from .instance.layout import ACCESS_LOG_PREFIX
from .host import role_policy


@dataclass(frozen=True)
class AccessProps:
    name: str
    region: str
    role_name: str
    parameter_names: list[str]  # the OOS secret parameters' names
    tags: dict[str, str]
    stop_self: bool = False  # the role may stop this workspace's instances (idle_stop_minutes)
    ship_bucket: str | None = None  # the audit bucket the access log is copied to


def read_secrets_policy(region: str, parameter_names: list[str]) -> dict:
    """GetSecretParameter on these parameters only, with the KMS GetSecretValue permission that
    OOS requires for encrypted parameters (as in OOS's "Control access to different encryption
    parameters" guide), on the same resources."""
    return {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["oos:GetSecretParameter", "kms:GetSecretValue"],
                "Resource": [f"acs:oos:{region}:*:secretparameter/{name}" for name in parameter_names],
            }
        ],
    }


def this_workspaces_instances(region: str, workspace: str) -> dict:
    """A statement's Resource and Condition for the instances tagged as workspace `workspace`'s: the roles are made
    before the instances (stack opencode-roles), so a policy names them by their tags, not their ids."""
    return {"Resource": [f"acs:ecs:{region}:*:instance/*"],
            "Condition": {"StringEquals": {"acs:ResourceTag/workspace": workspace, "acs:ResourceTag/managed-by": MANAGED_BY}}}


def stop_self_policy(region: str, workspace: str) -> dict:
    """StopInstance on this workspace's instances only: the idle check stops its own instance, none of another
    workspace (the deployer cannot tag another's instances as this one's: security review 2, #2)."""
    return {"Version": "1",
            "Statement": [{"Effect": "Allow", "Action": ["ecs:StopInstance"], **this_workspaces_instances(region, workspace)}]}


def ship_logs_policy(bucket: str, prefix: str) -> dict:
    """PutObject under `prefix` of the audit bucket only: no read, no list, no delete. The bucket keeps every
    version and refuses deletes, so a write can add but never take away."""
    return {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": ["oss:PutObject"], "Resource": [f"acs:oss:*:*:{bucket}/{prefix}/*"]}
        ],
    }


class Access(Construct):
    """Exposes `policy` and `attachment`; with `stop_self` `stop_policy` and `stop_attachment`; with `ship_bucket`
    `ship_policy` and `ship_attachment`. Part of the administrator's stack opencode-roles."""

    def __init__(self, scope: Construct, id: str, props: AccessProps) -> None:
        super().__init__(scope, id)
        self.policy, self.attachment = role_policy(
            self, ("read-secrets", "attach"), props.role_name, f"{props.name}-instance-read-secrets",
            "OpenCode workspace instance: read its own secret parameters only",
            read_secrets_policy(props.region, props.parameter_names), props.tags,
        )
        self.stop_policy: RamPolicy | None = None
        self.stop_attachment: RamRolePolicyAttachment | None = None
        if props.stop_self:
            self.stop_policy, self.stop_attachment = role_policy(
                self, ("stop-self", "attach-stop-self"), props.role_name, f"{props.name}-instance-stop-self",
                "OpenCode workspace instance: stop itself when idle, nothing else",
                stop_self_policy(props.region, props.name), props.tags,
            )
        self.ship_policy: RamPolicy | None = None
        self.ship_attachment: RamRolePolicyAttachment | None = None
        if props.ship_bucket:
            self.ship_policy, self.ship_attachment = role_policy(
                self, ("ship-logs", "attach-ship-logs"), props.role_name, f"{props.name}-instance-ship-logs",
                "OpenCode workspace instance: add its access log to the audit bucket, nothing else",
                ship_logs_policy(props.ship_bucket, f"{ACCESS_LOG_PREFIX}/{props.name}"), props.tags,
            )
