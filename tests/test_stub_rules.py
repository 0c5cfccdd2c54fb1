"""The stub provider's plan-time rules (harness/provider_rules.py): each rule kind passes a good
config and fails a bad one, on the attributes of the shared schema that carry it. These are the
checks the real provider makes at plan; the rehearsal's stub runs exactly these functions."""
from __future__ import annotations

import json
from typing import Any

import pytest
from tf.types import Unknown

from cloud_sim import SCHEMAS
from provider_rules import RULE_KEYS, check, replace_paths, rule_names

SCHEMA = json.loads((SCHEMAS / "alicloud-1.289.0.json").read_text())
PROVIDER = SCHEMA["provider_schemas"]["registry.terraform.io/aliyun/alicloud"]


def block(kind: str, type_name: str) -> dict[str, Any]:
    return PROVIDER[f"{kind}_schemas"][type_name]["block"]


def errors(kind: str, type_name: str, config: dict[str, Any]) -> list[str]:
    return [f.detail for f in check(block(kind, type_name), config) if f.severity == "error"]


def warnings(kind: str, type_name: str, config: dict[str, Any]) -> list[str]:
    return [f.detail for f in check(block(kind, type_name), config) if f.severity == "warning"]


INSTANCE = {"instance_type": "ecs.e-c1m2.large", "image_id": "ubuntu"}


def test_the_schema_is_the_shared_one_and_every_rule_kind_is_known() -> None:
    assert SCHEMA["//"]["provider_version"] == "1.289.0"
    added = SCHEMA["//"]["added_by_the_project"]  # from the provider's Go source, recorded (docs/guides/provider-bindings.md)
    assert (len(PROVIDER["resource_schemas"]) - len(added["resource_schemas"]),
            len(PROVIDER["data_source_schemas"]) - len(added["data_source_schemas"])) == (59, 19)
    assert set(added["resource_schemas"]) <= set(PROVIDER["resource_schemas"])
    assert set(added["data_source_schemas"]) <= set(PROVIDER["data_source_schemas"])
    seen: set[str] = set()

    def walk(b: dict[str, Any]) -> None:
        for spec in b.get("attributes", {}).values():
            seen.update(k for k in spec if k not in {"type", "description", "optional", "required", "computed",
                                                     "sensitive", "description_kind", "deprecated"})
        for nested in b.get("block_types", {}).values():
            walk(nested["block"])

    for kind in ("resource", "data_source"):
        for spec in PROVIDER[f"{kind}_schemas"].values():
            walk(spec["block"])
    assert seen <= set(RULE_KEYS), f"rule kinds the stub does not know: {seen - set(RULE_KEYS)}"


# --- one pass and one fail per rule kind --------------------------------------------------------


def test_valid_values() -> None:
    assert errors("data_source", "alicloud_zones", {"available_disk_category": "cloud_essd"}) == []
    assert errors("data_source", "alicloud_zones", {"available_disk_category": "cloud_essd_entry"}) == [
        'expected available_disk_category to be one of ["all" "cloud" "ephemeral_ssd" "cloud_essd" '
        '"cloud_efficiency" "cloud_ssd" "local_disk"], got cloud_essd_entry'
    ]


def test_valid_int_values_and_int_between_combine_as_any() -> None:
    # alicloud_instance.period: IntBetween(1, 9) or IntInSlice(12, 24, 36, 48, 60)
    for good in (1, 9, 12, 60):
        assert errors("resource", "alicloud_instance", {**INSTANCE, "period": good}) == []
    assert errors("resource", "alicloud_instance", {**INSTANCE, "period": 10}) == [
        "expected period to be one of [12 24 36 48 60], got 10",
        "expected period to be in the range (1 - 9), got 10",
    ]
    assert errors("resource", "alicloud_eip_address", {"period": 36}) == []
    assert errors("resource", "alicloud_eip_address", {"period": 10}) == [
        "expected period to be one of [0 1 2 3 4 5 6 7 8 9 12 24 36], got 10"
    ]


def test_int_between() -> None:
    config = {**INSTANCE, "http_put_response_hop_limit": 1}
    assert errors("resource", "alicloud_instance", config) == []
    assert errors("resource", "alicloud_instance", {**config, "http_put_response_hop_limit": 65}) == [
        "expected http_put_response_hop_limit to be in the range (1 - 64), got 65"
    ]


def test_string_len_between() -> None:
    assert errors("resource", "alicloud_instance", {**INSTANCE, "instance_name": "ab"}) == []
    assert errors("resource", "alicloud_instance", {**INSTANCE, "instance_name": "a"}) == [
        "expected length of instance_name to be in the range (2 - 128), got a"
    ]


def test_string_match() -> None:
    assert errors("resource", "alicloud_instance", INSTANCE) == []
    assert errors("resource", "alicloud_instance", {**INSTANCE, "instance_type": "g7.large"}) == [
        "expected value of instance_type to match regular expression '^ecs\\\\..*', got g7.large"
    ]


def test_conflicts_with() -> None:
    assert errors("resource", "alicloud_instance", {**INSTANCE, "ipv6_address_count": 1}) == []
    assert errors("resource", "alicloud_instance", {**INSTANCE, "ipv6_address_count": 1, "ipv6_addresses": ["::1"]}) == [
        '"ipv6_address_count": conflicts with ipv6_addresses',
        '"ipv6_addresses": conflicts with ipv6_address_count',
    ]


def test_conflicts_with_a_block_counts_only_a_block_that_is_given() -> None:
    # Terraform sends an absent list block as []: the SDK sees it as not set.
    assert errors("resource", "alicloud_ram_policy", {"policy_name": "p", "policy_document": "{}", "statement": []}) == []
    assert errors("resource", "alicloud_ram_policy", {"policy_document": "{}", "statement": [{"effect": "Allow"}]}) == [
        '"policy_document": conflicts with statement'
    ]


def test_dynamic_field_lists_expand() -> None:
    assert rule_names(['<dynamic:strings.Fields("source_vswitch_id")>']) == ["source_vswitch_id"]
    good = {"snat_table_id": "stb-1", "snat_ip": "47.0.0.1", "source_cidr": "10.0.0.0/24"}
    assert errors("resource", "alicloud_snat_entry", good) == []
    assert '"source_cidr": conflicts with source_vswitch_id' in errors(
        "resource", "alicloud_snat_entry", {**good, "source_vswitch_id": "vsw-1"}
    )


def test_exactly_one_of() -> None:
    assert errors("resource", "alicloud_log_project", {"project_name": "p"}) == []
    both = errors("resource", "alicloud_log_project", {"project_name": "p", "name": "p"})
    assert '"project_name": only one of `project_name,name` can be specified, but `project_name,name` were specified.' in both
    assert errors("resource", "alicloud_log_project", {}) == [
        '"project_name": one of `project_name,name` must be specified'
    ]


def test_at_least_one_of() -> None:
    assert errors("resource", "alicloud_instance", INSTANCE) == []
    assert '"image_id": one of `image_id,launch_template_id,launch_template_name` must be specified' in errors(
        "resource", "alicloud_instance", {"instance_type": "ecs.e-c1m2.large"}
    )


def test_required_with() -> None:
    # No attribute of 1.289.0's shared subset carries RequiredWith; the rule is the SDK's all the same.
    schema = {"attributes": {"a": {"type": "string", "optional": True, "required_with": ["b"]},
                             "b": {"type": "string", "optional": True}}}
    assert [f.detail for f in check(schema, {"a": "x", "b": "y"})] == []
    assert [f.detail for f in check(schema, {"a": "x"})] == ['"a": all of `b` must be specified']


def test_deprecation_message_is_a_warning() -> None:
    assert warnings("resource", "alicloud_instance", INSTANCE) == []
    assert warnings("resource", "alicloud_instance", {**INSTANCE, "role_name": "r"}) == [
        "Field `role_name` has been deprecated from provider version 1.275.0. "
        "New resource `alicloud_ecs_ram_role_attachment` instead."
    ]
    assert errors("resource", "alicloud_instance", {**INSTANCE, "role_name": "r"}) == []


def test_rules_reach_nested_blocks() -> None:
    good = {**INSTANCE, "data_disks": [{"size": 20, "category": "cloud_essd_entry"}]}
    assert errors("resource", "alicloud_instance", good) == []
    assert errors("resource", "alicloud_instance", {**INSTANCE, "data_disks": [{"size": 20, "category": "ssd"}]}) == [
        'expected category to be one of ["all" "cloud" "ephemeral_ssd" "cloud_essd" "cloud_efficiency" "cloud_ssd" '
        '"local_disk" "cloud_auto" "cloud_essd_entry" "cloud_regional_disk_auto" "elastic_ephemeral_disk_standard" '
        '"elastic_ephemeral_disk_premium"], got ssd'
    ]


def test_unknown_values_are_skipped() -> None:
    assert errors("data_source", "alicloud_zones", {"available_disk_category": Unknown}) == []
    assert errors("resource", "alicloud_instance", {**INSTANCE, "ipv6_address_count": Unknown, "ipv6_addresses": ["::1"]}) == []


# --- force_new and default ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, replaced",
    [
        ({"system_disk_category": "cloud_essd"}, [("system_disk_category",)]),
        ({"user_data": "#cloud-config\n# new"}, []),  # in place in 1.289.0 (the stack adds replace_triggered_by)
        ({"instance_name": "renamed"}, []),
        ({"system_disk_category": Unknown}, [("system_disk_category",)]),
    ],
)
def test_force_new_replaces(change: dict[str, Any], replaced: list[tuple[str, ...]]) -> None:
    prior = {**INSTANCE, "system_disk_category": "cloud_essd_entry", "user_data": "#cloud-config", "instance_name": "a"}
    assert replace_paths(block("resource", "alicloud_instance"), prior, {**prior, **change}) == replaced


def test_default_counts_as_the_value_of_an_unset_argument() -> None:
    schema = {"attributes": {"mode": {"type": "string", "optional": True, "force_new": True, "default": "A"}}}
    assert replace_paths(schema, {"mode": None}, {"mode": "A"}) == []
    assert replace_paths(schema, {"mode": None}, {"mode": "B"}) == [("mode",)]


def test_force_new_inside_a_block_replaces_the_resource() -> None:
    schema = block("resource", "alicloud_ecs_instance_set")
    disks = [{"disk_category": "cloud_essd", "disk_size": 40}]
    assert replace_paths(schema, {"data_disks": disks}, {"data_disks": disks}) == []
    assert replace_paths(schema, {"data_disks": disks}, {"data_disks": [{**disks[0], "disk_size": 50}]}) == [("data_disks",)]
    assert replace_paths(schema, {"data_disks": disks}, {"data_disks": disks * 2}) == [("data_disks",)]
