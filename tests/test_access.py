"""The access construct: the instance role's read of its own secret parameters."""
from __future__ import annotations

import json
from pathlib import Path


from conftest import resources, synth
from support import synth_roles


def test_instance_role_reads_exactly_its_secret_parameters(tmp_path: Path) -> None:
    settings = {"region": "eu-central-1", "use_github_token": True}
    doc = synth_roles(tmp_path, **settings)  # the administrator's stack makes the role and its policy
    (policy,) = resources(doc, "alicloud_ram_policy")
    document = json.loads(policy["policy_document"])
    assert document["Version"] == "1"
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["oos:GetSecretParameter", "kms:GetSecretValue"]
    # Exactly the parameters the workspace stack makes (by name: the roles stack comes first).
    workspace = synth(tmp_path / "workspace", **settings)
    made = sorted(p["secret_parameter_name"] for p in resources(workspace, "alicloud_oos_secret_parameter"))
    assert made == ["opencode-github-token", "opencode-model-api-key"]
    assert sorted(statement["Resource"]) == [f"acs:oos:eu-central-1:*:secretparameter/{name}" for name in made]
    (attachment,) = resources(doc, "alicloud_ram_role_policy_attachment")
    assert attachment["policy_type"] == "Custom"
    assert attachment["role_name"].startswith("${alicloud_ram_role.")


def test_existing_parameters_are_granted_by_name(tmp_path: Path) -> None:
    doc = synth_roles(tmp_path, model={"api_key_parameter": "team-anthropic-key"})
    (policy,) = resources(doc, "alicloud_ram_policy")
    resources_granted = json.loads(policy["policy_document"])["Statement"][0]["Resource"]
    assert resources_granted == ["acs:oos:ap-southeast-1:*:secretparameter/team-anthropic-key"]
