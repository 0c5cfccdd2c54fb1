"""Bad input never ends in a traceback: through main.py, as a user runs it, every bad value from
every source exits 2, prints one line per problem naming the setting and where the value came
from (the variable, the .env line or the TOML file and line), and leaves cdktf.out/ untouched."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_main

V = "OPENCODE_ALICLOUD_"

# (source, the input, fragments the error lines must contain)
#   env: variables; dotenv: the text of .env; toml: the text of the file named by OPENCODE_ALICLOUD_CONFIG
CASES: list[tuple[str, object, list[str]]] = [
    ("env", {V + "WEB_CIDRS": "10.0.0.0/8,banana"}, ["web_cidrs[1]: 'banana' is not a valid CIDR", f"environment variable {V}WEB_CIDRS"]),
    ("env", {V + "WEB_CIDR": "203.0.113.0/24"}, [f"{V}WEB_CIDR: environment variable {V}WEB_CIDR names no setting; did you mean {V}WEB_CIDRS?"]),
    ("env", {V + "SSH_CIDR": "203.0.113.7/32"}, [f"did you mean {V}SSH_CIDRS?"]),
    ("env", {V + "MODEL__PROVIDR": "openai"}, [f"did you mean {V}MODEL__PROVIDER?"]),
    ("env", {V + "REGOIN": "eu-central-1"}, [f"did you mean {V}REGION?"]),
    ("env", {V + "SSH_CIDRS": "[1,"}, ["ssh_cidrs: '[1,' is not JSON", f"environment variable {V}SSH_CIDRS"]),
    ("env", {V + "SSH_CIDRS": "0.0.0.0/1,128.0.0.0/1", V + "KEY_PAIR_NAME": "k1"}, ["ssh_cidrs: ", "whole internet"]),
    ("env", {V + "REGION": "cn-hangzhou"}, ["region: 'cn-hangzhou' is in mainland China", f"environment variable {V}REGION"]),
    ("env", {V + "NAME": "Bad Name"}, ["name: 'Bad Name' must be 3-24 characters", f"environment variable {V}NAME"]),
    ("env", {V + "NAME": "abc\n"}, ["name: 'abc\\n' must be 3-24 characters"]),
    ("env", {V + "OPENCODE_VERSION": "1.18.33\n"}, ["opencode_version: '1.18.33\\n' is not a release version"]),
    ("env", {V + "SYSTEM_DISK_SIZE": "ten"}, ["system_disk_size: Input should be a valid integer", f"{V}SYSTEM_DISK_SIZE"]),
    ("env", {V + "SYSTEM_DISK_SIZE": "501"}, ["system_disk_size: Input should be less than or equal to 500"]),
    ("env", {V + "DATA_DISK_CATEGORY": "cloud"}, ["data_disk_category: got 'cloud'"]),
    ("env", {V + "TLS_MODE": "tunnel-only"}, ["tls_mode: tunnel-only needs SSH"]),
    ("env", {V + "MODEL__PROVIDER": "azure"}, ["model.provider: got 'azure'", f"environment variable {V}MODEL__PROVIDER"]),
    ("env", {V + "MODEL__MODEL": "x; rm -rf /"}, ["model.model: 'x; rm -rf /' is not a model id"]),
    ("env", {V + "MODEL_SERVER__ENABLED": "true", V + "MODEL_SERVER__MODEL": "Qwen/x\nprivileged: true"},
     ["model_server.model: ", "is not a model repo id"]),
    ("env", {V + "MODEL_SERVER__ENABLED": "maybe"}, ["model_server.enabled: Input should be a valid boolean"]),
    ("env", {V + "TAGS": "team=a"}, ["tags: 'team=a' is not JSON"]),
    ("env", {V + "BACKEND__KIND": "oss"}, ["backend.bucket: is required when backend.kind is oss"]),
    ("env", {V + "STATE__BUCKET": "x"}, ["state.bucket: 'x' is not an OSS bucket name"]),
    ("env", {V + "CONFIG": "/nonexistent/settings.toml"}, [f"{V}CONFIG: names '/nonexistent/settings.toml', which is not a file"]),
    ("dotenv", f"{V}REGION=mars-1\n", ["region: unknown region 'mars-1'", ".env line 1"]),
    ("dotenv", f"# comment\n{V}WEB_CIDRS=10.0.0.0/33\n", ["web_cidrs[0]: '10.0.0.0/33' is not a valid CIDR", ".env line 2"]),
    ("dotenv", f"{V}INSTANCE_TYP=ecs.g7.large\n", [".env line 1 names no setting; did you mean {V}INSTANCE_TYPE?".format(V=V)]),
    ("dotenv", f"{V}DOMAIN=not a domain\n", ["domain: 'not a domain' is not a domain name", ".env line 1"]),
    ("toml", 'name = "ok"\nweb_cidrs = ["1.2.3.0/24"\n', ["not valid TOML"]),
    ("toml", "name = \n", ["not valid TOML", "line 1"]),
    ("toml", 'region = "mars-1"\n', ["region: unknown region 'mars-1'", "settings.toml line 1"]),
    ("toml", 'name = "ok-name"\n\n[model]\nprovider = "azure"\n', ["model.provider: got 'azure'", "settings.toml line 4"]),
    ("toml", 'web_cidrs = ["10.0.0.0/8", "banana"]\n', ["web_cidrs[1]: 'banana' is not a valid CIDR", "settings.toml line 1"]),
    ("toml", 'instance_typo = "ecs.g7.large"\n', ["instance_typo: is not a known setting"]),
    ("toml", 'system_disk_size = 10\n', ["system_disk_size: Input should be greater than or equal to 20", "settings.toml line 1"]),
    ("toml", '[model_server]\nenabled = true\nmodel = "a/b; touch /tmp/x"\n', ["model_server.model: ", "settings.toml line 3"]),
    ("toml", b"name = \"\xff\"\n", ["not UTF-8 text"]),
]


@pytest.mark.parametrize("source, given, fragments", CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_bad_input_exits_2_with_one_line_per_problem(source: str, given: object, fragments: list[str], tmp_path: Path) -> None:
    env: dict[str, str] = {}
    if source == "env":
        env = dict(given)  # type: ignore[call-overload]
    elif source == "dotenv":
        (tmp_path / ".env").write_text(str(given))
    else:
        toml = tmp_path / "settings.toml"
        toml.write_bytes(given if isinstance(given, bytes) else str(given).encode())
        env = {V + "CONFIG": str(toml)}
    outdir = tmp_path / "cdktf.out"
    result = run_main(env, outdir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert lines, result.stderr
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, lines)
    assert not outdir.exists()


def test_there_are_at_least_30_cases_over_every_source() -> None:
    assert len(CASES) >= 30
    assert {source for source, _, _ in CASES} == {"env", "dotenv", "toml"}


def test_list_settings_take_the_comma_form(tmp_path: Path) -> None:
    result = run_main({V + "WEB_CIDRS": "198.51.100.0/24, 203.0.113.0/24", V + "STATE_DIR": str(tmp_path / "s")},
                      tmp_path / "cdktf.out", check=True)
    document = (tmp_path / "cdktf.out" / "stacks" / "opencode" / "cdk.tf.json").read_text()
    assert '"cidr_ip": "198.51.100.0/24"' in document and '"cidr_ip": "203.0.113.0/24"' in document
    assert result.stderr == ""
