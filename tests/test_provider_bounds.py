"""Settings are never looser than the provider: for every row of PROVIDER_BOUNDS, any value the
settings accept becomes an attribute value the provider's plan-time rule accepts (hypothesis over
arbitrary text, plus the boundaries), and the rejection names the setting."""
from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_sim import SCHEMAS
from opencode_settings import Settings, SettingsError, load_settings
from opencode_settings.provider_bounds import PROVIDER_BOUNDS, Bound
from provider_rules import check

PROVIDER = json.loads((SCHEMAS / "alicloud-1.289.0.json").read_text())["provider_schemas"][
    "registry.terraform.io/aliyun/alicloud"
]
RULES = ("valid_values", "valid_int_values", "int_between", "string_len_between", "string_match")


def rule_block(bound: Bound) -> dict[str, Any]:
    kind = "data_source_schemas" if bound.data_source else "resource_schemas"
    spec = PROVIDER[kind][bound.resource]["block"]["attributes"][bound.attribute]
    return {"attributes": {bound.attribute: {k: v for k, v in spec.items() if k in (*RULES, "type")}}}


def as_overrides(setting: str, value: Any) -> dict[str, Any]:
    head, _, rest = setting.partition(".")
    base = {"enabled": True} if head == "model_server" else {}
    return {head: {**base, rest: value}} if rest else {head: value}


def settings_accept(setting: str, value: Any) -> bool:
    try:
        load_settings(**as_overrides(setting, value))
    except SettingsError as error:
        assert any(field == setting for field, _ in error.problems), error.problems
        return False
    return True


def provider_accepts(bound: Bound, value: Any) -> bool:
    return check(rule_block(bound), {bound.attribute: bound.apply(value)}) == []


@pytest.mark.parametrize("bound", PROVIDER_BOUNDS, ids=lambda b: f"{b.setting}->{b.resource}.{b.attribute}")
def test_every_row_names_a_rule_of_the_schema(bound: Bound) -> None:
    assert any(key in rule_block(bound)["attributes"][bound.attribute] for key in RULES)


def _field_choices(setting: str) -> list[str]:
    """The values a Literal setting allows."""
    model: Any = Settings
    *parents, leaf = setting.split(".")
    for parent in parents:
        model = model.model_fields[parent].annotation
    return list(get_args(model.model_fields[leaf].annotation))


def _boundaries(bound: Bound) -> list[Any]:
    spec = rule_block(bound)["attributes"][bound.attribute]
    fixed = len(bound.apply(""))
    values: list[Any] = ["", "ecs.", "g7.large", "ecs.g7.large", "ECS.G7.LARGE", "cloud", "cloud_essd_entry", "local_disk"]
    for low, high in spec.get("string_len_between", []):
        for length in (low - 1, low, high, high + 1):
            n = max(length - fixed, 0)
            values += ["a" * n, ("a" + "b" * (n - 1)) if n else ""]
    return values


@pytest.mark.parametrize("bound", PROVIDER_BOUNDS, ids=lambda b: f"{b.setting}->{b.resource}.{b.attribute}")
def test_settings_reject_at_the_boundaries_what_the_provider_rejects(bound: Bound) -> None:
    for value in _boundaries(bound):
        if settings_accept(bound.setting, value):
            assert provider_accepts(bound, value), f"{bound.setting}={value!r} passes settings but not the provider"


@pytest.mark.parametrize("bound", [b for b in PROVIDER_BOUNDS if "valid_values" in rule_block(b)["attributes"][b.attribute]],
                         ids=lambda b: f"{b.setting}->{b.resource}.{b.attribute}")
def test_every_choice_a_setting_offers_is_valid_for_the_provider(bound: Bound) -> None:
    for choice in _field_choices(bound.setting):
        assert provider_accepts(bound, choice), f"{bound.setting} offers {choice!r}, which {bound.resource}.{bound.attribute} rejects"


@settings(max_examples=60, deadline=None)
@given(value=st.text(min_size=0, max_size=140))
def test_any_text_the_settings_accept_the_provider_accepts(value: str) -> None:
    for bound in PROVIDER_BOUNDS:
        if settings_accept(bound.setting, value):
            assert provider_accepts(bound, value), f"{bound.setting}={value!r}"
