"""Which settings flow into provider attributes that carry a plan-time rule (provider 1.289.0).

Settings must never be looser than the provider: a value the provider would reject at plan is
rejected here, at settings time, with the setting's name. tests/test_provider_bounds.py checks
every row against the rule in config/schemas/alicloud-1.289.0.json.

Not in the table, because 1.289.0's schema has no rule for them: the disk sizes
(`alicloud_instance.system_disk_size`, `alicloud_ecs_disk.size`), snapshot retention, CIDRs and
tags. Settings still bound those by ECS's documented limits.
"""
from __future__ import annotations

from typing import NamedTuple


class Bound(NamedTuple):
    setting: str  # dotted settings path
    resource: str  # resource or data source type
    attribute: str
    template: str = "{}"  # how the setting's value becomes the attribute's value
    data_source: bool = False
    mapping: tuple[tuple[str, str], ...] = ()  # or: the attribute's value for each of the setting's values

    def apply(self, value: object) -> str:
        """The attribute's value for this setting's value (what the construct writes)."""
        if self.mapping:
            return dict(self.mapping).get(str(value), str(value))
        return self.template.format(value)


POWER_STATUS = (("running", "Running"), ("stopped", "Stopped"))  # settings' power -> the instance's status


PROVIDER_BOUNDS: tuple[Bound, ...] = (
    Bound("name", "alicloud_instance", "instance_name", "{}-workspace"),
    Bound("name", "alicloud_instance", "instance_name", "{}-model"),
    Bound("name", "alicloud_ecs_key_pair", "key_pair_name", "{}-key"),
    Bound("instance_type", "alicloud_instance", "instance_type"),
    Bound("model_server.instance_type", "alicloud_instance", "instance_type"),
    Bound("system_disk_category", "alicloud_instance", "system_disk_category"),
    Bound("system_disk_category", "alicloud_instance_types", "system_disk_category", data_source=True),
    Bound("data_disk_category", "alicloud_ecs_disk", "category"),
    Bound("state.bucket", "alicloud_oss_bucket", "bucket"),
    Bound("power", "alicloud_instance", "status", mapping=POWER_STATUS),
)
