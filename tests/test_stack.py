"""The synthesized workspace stack: the properties that matter, read from cdk.tf.json."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import data_sources, resources, synth

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGV4YW1wbGUuY29tIGtleSBmb3IgdGVzdHM user@example"


def _ports(document: dict) -> list[tuple[str, str]]:
    return [
        (rule["port_range"], rule.get("cidr_ip") or rule.get("ipv6_cidr_ip"))
        for rule in resources(document, "alicloud_security_group_rule")
    ]


def test_default_stack_has_the_architecture(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    counts = {type_name: len(items) for type_name, items in doc["resource"].items()}
    assert counts == {
        "alicloud_vpc": 1,
        "alicloud_vswitch": 1,
        "alicloud_security_group": 1,
        "alicloud_security_group_rule": 2,
        "alicloud_instance": 1,
        "alicloud_ecs_disk": 1,
        "alicloud_ecs_disk_attachment": 1,
        "alicloud_ecs_auto_snapshot_policy": 1,
        "alicloud_ecs_auto_snapshot_policy_attachment": 1,
        "alicloud_eip_address": 1,
        "alicloud_eip_association": 1,
        "alicloud_ram_role": 1,
        "alicloud_ram_policy": 1,
        "alicloud_ram_role_policy_attachment": 1,
        "alicloud_ecs_ram_role_attachment": 1,
        "alicloud_oos_secret_parameter": 1,
        "random_password": 1,
        "terraform_data": 1,
    }
    assert doc["terraform"]["required_providers"]["alicloud"] == {"source": "aliyun/alicloud", "version": "1.289.0"}
    assert doc["provider"]["alicloud"] == [{"region": "ap-southeast-1"}]


@pytest.mark.parametrize("category", ["cloud_essd_entry", "cloud_auto", "cloud_essd", "cloud_ssd", "cloud_efficiency"])
def test_zone_is_filtered_by_instance_type_and_disk_category(tmp_path: Path, category: str) -> None:
    doc = synth(tmp_path, instance_type="ecs.g7.large", system_disk_category=category)
    assert "alicloud_zones" not in doc["data"]  # its disk filter knows neither cloud_essd_entry nor cloud_auto
    (zones,) = data_sources(doc, "alicloud_instance_types")
    assert {k: v for k, v in zones.items() if k != "//"} == {
        "instance_type": "ecs.g7.large", "system_disk_category": category,
        "network_type": "Vpc", "instance_charge_type": "PostPaid",
    }
    (vswitch,) = resources(doc, "alicloud_vswitch")
    (instance,) = resources(doc, "alicloud_instance")
    (disk,) = resources(doc, "alicloud_ecs_disk")
    expected = "${element(data.alicloud_instance_types.network_zones_2241F3F0.instance_types[0].availability_zones, 0)}"
    assert vswitch["zone_id"] == instance["availability_zone"] == disk["zone_id"] == expected


def test_instance_is_hardened(tmp_path: Path) -> None:
    (instance,) = resources(synth(tmp_path), "alicloud_instance")
    assert instance["http_tokens"] == "required"
    assert instance["http_put_response_hop_limit"] == 1
    assert instance["system_disk_encrypted"] is True
    assert instance["security_enhancement_strategy"] == "Active"
    assert instance["internet_max_bandwidth_out"] == 0
    assert instance["image_id"].startswith("${data.alicloud_images.")
    # The role is attached by its own resource: `role_name` is deprecated since provider 1.275.0.
    assert "role_name" not in instance
    (attachment,) = resources(synth(tmp_path / "again"), "alicloud_ecs_ram_role_attachment")
    assert attachment["instance_id"] == "${alicloud_instance.workspace_instance_00387BFD.id}"
    assert attachment["ram_role_name"] == "${alicloud_ram_role.workspace_role_D5E95835.role_name}"
    assert "password" not in instance and "key_name" not in instance


def test_instance_is_replaced_when_its_user_data_changes(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    (instance,) = resources(doc, "alicloud_instance")
    (version,) = resources(doc, "terraform_data")
    assert instance["lifecycle"] == {"replace_triggered_by": ["terraform_data.workspace_user-data-version_7A8C2A1A"]}
    assert version["triggers_replace"] == {"user_data": instance["user_data"]}


def test_image_is_the_newest_ubuntu_2404_system_image(tmp_path: Path) -> None:
    (image,) = data_sources(synth(tmp_path), "alicloud_images")
    assert image["owners"] == "system" and image["most_recent"] is True
    assert re.match(image["name_regex"], "ubuntu_24_04_x64_20G_alibase_20250101.vhd")
    assert not re.match(image["name_regex"], "ubuntu_22_04_x64_20G_alibase_20250101.vhd")


def test_data_disk_is_separate_encrypted_and_snapshotted(tmp_path: Path) -> None:
    doc = synth(tmp_path, data_disk_size=100, snapshot_retention_days=14)
    (disk,) = resources(doc, "alicloud_ecs_disk")
    assert disk["encrypted"] is True and disk["size"] == 100
    assert "delete_with_instance" not in disk  # a separate disk: replacing the instance keeps it
    (attachment,) = resources(doc, "alicloud_ecs_disk_attachment")
    assert attachment["disk_id"].startswith("${alicloud_ecs_disk.")
    (policy,) = resources(doc, "alicloud_ecs_auto_snapshot_policy")
    assert policy["retention_days"] == 14 and len(policy["repeat_weekdays"]) == 7
    (link,) = resources(doc, "alicloud_ecs_auto_snapshot_policy_attachment")
    assert link["disk_id"] == attachment["disk_id"]


def test_default_firewall_opens_only_443_and_80(tmp_path: Path) -> None:
    assert sorted(_ports(synth(tmp_path))) == [("443/443", "0.0.0.0/0"), ("80/80", "0.0.0.0/0")]


def test_ssh_only_from_ssh_cidrs_and_4096_never(tmp_path: Path) -> None:
    doc = synth(
        tmp_path,
        web_cidrs=["198.51.100.0/24", "2001:db8::/32"],
        ssh_cidrs=["203.0.113.7/32"],
        ssh_public_key=KEY,
    )
    ports = _ports(doc)
    assert ("22/22", "203.0.113.7/32") in ports
    assert [cidr for port, cidr in ports if port == "22/22"] == ["203.0.113.7/32"]
    assert ("443/443", "2001:db8::/32") in ports
    assert all("4096" not in port for port, _ in ports)
    assert all(rule["type"] == "ingress" and rule["ip_protocol"] == "tcp"
               for rule in resources(doc, "alicloud_security_group_rule"))
    (key,) = resources(doc, "alicloud_ecs_key_pair")
    assert key["public_key"] == KEY
    (instance,) = resources(doc, "alicloud_instance")
    assert instance["key_name"].startswith("${alicloud_ecs_key_pair.")
    assert set(doc["output"]) == {"url", "public_ip", "username", "password", "ssh_command", "ssh_tunnel_command"}
    assert "-L 4096:127.0.0.1:4096" in doc["output"]["ssh_tunnel_command"]["value"]


def test_tunnel_only_publishes_no_web_ports(tmp_path: Path) -> None:
    doc = synth(tmp_path, tls_mode="tunnel-only", ssh_cidrs=["203.0.113.7/32"], key_pair_name="laptop")
    assert _ports(doc) == [("22/22", "203.0.113.7/32")]
    assert doc["output"]["url"]["value"].startswith("http://localhost:4096")


def test_eip_is_pay_as_you_go_by_traffic(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    (eip,) = resources(doc, "alicloud_eip_address")
    assert (eip["payment_type"], eip["internet_charge_type"]) == ("PayAsYouGo", "PayByTraffic")
    (association,) = resources(doc, "alicloud_eip_association")
    assert association["allocation_id"].startswith("${alicloud_eip_address.")
    assert association["instance_id"].startswith("${alicloud_instance.")


def test_reuse_existing_network_and_eip(tmp_path: Path) -> None:
    doc = synth(tmp_path, vpc_id="vpc-abc123def", vswitch_id="vsw-abc123def", eip_allocation_id="eip-abc123def")
    assert not resources(doc, "alicloud_vpc") and not resources(doc, "alicloud_vswitch")
    assert not resources(doc, "alicloud_eip_address")
    (sg,) = resources(doc, "alicloud_security_group")
    assert sg["vpc_id"] == "vpc-abc123def"
    (vswitches,) = data_sources(doc, "alicloud_vswitches")
    assert vswitches["ids"] == ["vsw-abc123def"]
    (instance,) = resources(doc, "alicloud_instance")
    assert instance["vswitch_id"] == "vsw-abc123def"
    assert instance["availability_zone"].endswith(".vswitches[0].zone_id}")
    (association,) = resources(doc, "alicloud_eip_association")
    assert association["allocation_id"] == "eip-abc123def"
    assert ".addresses[0].ip_address" in doc["output"]["public_ip"]["value"]


def test_ram_role_trusts_only_ecs(tmp_path: Path) -> None:
    (role,) = resources(synth(tmp_path), "alicloud_ram_role")
    trust = json.loads(role["assume_role_policy_document"])
    assert trust["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}
    ]


def test_names_and_tags_carry_the_workspace_name(tmp_path: Path) -> None:
    doc = synth(tmp_path, name="team-a", tags={"team": "platform"})
    for type_name, items in doc["resource"].items():
        for item in items.values():
            if "tags" in item:
                assert item["tags"] == {"team": "platform", "workspace": "team-a", "managed-by": "opencode-alicloud"}
    (instance,) = resources(doc, "alicloud_instance")
    assert instance["instance_name"] == "team-a-workspace"


def test_secrets_are_sensitive_variables_and_oos_parameters(tmp_path: Path) -> None:
    doc = synth(tmp_path, use_github_token=True)
    assert doc["variable"] == {
        "model_api_key": {
            "description": "API key for the anthropic model provider. Give it at deploy time: TF_VAR_model_api_key or --var.",
            "nullable": False,
            "sensitive": True,
            "type": "string",
        },
        "github_token": {
            "description": "GitHub token for the agent (gh and git). Give it at deploy time: TF_VAR_github_token or --var.",
            "nullable": False,
            "sensitive": True,
            "type": "string",
        },
    }
    parameters = {p["secret_parameter_name"]: p["value"] for p in resources(doc, "alicloud_oos_secret_parameter")}
    # The web password is not among them: the proxy checks its bcrypt hash, and the instance never
    # needs the password itself (tunnel-only mode is the exception, below).
    assert parameters == {
        "opencode-model-api-key": "${var.model_api_key}",
        "opencode-github-token": "${var.github_token}",
    }
    assert doc["output"]["password"]["sensitive"] is True


def test_only_tunnel_only_mode_gives_the_instance_the_web_password(tmp_path: Path) -> None:
    doc = synth(tmp_path, tls_mode="tunnel-only", ssh_cidrs=["203.0.113.7/32"], key_pair_name="laptop")
    parameters = {p["secret_parameter_name"]: p["value"] for p in resources(doc, "alicloud_oos_secret_parameter")}
    assert parameters["opencode-web-password"] == "${random_password.login_password_93B23B06.result}"
    (instance,) = resources(doc, "alicloud_instance")
    assert "OPENCODE_SERVER_PASSWORD=${alicloud_oos_secret_parameter." in instance["user_data"]


def test_existing_secret_parameters_need_no_variables(tmp_path: Path) -> None:
    doc = synth(
        tmp_path,
        model={"api_key_parameter": "team-anthropic-key"},
        use_github_token=True,
        github_token_parameter="team-gh-token",
    )
    assert "variable" not in doc
    names = [p["secret_parameter_name"] for p in resources(doc, "alicloud_oos_secret_parameter")]
    assert names == []
    (instance,) = resources(doc, "alicloud_instance")
    assert "ANTHROPIC_API_KEY=team-anthropic-key" in instance["user_data"]
    assert "GH_TOKEN=team-gh-token" in instance["user_data"]


def test_user_data_comes_from_the_bootstrap_seam_with_terraform_values(tmp_path: Path) -> None:
    (instance,) = resources(synth(tmp_path), "alicloud_instance")
    user_data = instance["user_data"]
    assert user_data.startswith("#cloud-config\n")
    assert re.search(r'SITE=\$\{join\("", \[replace\(alicloud_eip_address\.\w+\.ip_address, "\.", "-"\), "\.sslip\.io"\]\)\}', user_data)
    assert "DATA_DISK_ID=${alicloud_ecs_disk." in user_data
    assert re.search(r"opencode \$\{random_password\.login_password_\w+\.bcrypt_hash\}", user_data)
    assert '.result' not in user_data  # never the plain password
    # Shell and Dockerfile interpolation is escaped, so Terraform leaves it alone.
    assert "$${DATA_DISK_ID#d-}" in user_data
    interpolations = re.findall(r"(?<!\$)\$\{([^}]*)\}", user_data)
    assert all(re.match(r"^(alicloud_|random_|base64encode\(|join\()", expr) for expr in interpolations), interpolations
    assert len(user_data.encode()) < 16 * 1024


def test_outputs_tell_how_to_reach_the_workspace(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    assert set(doc["output"]) == {"url", "public_ip", "username", "password"}  # SSH closed: no ssh commands
    assert re.fullmatch(
        r'\$\{join\("", \["https://", join\("", \[replace\(alicloud_eip_address\.workspace_eip_\w+\.ip_address, '
        r'"\.", "-"\), "\.sslip\.io"\]\)\]\)\}',
        doc["output"]["url"]["value"],
    )
    assert doc["output"]["username"]["value"] == "opencode"
    with_domain = synth(tmp_path / "d", domain="Code.Example.com")
    assert with_domain["output"]["url"]["value"] == '${join("", ["https://", "code.example.com"])}'


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
