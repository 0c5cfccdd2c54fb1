"""The audit trail (issue 16, audit part): audit.enabled synthesizes the opencode-audit stack, an ActionTrail
trail delivered to a bucket nobody may delete from and that keeps its logs `retention_days`; the policy check
CKV_OCA_6 refuses a shorter retention; the workspace's instance role has no permission on it; the proxy's
access log keeps `audit.access_log_days`. The stub plans the stack against the provider's schema
(tests/scenarios/test_rehearsal.py); nothing here knows ActionTrail's or OSS's behaviour."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_rejected, resources, run_main, synth
from opencode_alicloud.policy.rules.oca_6_audit_retention import RULE, violations
from opencode_cost.estimate import estimate
from opencode_settings import CostSettings, load_settings
from support import rendered_bootstrap

AUDIT = {"enabled": True, "bucket": "acme-opencode-audit"}


def synth_audit(tmp_path: Path, **audit: Any) -> dict[str, Any]:
    from cdktf import App

    from opencode_alicloud.audit_stack import AUDIT_STACK_ID, AuditStack

    settings = load_settings(audit={**AUDIT, **audit})
    (tmp_path / "cdktf.out").mkdir(parents=True, exist_ok=True)
    app = App(outdir=str(tmp_path / "cdktf.out"))
    AuditStack(app, AUDIT_STACK_ID, settings, tmp_path / "state")
    app.synth()
    return json.loads((tmp_path / "cdktf.out" / "stacks" / AUDIT_STACK_ID / "cdk.tf.json").read_text())


@pytest.fixture(scope="module")
def audit_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synth_audit(tmp_path_factory.mktemp("audit"), sls=True)


def test_the_trail_records_every_call_into_a_bucket_kept_180_days(audit_doc: dict[str, Any]) -> None:
    (trail,) = resources(audit_doc, "alicloud_actiontrail_trail")
    assert (trail["trail_name"], trail["event_rw"], trail["trail_region"], trail["status"]) == (
        "opencode-audit", "All", "All", "Enable")
    assert trail["oss_bucket_name"] == "${alicloud_oss_bucket.bucket.bucket}" and trail["oss_key_prefix"] == "actiontrail"
    assert trail["lifecycle"] == {"prevent_destroy": True}
    (bucket,) = resources(audit_doc, "alicloud_oss_bucket")
    assert bucket["bucket"] == "acme-opencode-audit" and bucket["force_destroy"] is False
    (rule,) = bucket["lifecycle_rule"]
    assert rule["enabled"] is True and rule["expiration"] == [{"days": 180}]
    assert rule["noncurrent_version_expiration"] == [{"days": 180}]
    assert bucket["tags"]["purpose"] == "audit-trail" and bucket["lifecycle"] == {"prevent_destroy": True}
    assert [v["status"] for v in resources(audit_doc, "alicloud_oss_bucket_versioning")] == ["Enabled"]
    assert [e["sse_algorithm"] for e in resources(audit_doc, "alicloud_oss_bucket_server_side_encryption")] == ["KMS"]
    assert [a["acl"] for a in resources(audit_doc, "alicloud_oss_bucket_acl")] == ["private"]
    assert [b["block_public_access"] for b in resources(audit_doc, "alicloud_oss_bucket_public_access_block")] == [True]
    (store,) = resources(audit_doc, "alicloud_log_store")
    assert (store["logstore_name"], store["retention_period"]) == ("actiontrail", 180)
    assert trail["sls_project_arn"] == ("acs:log:ap-southeast-1:${data.alicloud_caller_identity.caller.account_id}:"
                                        "project/${alicloud_log_project.log-project.project_name}")


def test_nobody_may_delete_a_log(audit_doc: dict[str, Any]) -> None:
    (policy,) = resources(audit_doc, "alicloud_oss_bucket_policy")
    bucket = "acs:oss:*:${data.alicloud_caller_identity.caller.account_id}:acme-opencode-audit"
    assert json.loads(policy["policy"]) == {"Version": "1", "Statement": [
        {"Effect": "Deny", "Principal": ["*"], "Action": ["oss:DeleteObject", "oss:DeleteObjectVersion", "oss:PutObjectAcl"],
         "Resource": [f"{bucket}/*"]},
        # Security review 2, #6: what expires the logs without deleting one, and (follow-up) what makes them
        # unreadable or public. Bucket-level actions, matched against the bucket's own ARN (OSS ignores
        # `<bucket>/*` for them).
        {"Effect": "Deny", "Principal": ["*"], "Action": [
            "oss:PutBucketLifecycle", "oss:DeleteBucketLifecycle", "oss:PutBucketVersioning", "oss:PutBucketPolicy",
            "oss:DeleteBucketPolicy", "oss:AbortBucketWorm", "oss:DeleteBucket", "oss:PutBucketEncryption",
            "oss:DeleteBucketEncryption", "oss:PutBucketAcl", "oss:PutBucketPublicAccessBlock",
            "oss:DeleteBucketPublicAccessBlock"], "Resource": [bucket]},
    ]}
    # The ACL, public access block, versioning and encryption are in place before the policy freezes them.
    assert policy["depends_on"] == ["alicloud_oss_bucket_acl.acl", "alicloud_oss_bucket_public_access_block.public-access-block",
                                    "alicloud_oss_bucket_versioning.versioning",
                                    "alicloud_oss_bucket_server_side_encryption.encryption"]
    (trail,) = resources(audit_doc, "alicloud_actiontrail_trail")
    assert trail["depends_on"] == ["alicloud_oss_bucket_policy.no-delete"]  # the policy exists before the first log
    assert "alicloud_oss_bucket_worm" not in audit_doc["resource"]  # irreversible: only when asked for


def test_a_ram_user_with_full_oss_access_cannot_expire_the_logs(audit_doc: dict[str, Any]) -> None:
    """AliyunOSSFullAccess (oss:*) against the bucket policy, by RAM's documented evaluation: every call that
    would shorten, drop or suspend what keeps the logs is denied; reading them is not. The control: the policy as
    the review found it (the object deny alone) let each of them through."""
    from ram_eval import Request, Resource, allowed

    (policy,) = resources(audit_doc, "alicloud_oss_bucket_policy")
    bucket_policy = json.loads(policy["policy"])
    full_access = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]}
    bucket = "acs:oss:*:${data.alicloud_caller_identity.caller.account_id}:acme-opencode-audit"
    erasing = ["oss:PutBucketLifecycle", "oss:DeleteBucketLifecycle", "oss:PutBucketVersioning", "oss:PutBucketPolicy",
               "oss:DeleteBucketPolicy", "oss:DeleteBucket", "oss:PutBucketEncryption", "oss:DeleteBucketEncryption",
               "oss:PutBucketAcl", "oss:PutBucketPublicAccessBlock", "oss:DeleteBucketPublicAccessBlock"]

    def combined(statements: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Version": "1", "Statement": [*full_access["Statement"], *statements]}

    for action in erasing:
        assert not allowed(combined(bucket_policy["Statement"]), Request(action, (Resource(bucket),))), action
        assert allowed(combined(bucket_policy["Statement"][:1]), Request(action, (Resource(bucket),))), action
    assert not allowed(combined(bucket_policy["Statement"]), Request("oss:DeleteObject", (Resource(f"{bucket}/actiontrail/x"),)))
    assert not allowed(combined(bucket_policy["Statement"]), Request("oss:PutObjectAcl", (Resource(f"{bucket}/actiontrail/x"),)))
    deletes_only = {**bucket_policy["Statement"][0], "Action": ["oss:DeleteObject", "oss:DeleteObjectVersion"]}  # as found
    assert allowed(combined([deletes_only]), Request("oss:PutObjectAcl", (Resource(f"{bucket}/actiontrail/x"),)))
    assert allowed(combined(bucket_policy["Statement"]), Request("oss:GetObject", (Resource(f"{bucket}/actiontrail/x"),)))


def test_worm_locks_the_retention_on_the_bucket(tmp_path: Path) -> None:
    doc = synth_audit(tmp_path, worm=True, retention_days=400)
    (worm,) = resources(doc, "alicloud_oss_bucket_worm")
    assert (worm["bucket"], worm["retention_period_in_days"], worm["status"]) == (
        "${alicloud_oss_bucket.bucket.bucket}", 400, "Locked")
    assert worm["depends_on"] == ["alicloud_oss_bucket_versioning.versioning"]
    assert worm["lifecycle"] == {"prevent_destroy": True}


def test_the_workspaces_instance_role_has_no_permission_on_the_trail(tmp_path: Path) -> None:
    doc = synth(tmp_path, audit=AUDIT, idle_stop_minutes=60)
    for policy in resources(doc, "alicloud_ram_policy"):
        for statement in json.loads(policy["policy_document"])["Statement"]:
            assert not [action for action in statement["Action"] if action.split(":")[0] in {"oss", "actiontrail", "log"}]


@pytest.mark.parametrize("audit, field, fix", [
    ({"enabled": True}, "audit.bucket", "set a globally unique OSS bucket name"),
    ({"existing_trail": "company-trail", "bucket": "acme-opencode-audit"}, "audit.bucket", "leave it unset"),
    ({"retention_days": 0}, "audit.retention_days", "greater than or equal to 1"),
    ({"access_log_days": 0}, "audit.access_log_days", "greater than or equal to 1"),
    ({"event_rw": "Read"}, "audit.event_rw", "'All' or 'Write'"),
])
def test_bad_audit_settings_name_the_setting(audit: dict, field: str, fix: str) -> None:
    assert_rejected({"audit": audit}, field, fix)


def main_in(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_main({"OPENCODE_ALICLOUD_STATE_DIR": str(folder / "s"), **env}, folder / "out")


def test_main_synthesizes_the_audit_stack_and_the_policy_refuses_a_short_retention(tmp_path: Path) -> None:
    base = {"OPENCODE_ALICLOUD_AUDIT__ENABLED": "true", "OPENCODE_ALICLOUD_AUDIT__BUCKET": "acme-opencode-audit"}
    good = main_in(tmp_path / "good", **base)
    assert good.returncode == 0, good.stderr
    assert sorted(p.name for p in (tmp_path / "good" / "out" / "stacks").iterdir()) == ["opencode", "opencode-audit", "opencode-roles"]
    short = main_in(tmp_path / "short", **base, OPENCODE_ALICLOUD_AUDIT__RETENTION_DAYS="90")
    assert short.returncode == 2 and "Traceback" not in short.stderr
    assert "CKV_OCA_6 alicloud_oss_bucket.bucket: lifecycle rule 'expire-after-retention' expiration after 90 days" in short.stderr
    assert "set audit.retention_days to 180 or more" in short.stderr
    stacks = tmp_path / "short" / "out" / "stacks"  # a refused synth leaves nothing half-written behind
    assert not stacks.exists() or not any(stacks.iterdir()), sorted(p.name for p in stacks.iterdir())
    existing = main_in(tmp_path / "existing", OPENCODE_ALICLOUD_AUDIT__ENABLED="true",
                        OPENCODE_ALICLOUD_AUDIT__EXISTING_TRAIL="company-trail")
    assert existing.returncode == 0 and sorted(p.name for p in (tmp_path / "existing" / "out" / "stacks").iterdir()) == ["opencode", "opencode-roles"]


@pytest.mark.parametrize("kind, conf, found", [
    ("alicloud_log_store", {"logstore_name": "actiontrail", "retention_period": 30}, ["the trail's logstore keeps 30 days"]),
    ("alicloud_log_store", {"logstore_name": "actiontrail", "retention_period": 180}, []),
    ("alicloud_log_store", {"logstore_name": "app-logs", "retention_period": 7}, []),  # not the trail's
    ("alicloud_oss_bucket", {"tags": {"purpose": "audit-trail"}, "lifecycle_rule": [
        {"id": "x", "enabled": True, "expiration": [{"days": 200}], "noncurrent_version_expiration": [{"days": 30}]}]},
     ["lifecycle rule 'x' noncurrent version expiration after 30 days"]),
    ("alicloud_oss_bucket", {"tags": [{"purpose": "audit-trail"}], "lifecycle_rule": [  # as checkov hands it over
        {"id": "x", "enabled": True, "expiration": [{"days": [179]}]}]}, ["lifecycle rule 'x' expiration after 179 days"]),
    ("alicloud_oss_bucket", {"tags": {"purpose": "terraform-state"}, "lifecycle_rule": [
        {"id": "x", "enabled": True, "expiration": [{"days": 1}]}]}, []),  # the state bucket is not a trail
])
def test_the_retention_rule(kind: str, conf: dict, found: list[str]) -> None:
    assert violations(kind, conf) == found and kind in RULE.resource_types


def test_the_estimate_prices_the_audit_bucket_and_names_what_it_cannot(audit_doc: dict[str, Any]) -> None:
    result = estimate({"opencode-audit": audit_doc}, CostSettings(audit_bucket_gb=10))
    (line,) = result.lines
    assert line.usage.what == "audit bucket acme-opencode-audit, 10 GB" and line.usage.quantity == 10
    assert {item.resource.split(".")[0] for item in result.not_priced} == {"alicloud_actiontrail_trail", "alicloud_log_store"}


def test_the_access_log_keeps_audit_access_log_days() -> None:
    from opencode_alicloud.instance.files import render_caddyfile
    from opencode_alicloud.instance.inputs import BootstrapSettings

    week = BootstrapSettings.from_settings(load_settings(audit={"access_log_days": 7}))
    assert "roll_keep_for 168h" in render_caddyfile(week, "$2a$10$x", "example.sslip.io")
    assert "roll_keep_for 720h" in rendered_bootstrap("default")[1]["/etc/opencode/Caddyfile"]
