"""Settings: defaults, sources, and one clear message per bad field (with nothing written)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, assert_rejected, run_main
from opencode_settings import Settings, SettingsError, load_settings

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGV4YW1wbGUuY29tIGtleSBmb3IgdGVzdHM user@example"


def test_defaults_are_valid_and_safe() -> None:
    settings = load_settings()
    assert settings.name == "opencode"
    assert settings.region == "ap-southeast-1"
    assert settings.instance_type == "ecs.e-c1m2.large"
    assert settings.ssh_cidrs == []  # port 22 closed
    assert settings.web_cidrs == ["0.0.0.0/0"]
    assert settings.tls_mode == "acme"
    assert settings.model.provider == "anthropic"
    assert settings.resource_tags() == {"workspace": "opencode", "managed-by": "opencode-alicloud"}


def test_env_vars_with_prefix_and_nested_delimiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_ALICLOUD_NAME", "team-a")
    monkeypatch.setenv("OPENCODE_ALICLOUD_SSH_CIDRS", '["203.0.113.7/32"]')
    monkeypatch.setenv("OPENCODE_ALICLOUD_KEY_PAIR_NAME", "laptop")
    monkeypatch.setenv("OPENCODE_ALICLOUD_MODEL__PROVIDER", "openai-compatible")
    monkeypatch.setenv("OPENCODE_ALICLOUD_MODEL__BASE_URL", "https://llm.example.com/v1/")
    settings = load_settings()
    assert settings.name == "team-a"
    assert settings.ssh_cidrs == ["203.0.113.7/32"]
    assert settings.model.provider == "openai-compatible"
    assert settings.model.base_url == "https://llm.example.com/v1"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENCODE_ALICLOUD_REGION=eu-central-1\n")
    assert load_settings().region == "eu-central-1"


def test_toml_file_named_by_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "workspace.toml"
    config.write_text('name = "from-toml"\nweb_cidrs = ["198.51.100.0/24"]\n[model]\nprovider = "openai"\nmodel = "gpt-5"\n')
    monkeypatch.setenv("OPENCODE_ALICLOUD_CONFIG", str(config))
    monkeypatch.setenv("OPENCODE_ALICLOUD_REGION", "us-west-1")  # env beats the file
    settings = load_settings()
    assert (settings.name, settings.region, settings.web_cidrs) == ("from-toml", "us-west-1", ["198.51.100.0/24"])
    assert (settings.model.provider, settings.model.model) == ("openai", "gpt-5")


def test_shipped_examples_are_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENCODE_ALICLOUD_CONFIG", str(ROOT / "config" / "settings.example.toml"))
    load_settings()
    (tmp_path / ".env").write_text((ROOT / "config" / "example.env").read_text())
    monkeypatch.delenv("OPENCODE_ALICLOUD_CONFIG")
    load_settings()


# Bad values of each concern are in test_settings_<concern>.py (and test_state.py, test_model_server.py);
# here, what belongs to loading itself.
BAD_INPUT = [
    ({"instance_typo": "ecs.g7.large"}, "instance_typo", "not a known setting"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), BAD_INPUT, ids=[case[1] + ":" + case[2] for case in BAD_INPUT])
def test_bad_input_names_the_field_and_the_fix(overrides: dict, field: str, fix: str) -> None:
    assert_rejected(overrides, field, fix)


def test_there_are_at_least_30_bad_input_cases() -> None:
    import test_settings_model
    import test_settings_network
    import test_settings_workspace

    cases = BAD_INPUT + test_settings_model.BAD + test_settings_network.BAD + test_settings_workspace.BAD
    assert len(cases) >= 30


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(region="mars-1", instance_type="g7", web_cidrs=["1.2.3.4/40"])
    assert {field for field, _ in caught.value.problems} == {"region", "instance_type", "web_cidrs[0]"}


def test_main_exits_2_and_writes_nothing_on_bad_settings(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    result = run_main(
        {"OPENCODE_ALICLOUD_SSH_CIDRS": '["0.0.0.0/0"]', "OPENCODE_ALICLOUD_REGION": "nowhere-1"}, outdir
    )
    assert result.returncode == 2, result.stderr
    assert "  - region: unknown region 'nowhere-1'" in result.stderr
    assert "  - ssh_cidrs: 0.0.0.0/0 opens SSH to the whole internet" in result.stderr
    assert "Traceback" not in result.stderr
    assert not outdir.exists()


def test_main_synthesizes_the_default_stack(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    result = run_main({"OPENCODE_ALICLOUD_STATE_DIR": str(tmp_path / "state")}, outdir)
    assert result.returncode == 0, result.stderr
    assert (outdir / "stacks" / "opencode" / "cdk.tf.json").is_file()
    assert result.stderr == ""
    # The local state will hold the password and the keys: its folder is the user's alone.
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700


def test_settings_model_forbids_unknown_top_level_keys() -> None:
    assert Settings.model_config.get("extra") == "forbid"
