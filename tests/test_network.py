"""The network construct: zone choice, new or reused VPC and vSwitch."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import data_sources, resources, synth


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
