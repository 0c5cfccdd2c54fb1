"""The workspace construct: the instance, its disk, its address and its role."""
from __future__ import annotations

import json
import re

import pytest
from pathlib import Path


from conftest import assert_rejected, data_sources, resources, synth
from support import synth_roles, synthesized_user_data, written_files


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
    assert attachment["ram_role_name"] == "opencode-instance"  # the administrator's role (stack opencode-roles)
    assert "password" not in instance and "key_name" not in instance


def test_instance_is_replaced_when_its_user_data_changes(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    (instance,) = resources(doc, "alicloud_instance")
    (version,) = resources(doc, "terraform_data")
    assert instance["lifecycle"] == {"replace_triggered_by": ["terraform_data.workspace_user-data-version_7A8C2A1A"]}
    # The instance gets that text gzip-compressed and base64-encoded by Terraform (host.gzipped_user_data).
    assert instance["user_data"] == "${base64gzip(terraform_data.workspace_user-data-version_7A8C2A1A.triggers_replace.user_data)}"
    assert version["triggers_replace"]["user_data"].startswith("#cloud-config\n")


def test_image_is_the_newest_debian_13_system_image_by_default(tmp_path: Path) -> None:
    (image,) = data_sources(synth(tmp_path), "alicloud_images")
    assert image["owners"] == "system" and image["most_recent"] is True
    assert re.match(image["name_regex"], "debian_13_2_x64_20G_alibase_20251120.vhd")
    assert not re.match(image["name_regex"], "debian_12_10_x64_20G_alibase_20250416.vhd")
    assert not re.match(image["name_regex"], "ubuntu_24_04_x64_20G_alibase_20250101.vhd")


@pytest.mark.parametrize("family, compose", [("debian-13", "docker-compose"), ("ubuntu-24.04", "docker-compose-v2")])
def test_each_image_family_gets_its_image_and_its_package_names(tmp_path: Path, family: str, compose: str) -> None:
    doc = synth(tmp_path, image_family=family)
    (image,) = data_sources(doc, "alicloud_images")
    assert bool(re.match(image["name_regex"], "ubuntu_24_04_x64_20G_alibase_20250101.vhd")) == (family == "ubuntu-24.04")
    (instance,) = resources(doc, "alicloud_instance")
    recipe = written_files(synthesized_user_data(doc, instance))["/usr/local/sbin/opencode-bake"]["content"]
    assert f"apt-get install -y -q -o Dpkg::Options::=--force-confold docker.io {compose} docker-buildx curl python3 caddy squid\n" in recipe


def test_an_explicit_image_regex_wins_over_the_family(tmp_path: Path) -> None:
    (image,) = data_sources(synth(tmp_path, image_name_regex="^my_debian_.*$"), "alicloud_images")
    assert image["name_regex"] == "^my_debian_.*$"


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


def test_eip_is_pay_as_you_go_by_traffic(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    (eip,) = resources(doc, "alicloud_eip_address")
    assert (eip["payment_type"], eip["internet_charge_type"]) == ("PayAsYouGo", "PayByTraffic")
    (association,) = resources(doc, "alicloud_eip_association")
    assert association["allocation_id"].startswith("${alicloud_eip_address.")
    assert association["instance_id"].startswith("${alicloud_instance.")


def test_ram_role_trusts_only_ecs(tmp_path: Path) -> None:
    assert "alicloud_ram_role" not in synth(tmp_path / "workspace")["resource"]  # the administrator's, not the deployer's
    (role,) = resources(synth_roles(tmp_path), "alicloud_ram_role")
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


def test_user_data_comes_from_the_bootstrap_seam_with_terraform_values(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    (instance,) = resources(doc, "alicloud_instance")
    user_data = synthesized_user_data(doc, instance)
    assert user_data.startswith("#cloud-config\n")
    assert re.search(r'SITE=\$\{join\("", \[replace\(alicloud_eip_address\.\w+\.ip_address, "\.", "-"\), "\.sslip\.io"\]\)\}', user_data)
    assert "DATA_DISK_ID=${alicloud_ecs_disk." in user_data
    assert re.search(r"opencode \$\{random_password\.login_password_\w+\.bcrypt_hash\}", user_data)
    assert '.result' not in user_data  # never the plain password
    # The scripts' own ${...} are escaped for Terraform ($${...}); only Terraform values interpolate.
    written = written_files(user_data)
    assert "$${DATA_DISK_ID#d-}" in written["/usr/local/sbin/opencode-bootstrap"]["content"]
    interpolations = re.findall(r"(?<!\$)\$\{([^}]*)\}", user_data)
    assert all(re.match(r"^(alicloud_|random_|base64encode\(|join\()", expr) for expr in interpolations), interpolations


@pytest.mark.parametrize("power, status", [("running", "Running"), ("stopped", "Stopped")])
def test_power_sets_the_instance_status_in_economical_mode(tmp_path: Path, power: str, status: str) -> None:
    instance = resources(synth(tmp_path, power=power), "alicloud_instance")[0]
    assert (instance["status"], instance["stopped_mode"]) == (status, "StopCharging")


def test_a_bad_power_names_the_setting() -> None:
    assert_rejected({"power": "off"}, "power", "running")


def test_spot_runs_the_instance_as_price_go_and_the_estimate_says_so(tmp_path: Path) -> None:
    from opencode_cost import estimate
    from opencode_settings import CostSettings

    schema = json.loads((Path(__file__).resolve().parents[1] / "config/schemas/alicloud-1.289.0.json").read_text())
    allowed = next(iter(schema["provider_schemas"].values()))["resource_schemas"]["alicloud_instance"]["block"][
        "attributes"]["spot_strategy"]["valid_values"]
    spot = synth(tmp_path / "spot", spot=True)
    instance = resources(spot, "alicloud_instance")[0]
    assert instance["spot_strategy"] == "SpotAsPriceGo" and instance["spot_strategy"] in allowed
    assert "spot_strategy" not in resources(synth(tmp_path / "plain"), "alicloud_instance")[0]  # the provider's NoSpot
    notes = estimate({"opencode": spot}, CostSettings()).notes
    assert any(note.startswith("workspace runs as spot") for note in notes), notes
