"""Team-shared state: backend selection and the state stack, read from cdk.tf.json. The rehearsals
with real Terraform (locking, migration, protection) are in scenarios/test_state_rehearsal.py."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import OSS, ROOT, VARIANTS, assert_rejected, synth, synth_app
from opencode_settings import SettingsError, load_settings

SCHEMA = json.loads((ROOT / "config" / "schemas" / "alicloud-1.289.0.json").read_text())
OSS_BACKEND_ARGUMENTS = set(SCHEMA["//"]["backend_oss"]["attributes"]) | set(SCHEMA["//"]["backend_oss"].get("block_types", {}))
# --- the backend block, per mode -------------------------------------------------------------


def test_local_backend_is_absolute_and_per_workspace(tmp_path: Path) -> None:
    doc = synth(tmp_path, name="alice")
    path = doc["terraform"]["backend"]["local"]["path"]
    assert Path(path).is_absolute() and path.endswith("/state/alice/opencode.tfstate")


def test_oss_backend_matches_terraform_oss_arguments(tmp_path: Path) -> None:
    doc = synth(tmp_path, name="alice", backend={**OSS, "profile": "team", "assume_role_arn": "acs:ram::1234567890123456:role/tf-state"})
    backend = doc["terraform"]["backend"]["oss"]
    assert set(backend) <= OSS_BACKEND_ARGUMENTS
    assert backend == {
        "bucket": "team-tfstate",
        "prefix": "opencode/alice",
        "key": "opencode.tfstate",
        "region": "ap-southeast-1",
        "tablestore_endpoint": "https://opencode-locks.ap-southeast-1.ots.aliyuncs.com",
        "tablestore_table": "terraform_lock",
        "encrypt": True,
        "acl": "private",
        "profile": "team",
        "assume_role_role_arn": "acs:ram::1234567890123456:role/tf-state",
    }


def test_two_workspaces_never_share_a_state_key(tmp_path: Path) -> None:
    a = synth(tmp_path / "a", name="alice", backend=OSS)["terraform"]["backend"]["oss"]
    b = synth(tmp_path / "b", name="bob", backend=OSS)["terraform"]["backend"]["oss"]
    assert (a["prefix"], a["key"]) != (b["prefix"], b["key"])


@pytest.mark.parametrize("kind", ["cloud", "remote"])
def test_hcp_terraform_backends(kind: str, tmp_path: Path) -> None:
    doc = synth(tmp_path, name="alice", backend={"kind": kind, "organization": "acme"})
    block = doc["terraform"]["cloud"] if kind == "cloud" else doc["terraform"]["backend"]["remote"]
    assert block["organization"] == "acme" and block["hostname"] == "app.terraform.io"
    assert block["workspaces"] == {"name": "alice-opencode"}


BAD_BACKENDS = [
    ({"backend": {"kind": "oss"}}, "backend.bucket", "is required when backend.kind is oss"),
    ({"backend": {**OSS, "bucket": "Team_State"}}, "backend.bucket", "not an OSS bucket name"),
    ({"backend": {**OSS, "bucket": "ab"}}, "backend.bucket", "not an OSS bucket name"),
    ({"backend": {**OSS, "tablestore_endpoint": "https://opencode-locks.eu-central-1.ots.aliyuncs.com"}},
     "backend.tablestore_endpoint", "is in region eu-central-1 but the state bucket is in ap-southeast-1"),
    ({"backend": {**OSS, "tablestore_endpoint": "http://locks.example.com"}}, "backend.tablestore_endpoint", "not a Tablestore endpoint"),
    ({"backend": {**OSS, "tablestore_table": None}}, "backend.tablestore_table", "needs both"),
    ({"backend": {**OSS, "tablestore_endpoint": None}}, "backend.tablestore_endpoint", "needs both"),
    ({"backend": {**OSS, "tablestore_table": "9locks"}}, "backend.tablestore_table", "not a Tablestore table name"),
    ({"backend": {**OSS, "assume_role_arn": "arn:aws:iam::1:role/x"}}, "backend.assume_role_arn", "not a RAM role ARN"),
    ({"backend": {**OSS, "region": "moon-1"}}, "backend.region", "unknown region"),
    ({"backend": {"bucket": "team-tfstate"}}, "backend.bucket", "only for backend.kind = oss"),
    ({"backend": {"kind": "cloud"}}, "backend.organization", "is required when backend.kind is cloud"),
    ({"backend": {"kind": "oss", "bucket": "team-tfstate", "organization": "acme"}}, "backend.organization", "only for backend.kind = cloud or remote"),
    ({"backend": {"kind": "s3"}}, "backend.kind", "oss"),
    ({"state": {"bucket": "Bad_Bucket"}}, "state.bucket", "not an OSS bucket name"),
    ({"state": {"ots_instance": "ots-locks"}}, "state.ots_instance", "not starting with ali, ay, ots"),
    ({"state": {"ots_instance": "a-very-long-instance-name"}}, "state.ots_instance", "3-16 chars"),
    ({"state": {"lock_table": "lock-table"}}, "state.lock_table", "not a Tablestore table name"),
    ({"state": {"noncurrent_version_days": 0}}, "state.noncurrent_version_days", "greater than or equal to 1"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), BAD_BACKENDS, ids=[f"{c[1]}:{c[2]}" for c in BAD_BACKENDS])
def test_bad_backend_settings_are_rejected_before_synth(overrides: dict, field: str, fix: str) -> None:
    assert_rejected(overrides, field, fix)


# --- the state stack -----------------------------------------------------------------------------


def _one(doc: dict, type_name: str) -> dict:
    (item,) = doc["resource"][type_name].values()
    return item


def test_no_state_stack_unless_asked(tmp_path: Path) -> None:
    assert set(synth_app(tmp_path)) == {"opencode", "opencode-roles"}  # the roles: always, an administrator's


def test_state_stack_is_private_versioned_encrypted_and_protected(tmp_path: Path) -> None:
    doc = synth_app(tmp_path, state={"bucket": "team-tfstate", "noncurrent_version_days": 30})["opencode-state"]
    bucket = _one(doc, "alicloud_oss_bucket")
    assert bucket["bucket"] == "team-tfstate" and bucket["force_destroy"] is False
    assert bucket["lifecycle"] == {"prevent_destroy": True}
    assert bucket["lifecycle_rule"] == [
        {"enabled": True, "id": "expire-old-state-versions", "noncurrent_version_expiration": [{"days": 30}], "prefix": ""}
    ]
    assert _one(doc, "alicloud_oss_bucket_versioning")["status"] == "Enabled"
    assert _one(doc, "alicloud_oss_bucket_server_side_encryption")["sse_algorithm"] == "KMS"
    assert _one(doc, "alicloud_oss_bucket_public_access_block")["block_public_access"] is True
    assert _one(doc, "alicloud_oss_bucket_acl")["acl"] == "private"
    table = _one(doc, "alicloud_ots_table")
    assert table["primary_key"] == [{"name": "LockID", "type": "String"}]
    assert (table["time_to_live"], table["max_version"]) == (-1, 1)
    assert table["lifecycle"] == {"prevent_destroy": True}
    assert _one(doc, "alicloud_ots_instance")["lifecycle"] == {"prevent_destroy": True}
    assert Path(doc["terraform"]["backend"]["local"]["path"]).is_absolute()


def test_state_stack_outputs_are_the_backend_settings(tmp_path: Path) -> None:
    doc = synth_app(tmp_path, state={"bucket": "team-tfstate"})["opencode-state"]
    assert set(doc["output"]) == {
        "backend_kind", "backend_bucket", "backend_region", "backend_tablestore_endpoint",
        "backend_tablestore_table", "team_policy_name",
    }
    assert doc["output"]["backend_tablestore_endpoint"]["value"] == "https://opencode-locks.ap-southeast-1.ots.aliyuncs.com"
    # What the outputs say is accepted by the settings model as a backend.
    load_settings(backend={**OSS})


def test_team_policy_is_least_privilege(tmp_path: Path) -> None:
    doc = synth_app(tmp_path, state={"bucket": "team-tfstate"})["opencode-state"]
    policy = json.loads(_one(doc, "alicloud_ram_policy")["policy_document"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "oss:ListObjects", "oss:GetBucketInfo", "oss:GetObject", "oss:PutObject", "oss:DeleteObject",
        "oss:GetObjectVersion", "ots:GetRow", "ots:PutRow", "ots:UpdateRow", "ots:DeleteRow", "ots:DescribeTable",
    }
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {
        "acs:oss:*:*:team-tfstate", "acs:oss:*:*:team-tfstate/*",
        "acs:ots:ap-southeast-1:*:instance/opencode-locks/table/terraform_lock",
    }
    assert "team_policy_name" not in synth_app(tmp_path / "np", state={"bucket": "team-tfstate", "team_policy": False})["opencode-state"]["output"]


def test_per_workspace_policies_reach_only_their_own_state(tmp_path: Path) -> None:
    """Teammates need not read each other's states (which hold their passwords and keys)."""
    doc = synth_app(tmp_path, state={"bucket": "team-tfstate", "team_policy": False, "workspaces": ["alice", "bob"]},
                    backend={"kind": "local"})["opencode-state"]
    policies = {p["policy_name"]: json.loads(p["policy_document"]) for p in doc["resource"]["alicloud_ram_policy"].values()}
    assert set(policies) == {"team-tfstate-state-alice", "team-tfstate-state-bob"}
    for name, policy in (("alice", policies["team-tfstate-state-alice"]), ("bob", policies["team-tfstate-state-bob"])):
        objects = next(s for s in policy["Statement"] if "oss:GetObject" in s["Action"])
        assert objects["Resource"] == [f"acs:oss:*:*:team-tfstate/opencode/{name}/*"]
        listing = next(s for s in policy["Statement"] if "oss:ListObjects" in s["Action"])
        assert listing["Condition"] == {"StringLike": {"oss:Prefix": [f"opencode/{name}/*"]}}
    # The folder is the one the workspace's backend writes to.
    from opencode_alicloud.backend import state_key
    assert state_key(load_settings(name="alice", backend={**OSS}), "opencode")[0] == "opencode/alice"


def test_a_workspaces_state_policy_never_reaches_the_roles_state(tmp_path: Path) -> None:
    """Alice's deployer may write her state folder; the roles the administrator applies are kept elsewhere, or she
    could edit that state so that the administrator's next apply changes or deletes RAM roles and policies.
    The control: her own workspace's state is reached."""
    from fnmatch import fnmatchcase

    stacks = synth_app(tmp_path, name="alice", backend={"kind": "oss", "bucket": "team-tfstate"},
                       state={"bucket": "team-tfstate", "team_policy": False, "workspaces": ["alice"]})
    policy = json.loads(next(iter(stacks["opencode-state"]["resource"]["alicloud_ram_policy"].values()))["policy_document"])
    objects = next(s for s in policy["Statement"] if "oss:PutObject" in s["Action"])["Resource"]

    def reached(stack: str) -> bool:
        oss = stacks[stack]["terraform"]["backend"]["oss"]
        return any(fnmatchcase(f"acs:oss:*:*:team-tfstate/{oss['prefix']}/{oss['key']}", pattern) for pattern in objects)

    assert reached("opencode") and not reached("opencode-roles")


@pytest.mark.parametrize("name", ["Alice!", "access", "opencode-roles"])  # access: the team policy's own name
def test_per_workspace_policies_need_workspace_names(name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(state={"bucket": "team-tfstate", "workspaces": [name]})
    assert caught.value.problems[0][0] == "state.workspaces"
    assert caught.value.problems[0][1].startswith(f"{name!r} is not a workspace name")


def _enum_violations(doc: dict) -> list[str]:
    resources = SCHEMA["provider_schemas"]["registry.terraform.io/aliyun/alicloud"]["resource_schemas"]
    problems = []

    def walk(block: dict, body: dict, where: str) -> None:
        for name, value in body.items():
            spec = block.get("attributes", {}).get(name)
            if spec and spec.get("valid_values") and isinstance(value, str) and "${" not in value:
                if value not in spec["valid_values"]:
                    problems.append(f"{where}.{name} = {value!r} not in {spec['valid_values']}")
            nested = block.get("block_types", {}).get(name)
            if nested and isinstance(value, list):
                for item in value:
                    walk(nested["block"], item, f"{where}.{name}")

    for type_name, items in doc.get("resource", {}).items():
        if type_name in resources:
            for logical, body in items.items():
                walk(resources[type_name]["block"], body, f"{type_name}.{logical}")
    return problems


def test_every_literal_value_is_one_the_provider_accepts(tmp_path: Path) -> None:
    """The provider's enum validators (kept in the schema as valid_values), which Terraform's own
    schema check cannot see."""
    for variant, overrides in VARIANTS.items():
        assert _enum_violations(synth(tmp_path / variant, **overrides)) == [], variant
    assert _enum_violations(synth_app(tmp_path / "state", state={"bucket": "team-tfstate"})["opencode-state"]) == []


# --- rehearsals on the stub providers (slow) -----------------------------------------------------


def test_example_ci_workflow_is_valid() -> None:
    workflow = ROOT / ".github" / "workflows" / "workspace.yml"
    venv = ROOT / ".venv" / "bin"
    schema = subprocess.run([str(venv / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint = subprocess.run([str(venv / "yamllint"), "-d", "{extends: default, rules: {line-length: {max: 120}, "
                           "truthy: {check-keys: false}, document-start: disable}}", str(workflow)],
                          capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout
    import yaml

    document = yaml.safe_load(workflow.read_text())
    jobs = document["jobs"]
    triggers = document.get("on") or document.get(True)  # YAML 1.1 reads `on` as true
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    # No secret at the workflow level, and none in a job that pull requests run.
    assert "secrets." not in json.dumps(document.get("env", {}))
    for name, job in jobs.items():
        runs_on_pull_requests = "pull_request" in job.get("if", "pull_request")
        if runs_on_pull_requests:
            assert "secrets." not in json.dumps(job), f"job {name} runs pull-request code with secrets"
    assert jobs["rehearse"]["if"] == "github.event_name == 'pull_request'"
    assert any("pytest" in step.get("run", "") and "test_rehearsal.py" in step["run"] for step in jobs["rehearse"]["steps"])
    # The apply job: main only, the protected environment, secrets only on the deploy step.
    apply = jobs["apply"]
    assert "refs/heads/main" in apply["if"] and "push" in apply["if"] and apply["environment"] == "production"
    assert apply["env"]["OPENCODE_ALICLOUD_BACKEND__KIND"] == "oss"
    holders = [step for step in apply["steps"] if "secrets." in json.dumps(step)]
    assert len(holders) == 1 and holders[0]["run"].endswith("deploy opencode --auto-approve")
    assert set(holders[0]["env"]) == {"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "TF_VAR_model_api_key"}


