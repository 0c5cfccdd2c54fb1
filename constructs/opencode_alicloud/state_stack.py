"""The team state stack (opencode-state): an OSS bucket for state and a Tablestore lock table.
Deployed once per team, with local state (scripts/state-bootstrap); `cdktf destroy opencode`
never touches it, and its bucket and table are protected against an accidental destroy."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cdktf import LocalBackend, TerraformOutput, TerraformResourceLifecycle, TerraformStack
from constructs import Construct

from imports.alicloud.oss_bucket import OssBucket, OssBucketLifecycleRule, OssBucketLifecycleRuleNoncurrentVersionExpiration
from imports.alicloud.oss_bucket_acl import OssBucketAcl
from imports.alicloud.oss_bucket_public_access_block import OssBucketPublicAccessBlock
from imports.alicloud.oss_bucket_server_side_encryption import OssBucketServerSideEncryption
from imports.alicloud.oss_bucket_versioning import OssBucketVersioningA as OssBucketVersioning  # name clash with OssBucket.versioning
from imports.alicloud.ots_instance import OtsInstance
from imports.alicloud.ots_table import OtsTable, OtsTablePrimaryKey
from imports.alicloud.provider import AlicloudProvider
from imports.alicloud.ram_policy import RamPolicy
from opencode_settings import Settings

from .instance.terraform_text import literal_tags
from .policy.aspect import add_policy

STATE_STACK_ID = "opencode-state"


@dataclass(frozen=True)
class StateStackProps:
    region: str
    bucket: str
    ots_instance: str
    lock_table: str
    noncurrent_version_days: int
    team_policy: bool
    protect: bool
    tags: dict[str, str]
    state_file: Path  # local state of this stack (absolute)
    state_prefix: str = "opencode"  # backend.prefix: each workspace's state is under <prefix>/<name>/
    workspaces: tuple[str, ...] = ()  # one RAM policy each: that workspace's state only

    @classmethod
    def from_settings(cls, settings: Settings, state_dir: Path) -> StateStackProps:
        state = settings.state
        assert state.bucket is not None
        return cls(
            region=settings.region, bucket=state.bucket, ots_instance=state.ots_instance, lock_table=state.lock_table,
            noncurrent_version_days=state.noncurrent_version_days, team_policy=state.team_policy, protect=state.protect,
            tags=literal_tags(settings.tags) | {"managed-by": "opencode-alicloud", "purpose": "terraform-state"},
            state_file=state_dir / f"{STATE_STACK_ID}.tfstate",
            state_prefix=settings.backend.prefix, workspaces=tuple(state.workspaces),
        )


def team_policy_document(region: str, bucket: str, ots_instance: str, lock_table: str, folder: str = "") -> dict:
    """Read/write state objects (all of them, or only those under `folder`/), use the lock table.

    A state holds its workspace's web password and the keys given at deploy time: whoever may read
    a workspace's state may read those. The lock table holds lock ids and digests, no secret."""
    listing: dict = {"Effect": "Allow", "Action": ["oss:ListObjects", "oss:GetBucketInfo"], "Resource": [f"acs:oss:*:*:{bucket}"]}
    if folder:
        listing["Condition"] = {"StringLike": {"oss:Prefix": [f"{folder}/*"]}}
    return {
        "Version": "1",
        "Statement": [
            listing,
            {
                "Effect": "Allow",
                "Action": ["oss:GetObject", "oss:PutObject", "oss:DeleteObject", "oss:GetObjectVersion"],
                "Resource": [f"acs:oss:*:*:{bucket}/{folder}/*" if folder else f"acs:oss:*:*:{bucket}/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["ots:GetRow", "ots:PutRow", "ots:UpdateRow", "ots:DeleteRow", "ots:DescribeTable"],
                "Resource": [f"acs:ots:{region}:*:instance/{ots_instance}/table/{lock_table}"],
            },
        ],
    }


class StateStack(TerraformStack):
    """Exposes `bucket`, `versioning`, `encryption`, `public_access_block`, `acl`, `ots_instance`,
    `lock_table`, `team_policy` (or None) and `outputs` (the backend settings teammates need)."""

    def __init__(self, scope: Construct, id: str, props: StateStackProps) -> None:
        super().__init__(scope, id)
        LocalBackend(self, path=str(props.state_file))
        add_policy(self)
        AlicloudProvider(self, "alicloud", region=props.region)
        keep = TerraformResourceLifecycle(prevent_destroy=props.protect)
        self._bucket(props, keep)
        self._locks(props, keep)
        self._policies(props)
        self._outputs(props)

    def _bucket(self, props: StateStackProps, keep: TerraformResourceLifecycle) -> None:
        self.bucket = OssBucket(
            self,
            "bucket",
            bucket=props.bucket,
            force_destroy=False,
            storage_class="Standard",
            redundancy_type="ZRS",
            lifecycle_rule=[
                OssBucketLifecycleRule(
                    id="expire-old-state-versions",
                    enabled=True,
                    prefix="",
                    noncurrent_version_expiration=[
                        OssBucketLifecycleRuleNoncurrentVersionExpiration(days=props.noncurrent_version_days)
                    ],
                )
            ],
            tags=props.tags,
            lifecycle=keep,
        )
        self.acl = OssBucketAcl(self, "acl", bucket=self.bucket.bucket, acl="private")
        self.public_access_block = OssBucketPublicAccessBlock(
            self, "public-access-block", bucket=self.bucket.bucket, block_public_access=True
        )
        self.versioning = OssBucketVersioning(self, "versioning", bucket=self.bucket.bucket, status="Enabled")
        self.encryption = OssBucketServerSideEncryption(
            self, "encryption", bucket=self.bucket.bucket, sse_algorithm="KMS"
        )

    def _locks(self, props: StateStackProps, keep: TerraformResourceLifecycle) -> None:
        self.ots_instance = OtsInstance(
            self,
            "locks",
            name=props.ots_instance,
            description="Terraform state locks",
            instance_type="Capacity",
            tags=props.tags,
            lifecycle=keep,
        )
        self.lock_table = OtsTable(
            self,
            "lock-table",
            instance_name=self.ots_instance.name,
            table_name=props.lock_table,
            primary_key=[OtsTablePrimaryKey(name="LockID", type="String")],
            time_to_live=-1,
            max_version=1,
            lifecycle=keep,
        )

    def _policies(self, props: StateStackProps) -> None:
        self.team_policy: RamPolicy | None = None
        if props.team_policy:
            self.team_policy = RamPolicy(
                self,
                "team-policy",
                policy_name=f"{props.bucket}-state-access",
                description="Use the OpenCode workspaces' Terraform state and its lock",
                policy_document=json.dumps(
                    team_policy_document(props.region, props.bucket, props.ots_instance, props.lock_table),
                    sort_keys=True,
                ),
                tags=props.tags,
            )
        # Per-user access: one policy per workspace, for its own state folder only.
        self.workspace_policies: dict[str, RamPolicy] = {}
        for workspace in props.workspaces:
            self.workspace_policies[workspace] = RamPolicy(
                self,
                f"workspace-policy-{workspace}",
                policy_name=f"{props.bucket}-state-{workspace}",
                description=f"Use the Terraform state of the OpenCode workspace {workspace} only",
                policy_document=json.dumps(
                    team_policy_document(props.region, props.bucket, props.ots_instance, props.lock_table,
                                         folder=f"{props.state_prefix}/{workspace}"),
                    sort_keys=True,
                ),
                tags=props.tags,
            )

    def _outputs(self, props: StateStackProps) -> None:
        endpoint = f"https://{props.ots_instance}.{props.region}.ots.aliyuncs.com"
        values = {
            "backend_kind": ("oss", "OPENCODE_ALICLOUD_BACKEND__KIND"),
            "backend_bucket": (self.bucket.bucket, "OPENCODE_ALICLOUD_BACKEND__BUCKET"),
            "backend_region": (props.region, "OPENCODE_ALICLOUD_BACKEND__REGION"),
            "backend_tablestore_endpoint": (endpoint, "OPENCODE_ALICLOUD_BACKEND__TABLESTORE_ENDPOINT"),
            "backend_tablestore_table": (self.lock_table.table_name, "OPENCODE_ALICLOUD_BACKEND__TABLESTORE_TABLE"),
        }
        self.outputs: dict[str, TerraformOutput] = {}
        for name, (value, setting) in values.items():
            output = TerraformOutput(self, name, value=value, description=f"Setting {setting}")
            output.override_logical_id(name)
            self.outputs[name] = output
        if self.team_policy is not None:
            output = TerraformOutput(
                self, "team_policy_name", value=self.team_policy.policy_name,
                description="Attach this RAM policy to teammates (users or groups) who deploy workspaces",
            )
            output.override_logical_id("team_policy_name")
            self.outputs["team_policy_name"] = output
