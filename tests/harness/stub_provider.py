#!/usr/bin/env python3
"""A stub Terraform provider that serves a provider schema file.

THIS IS A SIMULATION OF THE CLOUD. It stands in for aliyun/alicloud and hashicorp/random,
which cannot be downloaded here. It speaks the real plugin protocol (through the PyPI `tf`
framework), so Terraform validates every attribute, type and block against the schema,
plans, applies and destroys. It also enforces the provider's plan-time rules that the schema
records (valid values, ranges, lengths, regexes, conflicting and required arguments,
deprecations, force_new: see provider_rules.py) in ValidateResourceConfig,
ValidateDataResourceConfig and PlanResourceChange, as the real provider does.
It knows nothing of Alibaba Cloud's API semantics, IAM, quotas, stock or prices: created
resources get made-up ids and addresses, and data sources answer with one made-up,
deterministic item (so `[0]` works and a re-plan shows no changes).

usage: stub_provider.py SCHEMA.json   (started by Terraform, never by hand)
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import secrets
import string
import sys
import time
from pathlib import Path

import bcrypt
from typing import Any

from tf import provider as framework
from tf import runner
from tf.gen import tfplugin_pb2 as pb
from tf.iface import Config, DataSource, Provider, Resource, State
from tf.schema import Attribute, Block, NestedBlock, Schema
from tf.types import Unknown
from tf.utils import Diagnostics, _to_attribute_path, read_dynamic_value

from provider_rules import Path as RulePath
from provider_rules import check, replace_paths

_NESTING = {
    "single": pb.Schema.NestedBlock.NestingMode.SINGLE,
    "list": pb.Schema.NestedBlock.NestingMode.LIST,
    "set": pb.Schema.NestedBlock.NestingMode.SET,
    "map": pb.Schema.NestedBlock.NestingMode.MAP,
    "group": pb.Schema.NestedBlock.NestingMode.GROUP,
}


def hold_while_file_exists() -> None:
    """Test knob: every create waits while the file STUB_PROVIDER_HOLD names exists (at most 10 min), so a
    rehearsal holds an apply, and its state lock, for exactly as long as it needs, not for a guessed time."""
    hold = os.environ.get("STUB_PROVIDER_HOLD")
    deadline = time.monotonic() + 600
    while hold and os.path.exists(hold) and time.monotonic() < deadline:
        time.sleep(0.1)


def gone_outside_terraform(resource_id: object) -> bool:
    """Test knob: ids listed in the file STUB_PROVIDER_GONE (one a line) read as deleted outside Terraform,
    as a reclaimed spot instance does: the real provider's read finds nothing and drops it from the state."""
    listed = os.environ.get("STUB_PROVIDER_GONE")
    if not listed or not os.path.exists(listed) or not isinstance(resource_id, str):
        return False
    return resource_id in open(listed, encoding="utf-8").read().split()


class Passthrough:
    """Values cross the plugin protocol unchanged (msgpack already gives Python values)."""

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def semantically_equal(self, a: Any, b: Any) -> bool:
        return a == b


class RawType(Passthrough):
    """A Terraform type given as its JSON type expression."""

    def __init__(self, expression: Any) -> None:
        self.expression = expression

    def tf_type(self) -> bytes:
        return json.dumps(self.expression).encode()


class RawNestedBlock(Passthrough, NestedBlock):
    def __init__(self, type_name: str, spec: dict[str, Any]) -> None:
        super().__init__(type_name, None, raw_block(spec["block"]), spec.get("min_items"), spec.get("max_items"))  # type: ignore[arg-type]
        self.mode = spec["nesting_mode"]

    def to_pb(self) -> pb.Schema.NestedBlock:
        return pb.Schema.NestedBlock(
            type_name=self.type_name,
            block=self.block.to_pb(),
            nesting=_NESTING[self.mode],
            min_items=self.min_items or 0,
            max_items=self.max_items or 0,
        )


def raw_attributes(block: dict[str, Any]) -> list[Attribute]:
    return [
        Attribute(
            name,
            RawType(spec["type"]),  # type: ignore[arg-type]
            description=spec.get("description"),
            required=spec.get("required", False),
            optional=spec.get("optional", False),
            computed=spec.get("computed", False),
            sensitive=spec.get("sensitive", False),
        )
        for name, spec in sorted(block.get("attributes", {}).items())
    ]


def raw_block(block: dict[str, Any]) -> Block:
    return Block(
        attributes=raw_attributes(block),
        block_types=[RawNestedBlock(name, spec) for name, spec in sorted(block.get("block_types", {}).items())],
    )


def raw_schema(spec: dict[str, Any]) -> Schema:
    block = raw_block(spec["block"])
    return Schema(attributes=block.attributes, block_types=block.block_types, version=spec.get("version", 0))


# --- made-up values ------------------------------------------------------------------------


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# Plain lists a data source answers with one made-up item, so a `[0]` on them resolves.
ONE_ITEM_LISTS = {"ids", "availability_zones"}


def fake_value(expression: Any, name: str, seed: str) -> Any:
    """A deterministic value of the given type for a computed attribute."""
    digest = _digest(seed, name)
    if expression == "string":
        if name in {"ip_address", "public_ip", "private_ip", "primary_ip_address"}:
            return str(ipaddress.IPv4Address("47.236.0.0") + int(digest[:4], 16))
        if name in {"id", "ids"} or name.endswith("_id"):
            return f"stub-{digest[:16]}"
        return f"stub-{name}"
    if expression == "number":
        return 1
    if expression == "bool":
        return False
    kind = expression[0]
    if kind in {"list", "set"}:
        element = expression[1]
        # One element, so `[0]` resolves (data sources), but no made-up ids in plain lists.
        one = isinstance(element, list) or name in ONE_ITEM_LISTS
        return [fake_value(element, name.rstrip("s"), seed)] if one else []
    if kind == "map":
        return {}
    if kind == "object":
        return {key: fake_value(sub, key, seed + name) for key, sub in expression[1].items()}
    if kind == "tuple":
        return [fake_value(sub, name, seed) for sub in expression[1]]
    return None


# Resource ids as Alibaba Cloud shapes them (a prefix and 20 characters), where something reads them:
# the data disk's id names its device on the instance (/dev/disk/by-id/virtio-<id without d->).
ID_PREFIX = {"alicloud_ecs_disk": "d-", "alicloud_instance": "i-", "alicloud_eip_address": "eip-",
             "alicloud_vpc": "vpc-", "alicloud_vswitch": "vsw-", "alicloud_security_group": "sg-"}


def own_images(spec: dict[str, Any], config: Config) -> State:
    """`alicloud_images` with owners = "self": the account's own images, which only a bake makes. The account
    here has the images listed in the JSON file STUB_PROVIDER_IMAGES names ([{"id", "name"}]), none without it;
    filtered by name_regex, the newest (last listed) first, as DescribeImages answers."""
    listed = os.environ.get("STUB_PROVIDER_IMAGES")
    images = json.loads(Path(listed).read_text()) if listed and Path(listed).exists() else []
    pattern = config.get("name_regex")
    found = [image for image in reversed(images) if not pattern or re.search(pattern, image["name"])]
    if config.get("most_recent"):
        found = found[:1]
    state: dict[str, Any] = {name: config.get(name) for name in spec["block"].get("attributes", {})}
    item = spec["block"]["attributes"]["images"]["type"][1][1]
    state["images"] = [{**{key: fake_value(kind, key, image["id"]) for key, kind in item.items()},
                        "id": image["id"], "image_id": image["id"], "name": image["name"], "status": "Available"}
                       for image in found]
    state["ids"] = [image["id"] for image in found]
    state["id"] = _digest("alicloud_images", config)[:16]
    return state


def _account_roles() -> tuple[Path | None, list[str]]:
    listed = os.environ.get("STUB_PROVIDER_ROLES")
    path = Path(listed) if listed else None
    return path, json.loads(path.read_text()) if path and path.exists() else []


def record_role(name: str, present: bool) -> None:
    """The account's RAM roles: every `alicloud_ram_role` a stub apply creates (an administrator's stack) is added
    to the JSON file STUB_PROVIDER_ROLES names, and taken out when destroyed; a test may list roles the account
    already has there. Without the variable the account keeps no roles."""
    path, roles = _account_roles()
    if path is None:
        return
    roles = [role for role in roles if role != name] + ([name] if present else [])
    path.write_text(json.dumps(roles))


def account_roles(spec: dict[str, Any], config: Config) -> State:
    """`alicloud_ram_roles`: the account's roles (above) whose names match name_regex, as ListRoles answers."""
    pattern = config.get("name_regex")
    found = [role for role in _account_roles()[1] if not pattern or re.search(pattern, role)]
    state: dict[str, Any] = {name: config.get(name) for name in spec["block"].get("attributes", {})}
    item = spec["block"]["attributes"]["roles"]["type"][1][1]
    state["roles"] = [{**{key: fake_value(kind, key, role) for key, kind in item.items()}, "name": role, "id": role}
                      for role in found]
    state["names"] = found
    state["ids"] = found
    state["id"] = _digest("alicloud_ram_roles", config)[:16]
    return state


def random_password(state: dict[str, Any]) -> dict[str, Any]:
    """random_password: a real random result and its real bcrypt hash (cost 10, `$2a$`, as the
    provider's Go bcrypt makes it), so a login against the hash works in the boot rehearsal."""
    alphabet = string.ascii_letters + string.digits
    if state.get("special") in (None, True, Unknown):
        alphabet += state.get("override_special") or "!@#$%&*()-_=+[]{}<>:?"
    length = int(state["length"])
    result = "".join(secrets.choice(alphabet) for _ in range(length))
    hashed = bcrypt.hashpw(result.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()
    return {"result": result, "bcrypt_hash": hashed, "id": "none"}


def resolve_unknowns(type_name: str, schema: dict[str, Any], state: dict[str, Any], seed: str) -> dict[str, Any]:
    special = random_password(state) if type_name == "random_password" else {}
    if type_name in ID_PREFIX:
        special["id"] = ID_PREFIX[type_name] + _digest(seed, "id")[:20]
    out = dict(state)
    attributes = schema["block"].get("attributes", {})
    for name, spec in attributes.items():
        value = out.get(name)
        if value is Unknown or (value is None and spec.get("computed") and not spec.get("optional")):
            out[name] = special[name] if name in special else fake_value(spec["type"], name, seed)
    for name, value in list(out.items()):
        if value is Unknown:
            out[name] = None
    return out


# --- the provider's plan-time rules ---------------------------------------------------------


def report(diags: Diagnostics, block: dict[str, Any], config: dict[str, Any] | None) -> None:
    """Add the provider's errors and deprecation warnings for `config` to `diags`."""
    for finding in check(block, config):
        path = list(finding.path)
        if finding.severity == "error":
            diags.add_error(finding.summary, finding.detail, path=path)
        else:
            diags.add_warning(finding.summary, finding.detail, path=path)


def _attribute_path(path: RulePath) -> pb.AttributePath:
    return _to_attribute_path(list(path))


def _plan_with_replacements(self: Any, request: pb.PlanResourceChange.Request, context: Any) -> Any:
    """The framework's plan, with requires_replace from the schema's force_new rules (nested too)."""
    response = _framework_plan(self, request, context)
    prior, proposed = read_dynamic_value(request.prior_state), read_dynamic_value(request.proposed_new_state)
    if prior is None or proposed is None:
        return response
    block = self.app.schemas[request.type_name]["block"]
    del response.requires_replace[:]
    response.requires_replace.extend(_attribute_path(path) for path in replace_paths(block, prior, proposed))
    return response


_framework_plan = framework.ProviderServicer.PlanResourceChange
framework.ProviderServicer.PlanResourceChange = _plan_with_replacements  # type: ignore[method-assign]


# --- provider ------------------------------------------------------------------------------


def _typed(type_name: str, spec: dict[str, Any]) -> type:
    """A base class answering the framework's name and schema questions for one type."""
    schema = raw_schema(spec)

    class Typed:
        def __init__(self, provider: Provider) -> None:
            self.provider = provider

        @classmethod
        def get_name(cls) -> str:
            return type_name

        @classmethod
        def get_schema(cls) -> Schema:
            return schema

        def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
            super().validate(diags, type_name, config)  # type: ignore[misc]  # the framework's own checks
            report(diags, spec["block"], config)  # the provider's plan-time rules

    return Typed


class StubProvider(Provider):
    def __init__(self, schema_path: Path) -> None:
        document = json.loads(schema_path.read_text())
        ((source, provider),) = document["provider_schemas"].items()
        self.source = source
        self.provider = provider
        self.schemas: dict[str, dict[str, Any]] = provider.get("resource_schemas", {})

    def get_model_prefix(self) -> str:
        return ""

    def full_name(self) -> str:
        return self.source

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return raw_schema(self.provider["provider"])

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        report(diags, self.provider["provider"]["block"], config)

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        pass

    def get_resources(self) -> list[type[Resource]]:
        return [self._resource_class(name, spec) for name, spec in self.provider.get("resource_schemas", {}).items()]

    def get_data_sources(self) -> list[type[DataSource]]:
        return [self._data_class(name, spec) for name, spec in self.provider.get("data_source_schemas", {}).items()]

    @staticmethod
    def _resource_class(type_name: str, spec: dict[str, Any]) -> type[Resource]:
        class StubResource(_typed(type_name, spec), Resource):  # type: ignore[misc]
            def create(self, ctx: Any, planned: State) -> State:
                hold_while_file_exists()
                if type_name == "alicloud_ram_role":
                    record_role(planned["role_name"], True)
                return resolve_unknowns(type_name, spec, planned, _digest(type_name, secrets.token_hex(8)))

            def read(self, ctx: Any, current: State) -> State | None:
                return None if gone_outside_terraform(current.get("id")) else current

            def update(self, ctx: Any, current: State, planned: State) -> State:
                return resolve_unknowns(type_name, spec, planned, _digest(type_name, current.get("id")))

            def delete(self, ctx: Any, current: State) -> None:
                if type_name == "alicloud_ram_role":
                    record_role(current["role_name"], False)
                return None

        return StubResource

    @staticmethod
    def _data_class(type_name: str, spec: dict[str, Any]) -> type[DataSource]:
        class StubDataSource(_typed(type_name, spec), DataSource):  # type: ignore[misc]
            def read(self, ctx: Any, config: Config) -> State:
                if type_name == "alicloud_images" and config.get("owners") == "self":
                    return own_images(spec, config)
                if type_name == "alicloud_ram_roles":
                    return account_roles(spec, config)
                # Deterministic: the same config always gives the same answer.
                state = {name: config.get(name) for name in spec["block"].get("attributes", {})}
                for name in spec["block"].get("block_types", {}):
                    state[name] = config.get(name)
                filled = resolve_unknowns(type_name, spec, state, _digest(type_name, config))
                for name, attribute in spec["block"].get("attributes", {}).items():
                    if attribute.get("computed") and attribute.get("optional") and filled.get(name) is None:
                        filled[name] = fake_value(attribute["type"], name, _digest(type_name, config))
                return filled

        return StubDataSource


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runner.run_provider(StubProvider(Path(sys.argv[1])), sys.argv[1:])


if __name__ == "__main__":
    main()
