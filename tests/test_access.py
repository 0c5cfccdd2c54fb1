"""The access construct: the instance role's read of its own secret parameters."""
from __future__ import annotations

import json
from pathlib import Path


from conftest import resources, synth


def test_instance_role_reads_exactly_its_secret_parameters(tmp_path: Path) -> None:
    doc = synth(tmp_path, region="eu-central-1", use_github_token=True)
    (policy,) = resources(doc, "alicloud_ram_policy")
    document = json.loads(policy["policy_document"])
    assert document["Version"] == "1"
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["oos:GetSecretParameter", "kms:GetSecretValue"]
    parameters = {
        key: f"acs:oos:eu-central-1:*:secretparameter/${{alicloud_oos_secret_parameter.{key}.secret_parameter_name}}"
        for key in doc["resource"]["alicloud_oos_secret_parameter"]
    }
    assert sorted(statement["Resource"]) == sorted(parameters.values())
    (attachment,) = resources(doc, "alicloud_ram_role_policy_attachment")
    assert attachment["policy_type"] == "Custom"
    assert attachment["role_name"].startswith("${alicloud_ram_role.")


def test_existing_parameters_are_granted_by_name(tmp_path: Path) -> None:
    doc = synth(tmp_path, model={"api_key_parameter": "team-anthropic-key"})
    (policy,) = resources(doc, "alicloud_ram_policy")
    resources_granted = json.loads(policy["policy_document"])["Statement"][0]["Resource"]
    assert resources_granted == ["acs:oos:ap-southeast-1:*:secretparameter/team-anthropic-key"]
