"""Access: the instance role may read exactly this workspace's secret parameters, nothing else."""
from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from imports.alicloud.ram_policy import RamPolicy
from imports.alicloud.ram_role_policy_attachment import RamRolePolicyAttachment


@dataclass(frozen=True)
class AccessProps:
    name: str
    region: str
    role_name: str
    parameter_names: list[str]  # tokens or literal names of OOS secret parameters
    tags: dict[str, str]


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


class Access(Construct):
    """Exposes `policy` and `attachment`."""

    def __init__(self, scope: Construct, id: str, props: AccessProps) -> None:
        super().__init__(scope, id)
        self.policy = RamPolicy(
            self,
            "read-secrets",
            policy_name=f"{props.name}-instance-read-secrets",
            description="OpenCode workspace instance: read its own secret parameters only",
            policy_document=json.dumps(read_secrets_policy(props.region, props.parameter_names), sort_keys=True),
            tags=props.tags,
        )
        self.attachment = RamRolePolicyAttachment(
            self,
            "attach",
            policy_name=self.policy.policy_name,
            policy_type="Custom",
            role_name=props.role_name,
        )
