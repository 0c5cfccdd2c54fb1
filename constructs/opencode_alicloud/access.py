"""Access: the instance role may read exactly this workspace's secret parameters and, with the idle
stop on, stop exactly this instance; nothing else."""
from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from imports.alicloud.ram_policy import RamPolicy
from imports.alicloud.ram_role_policy_attachment import RamRolePolicyAttachment

from .host import role_policy


@dataclass(frozen=True)
class AccessProps:
    name: str
    region: str
    role_name: str
    parameter_names: list[str]  # tokens or literal names of OOS secret parameters
    tags: dict[str, str]
    stop_instance_id: str | None = None  # the instance the role may stop (a token: known after it exists)


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


def stop_self_policy(region: str, instance_id: str) -> dict:
    """StopInstance on this one instance's ARN: the idle check stops its own instance, no other."""
    return {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ecs:StopInstance"],
                "Resource": [f"acs:ecs:{region}:*:instance/{instance_id}"],
            }
        ],
    }


class Access(Construct):
    """Exposes `policy` and `attachment`, and with `stop_instance_id` `stop_policy` and `stop_attachment`
    (the policy names the instance, so it exists only after the instance does)."""

    def __init__(self, scope: Construct, id: str, props: AccessProps) -> None:
        super().__init__(scope, id)
        self.policy, self.attachment = role_policy(
            self, ("read-secrets", "attach"), props.role_name, f"{props.name}-instance-read-secrets",
            "OpenCode workspace instance: read its own secret parameters only",
            read_secrets_policy(props.region, props.parameter_names), props.tags,
        )
        self.stop_policy: RamPolicy | None = None
        self.stop_attachment: RamRolePolicyAttachment | None = None
        if props.stop_instance_id:
            self.stop_policy, self.stop_attachment = role_policy(
                self, ("stop-self", "attach-stop-self"), props.role_name, f"{props.name}-instance-stop-self",
                "OpenCode workspace instance: stop itself when idle, nothing else",
                stop_self_policy(props.region, props.stop_instance_id), props.tags,
            )
