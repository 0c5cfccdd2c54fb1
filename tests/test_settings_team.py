"""Team workspaces: `[workspaces.<name>]` in one settings file gives one stack per workspace, each
the file's settings with its overrides, each with its own state key (no shared lock)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import OSS, assert_rejected, synth_app
from opencode_settings import SettingsError, load_settings, team_settings


def test_each_workspace_is_the_files_settings_with_its_overrides() -> None:
    team = team_settings(load_settings(instance_type="ecs.e-c1m2.xlarge", workspaces={
        "alice": {}, "bob": {"instance_type": "ecs.g7.large", "model": {"provider": "openai", "model": "gpt-5"}}}))
    assert list(team) == ["alice", "bob"]
    assert (team["alice"].name, team["alice"].instance_type, team["alice"].model.provider) == (
        "alice", "ecs.e-c1m2.xlarge", "anthropic")
    assert (team["bob"].name, team["bob"].instance_type, team["bob"].model.model) == ("bob", "ecs.g7.large", "gpt-5")
    assert team_settings(load_settings()) == {}


@pytest.mark.parametrize("workspaces, field, fix", [
    ({"bob": {"instance_type": "m5.large"}}, "workspaces.bob.instance_type", "m5.large"),
    ({"bob": {"web_cidrs": ["0.0.0.0/33"]}}, "workspaces.bob.web_cidrs[0]", "is not a valid CIDR"),
    ({"bob": {"backend": {"kind": "local"}}}, "workspaces.bob.backend", "set it at the top level"),
    ({"bob": {"name": "carol"}}, "workspaces.bob.name", "set it at the top level"),
    ({"opencode-state": {}}, "workspaces.opencode-state", "is not a workspace name"),
    ({"opencode-roles": {}}, "workspaces.opencode-roles", "is not a workspace name"),
    ({"opencode": {}}, "workspaces.opencode", "is not a workspace name"),  # the single workspace's stack id
    ({"alice-model": {}}, "workspaces.alice-model", "not ending with '-' or '-model'"),
    ({"Bob": {}}, "workspaces.Bob", "is not a workspace name"),
    ({"bob": {"no_such_setting": 1}}, "workspaces.bob.no_such_setting", "is not a known setting"),
])
def test_a_bad_workspace_names_the_workspace_and_the_setting(workspaces: dict, field: str, fix: str) -> None:
    assert_rejected({"workspaces": workspaces}, field, fix)


def test_the_problems_of_several_workspaces_come_in_the_files_order() -> None:
    """A bad value, a bad name and a shared key, one workspace each: one line each, as the file lists them."""
    with pytest.raises(SettingsError) as raised:
        load_settings(workspaces={"alice": {"instance_type": 5}, "Bad_Name": {}, "carol": {"state": {}}})
    fields = [field for field, _ in raised.value.problems]
    assert fields == ["workspaces.alice.instance_type", "workspaces.Bad_Name", "workspaces.carol.state"]


def test_one_stack_per_workspace_each_with_its_own_state_key(tmp_path: Path) -> None:
    stacks = synth_app(tmp_path, backend=OSS, workspaces={"alice": {}, "bob": {"instance_type": "ecs.g7.large"}})
    assert set(stacks) == {"alice", "bob", "opencode-roles"}
    roles = stacks.pop("opencode-roles")  # the administrator's: every workspace's roles, in one state of its own
    assert sorted(r["role_name"] for r in roles["resource"]["alicloud_ram_role"].values()) == ["alice-instance", "bob-instance"]
    # In a folder of its own: no workspace's state policy (its folder) reaches what the administrator applies.
    assert (roles["terraform"]["backend"]["oss"]["prefix"], roles["terraform"]["backend"]["oss"]["key"]) == (
        "opencode/opencode-roles", "opencode-roles.tfstate")
    keys = {name: (doc["terraform"]["backend"]["oss"]["prefix"], doc["terraform"]["backend"]["oss"]["key"])
            for name, doc in stacks.items()}
    assert keys == {"alice": ("opencode/alice", "alice.tfstate"), "bob": ("opencode/bob", "bob.tfstate")}
    lock = {doc["terraform"]["backend"]["oss"]["tablestore_table"] for doc in stacks.values()}
    assert lock == {"terraform_lock"}  # one lock table; the lock's id is the state's key, so no two workspaces share one
    instances = {name: next(iter(doc["resource"]["alicloud_instance"].values())) for name, doc in stacks.items()}
    assert instances["alice"]["instance_name"] == "alice-workspace" and instances["bob"]["instance_type"] == "ecs.g7.large"
