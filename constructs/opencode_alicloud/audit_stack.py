"""The audit stack (opencode-audit): an ActionTrail trail of every cloud API call in the account, delivered
to an OSS bucket of its own (versioned, KMS-encrypted, private, no public access, kept `retention_days`,
nobody may delete its objects) and optionally an SLS logstore with the same retention. Deployed once by an
administrator, like the state stack; a workspace's destroy never touches it, and the workspace's instance
role has no permission on it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cdktf import TerraformOutput, TerraformResourceLifecycle, TerraformStack
from constructs import Construct

from imports.alicloud.actiontrail_trail import ActiontrailTrail
from imports.alicloud.data_alicloud_caller_identity import DataAlicloudCallerIdentity
from imports.alicloud.log_project import LogProject
from imports.alicloud.log_store import LogStore
from imports.alicloud.oss_bucket import (
    OssBucket,
    OssBucketLifecycleRule,
    OssBucketLifecycleRuleExpiration,
    OssBucketLifecycleRuleNoncurrentVersionExpiration,
)
from imports.alicloud.oss_bucket_acl import OssBucketAcl
from imports.alicloud.oss_bucket_policy import OssBucketPolicy
from imports.alicloud.oss_bucket_public_access_block import OssBucketPublicAccessBlock
from imports.alicloud.oss_bucket_server_side_encryption import OssBucketServerSideEncryption
from imports.alicloud.oss_bucket_versioning import OssBucketVersioningA as OssBucketVersioning
from imports.alicloud.oss_bucket_worm import OssBucketWorm
from imports.alicloud.provider import AlicloudProvider
from opencode_settings import AUDIT_PURPOSE, Settings

from .backend import state_backend
from .instance.terraform_text import literal_tags
from .policy.aspect import add_policy
from .policy.rules.oca_6_audit_retention import AUDIT_LOGSTORE  # CKV_OCA_6 finds the logstore by its name

AUDIT_STACK_ID = "opencode-audit"
KEY_PREFIX = "actiontrail"


@dataclass(frozen=True)
class AuditStackProps:
    name: str
    region: str
    bucket: str
    retention_days: int
    event_rw: str
    sls: bool
    protect: bool
    worm: bool
    tags: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditStackProps:
        audit = settings.audit
        assert audit.bucket is not None
        return cls(name=settings.name, region=settings.region, bucket=audit.bucket, retention_days=audit.retention_days,
                   event_rw=audit.event_rw, sls=audit.sls, protect=audit.protect, worm=audit.worm,
                   tags=literal_tags(settings.tags) | {"managed-by": "opencode-alicloud", "purpose": AUDIT_PURPOSE})


# What would erase the logs without deleting one: a lifecycle rule that expires them (or none at all), versioning
# suspended, the policy itself dropped, a WORM policy not yet locked aborted, the bucket removed; and what would
# make them unreadable or public: the encryption moved to another key, the ACL or the public access block changed
# (security review 2, follow-up). Bucket-level actions: OSS matches them against the bucket's own ARN, never
# against `<bucket>/*`.
BUCKET_LEVEL_DENIED = ["oss:PutBucketLifecycle", "oss:DeleteBucketLifecycle", "oss:PutBucketVersioning",
                       "oss:PutBucketPolicy", "oss:DeleteBucketPolicy", "oss:AbortBucketWorm", "oss:DeleteBucket",
                       "oss:PutBucketEncryption", "oss:DeleteBucketEncryption", "oss:PutBucketAcl",
                       "oss:PutBucketPublicAccessBlock", "oss:DeleteBucketPublicAccessBlock"]
OBJECT_LEVEL_DENIED = ["oss:DeleteObject", "oss:DeleteObjectVersion", "oss:PutObjectAcl"]


def no_delete_policy(account_id: str, bucket: str) -> dict:
    """Nobody deletes a log, and nobody changes what keeps them (security review 2, #6): not the workspace, not a
    RAM user or role with AliyunOSSFullAccess. OSS exempts the bucket owner (the root account) from a bucket
    policy without a condition: it alone can still change this policy, a call the trail records; `audit.worm`
    binds the root account too."""
    return {
        "Version": "1",
        "Statement": [
            {"Effect": "Deny", "Principal": ["*"], "Action": OBJECT_LEVEL_DENIED,
             "Resource": [f"acs:oss:*:{account_id}:{bucket}/*"]},
            {"Effect": "Deny", "Principal": ["*"], "Action": BUCKET_LEVEL_DENIED,
             "Resource": [f"acs:oss:*:{account_id}:{bucket}"]},
        ],
    }


class AuditStack(TerraformStack):
    """Exposes `caller`, `bucket`, `acl`, `public_access_block`, `versioning`, `encryption`, `bucket_policy`, `worm`
    (or None), `log_project` and `log_store` (or None), and `trail`."""

    def __init__(self, scope: Construct, id: str, settings: Settings, state_dir: Path) -> None:
        super().__init__(scope, id)
        props = AuditStackProps.from_settings(settings)
        self.backend = state_backend(self, settings, id, state_dir)
        add_policy(self)
        AlicloudProvider(self, "alicloud", region=props.region)
        keep = TerraformResourceLifecycle(prevent_destroy=props.protect)
        self.caller = DataAlicloudCallerIdentity(self, "caller")
        days = props.retention_days
        self.bucket = OssBucket(
            self, "bucket", bucket=props.bucket, force_destroy=False, storage_class="Standard",
            lifecycle_rule=[OssBucketLifecycleRule(
                id="expire-after-retention", enabled=True, prefix="",
                expiration=[OssBucketLifecycleRuleExpiration(days=days)],
                noncurrent_version_expiration=[OssBucketLifecycleRuleNoncurrentVersionExpiration(days=days)],
            )],
            tags=props.tags, lifecycle=keep,
        )
        self.acl = OssBucketAcl(self, "acl", bucket=self.bucket.bucket, acl="private")
        self.public_access_block = OssBucketPublicAccessBlock(
            self, "public-access-block", bucket=self.bucket.bucket, block_public_access=True)
        self.versioning = OssBucketVersioning(self, "versioning", bucket=self.bucket.bucket, status="Enabled")
        self.encryption = OssBucketServerSideEncryption(self, "encryption", bucket=self.bucket.bucket, sse_algorithm="KMS")
        # After the lifecycle (the bucket), ACL, public access block, versioning and encryption: the policy then
        # refuses their change.
        self.bucket_policy = OssBucketPolicy(
            self, "no-delete", bucket=self.bucket.bucket,
            policy=json.dumps(no_delete_policy(self.caller.account_id, props.bucket), sort_keys=True),
            depends_on=[self.acl, self.public_access_block, self.versioning, self.encryption],
        )
        # Locked at once: an unlocked WORM policy lapses after 24 hours. The provider's delete of a locked one only
        # forgets it (no API call); OSS keeps it until the bucket goes.
        self.worm = OssBucketWorm(self, "worm", bucket=self.bucket.bucket, retention_period_in_days=days,
                                  status="Locked", depends_on=[self.versioning], lifecycle=keep) if props.worm else None
        self.log_project: LogProject | None = None
        self.log_store: LogStore | None = None
        sls_arn = None
        if props.sls:
            self.log_project = LogProject(self, "log-project", project_name=f"{props.name}-audit",
                                          description="OpenCode: the ActionTrail trail", tags=props.tags)
            self.log_store = LogStore(self, "log-store", project_name=self.log_project.project_name,
                                      logstore_name=AUDIT_LOGSTORE, retention_period=days, lifecycle=keep)
            sls_arn = f"acs:log:{props.region}:{self.caller.account_id}:project/{self.log_project.project_name}"
        self.trail = ActiontrailTrail(
            self, "trail", trail_name=f"{props.name}-audit", event_rw=props.event_rw, trail_region="All",
            oss_bucket_name=self.bucket.bucket, oss_key_prefix=KEY_PREFIX, sls_project_arn=sls_arn,
            status="Enable", depends_on=[self.bucket_policy], lifecycle=keep,
        )
        output = TerraformOutput(self, "audit_bucket", value=self.bucket.bucket,
                                 description=f"Where the trail's logs are (under {KEY_PREFIX}/), kept {days} days")
        output.override_logical_id("audit_bucket")
