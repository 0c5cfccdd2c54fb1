"""Settings: defaults, sources, and one clear message per bad field (with nothing written)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, run_main
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


# (overrides, the field the message must name, a fragment of the fix it must suggest)
BAD_INPUT = [
    ({"web_cidrs": ["10.0.0.0/33"]}, "web_cidrs[0]", "not a valid CIDR"),
    ({"web_cidrs": ["10.0.0.1/24"]}, "web_cidrs[0]", "has host bits set"),
    ({"web_cidrs": ["example.com"]}, "web_cidrs[0]", "not a valid CIDR"),
    ({"web_cidrs": []}, "web_cidrs", "tunnel-only"),
    ({"ssh_cidrs": ["0.0.0.0/0"], "key_pair_name": "k1"}, "ssh_cidrs", "203.0.113.7/32"),
    ({"ssh_cidrs": ["::/0"], "key_pair_name": "k1"}, "ssh_cidrs", "whole internet"),
    ({"ssh_cidrs": ["203.0.113.0/24"]}, "ssh_cidrs", "key_pair_name or ssh_public_key"),
    ({"ssh_cidrs": ["300.1.1.1/32"], "key_pair_name": "k1"}, "ssh_cidrs[0]", "not a valid CIDR"),
    ({"instance_type": "e-c1m2.large"}, "instance_type", "ecs.e-c1m2.large"),
    ({"instance_type": "ecs.e-c1m2"}, "instance_type", "not an ECS instance type"),
    ({"region": "mars-1"}, "region", "unknown region"),
    ({"region": "cn-hangzhou"}, "region", "ICP filing"),
    ({"region": "AP-SOUTHEAST-1"}, "region", "unknown region"),
    ({"vpc_id": "vpc-abc123def"}, "vswitch_id", "required when vpc_id is set"),
    ({"vswitch_id": "vsw-abc123def"}, "vpc_id", "required when vswitch_id is set"),
    ({"vpc_id": "vsw-abc123def", "vswitch_id": "vsw-abc123def"}, "vpc_id", "starts with vpc"),
    ({"eip_allocation_id": "47.1.2.3"}, "eip_allocation_id", "starts with eip"),
    ({"model": {"provider": "openai-compatible"}}, "model", "model.base_url is required"),
    ({"model": {"provider": "azure"}}, "model.provider", "openai-compatible"),
    ({"model": {"base_url": "ftp://x"}}, "model.base_url", "http(s) URL"),
    ({"model": {"model": ""}}, "model.model", "at least 1 character"),
    ({"model": {"api_key_parameter": "ALIYUN-key"}}, "model.api_key_parameter", "not an OOS parameter name"),
    ({"model": {"api_kee": "x"}}, "model.api_kee", "not a known setting"),
    ({"name": "Open Code"}, "name", "3-24 characters"),
    ({"name": "x"}, "name", "3-24 characters"),
    ({"name": "a" * 30}, "name", "3-24 characters"),
    ({"system_disk_size": 10}, "system_disk_size", "greater than or equal to 20"),
    ({"data_disk_size": 0}, "data_disk_size", "greater than or equal to 20"),
    ({"data_disk_category": "cloud"}, "data_disk_category", "cloud_essd"),
    ({"system_disk_category": "ephemeral_ssd"}, "system_disk_category", "cloud_essd"),
    ({"snapshot_retention_days": 0}, "snapshot_retention_days", "greater than or equal to 1"),
    ({"vswitch_cidr": "192.168.0.0/24"}, "vswitch_cidr", "inside vpc_cidr"),
    ({"vpc_cidr": "0.0.0.0/4", "vswitch_cidr": "10.0.0.0/24"}, "vpc_cidr", "/8 to /24"),
    ({"key_pair_name": "k1", "ssh_public_key": KEY}, "ssh_public_key", "conflicts with key_pair_name"),
    ({"ssh_public_key": "-----BEGIN OPENSSH PRIVATE KEY-----"}, "ssh_public_key", "OpenSSH public key"),
    ({"key_pair_name": "1bad"}, "key_pair_name", "not a valid key pair name"),
    ({"domain": "not a domain"}, "domain", "code.example.com"),
    ({"domain": "localhost"}, "domain", "code.example.com"),
    ({"tls_mode": "letsencrypt"}, "tls_mode", "tunnel-only"),
    ({"tls_mode": "tunnel-only"}, "tls_mode", "needs SSH"),
    ({"tags": {"workspace": "x"}}, "tags", "set by the stack itself"),
    ({"tags": {"aliyun:owner": "x"}}, "tags", "not start with aliyun"),
    ({"opencode_version": "latest"}, "opencode_version", "1.18.33"),
    ({"github_token_parameter": "gh-token"}, "use_github_token", "must be true"),
    ({"image_name_regex": "ubuntu_(24"}, "image_name_regex", "not a valid regular expression"),
    ({"eip_bandwidth_mbps": 0}, "eip_bandwidth_mbps", "greater than or equal to 1"),
    ({"instance_typo": "ecs.g7.large"}, "instance_typo", "not a known setting"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), BAD_INPUT, ids=[case[1] + ":" + case[2] for case in BAD_INPUT])
def test_bad_input_names_the_field_and_the_fix(overrides: dict, field: str, fix: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    named = [message for problem_field, message in caught.value.problems if problem_field == field]
    assert named, f"no problem names {field!r}: {caught.value.problems}"
    assert any(fix in message for message in named), named
    assert f"  - {field}: " in caught.value.render()


def test_there_are_at_least_30_bad_input_cases() -> None:
    assert len(BAD_INPUT) >= 30


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
