"""The bootstrap (user-data and the files it writes), judged by the real tools:
cloud-init, the upstream cloud-config JSON schema, shellcheck, hadolint, caddy,
the compose-spec schema, docker-compose, and OpenCode itself."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from unittest.mock import ANY

import pytest
import yaml

from fake_alibaba import Cloud, MetadataHandler, RpcHandler, serve
from conftest import BOOTSTRAP_VARIANTS, ROOT, VARIANTS, rendered_bootstrap, run_main, synth
from support import baked_dockerfile, cloud_config, on_instance_module, synthesized_user_data, written_files
from opencode_alicloud.instance.layout import API_MODULE, CADDY_DROP_IN
from opencode_alicloud.instance.terraform_text import escape_for_terraform

CLOUD_CONFIG_SCHEMA = Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json")
OPENCODE = ROOT / ".cache" / "tools" / "node_modules" / ".bin" / "opencode"
VENV_BIN = Path(sys.executable).parent
KB = 1024


def _tool(name: str) -> str:
    found = shutil.which(name) or (str(VENV_BIN / name) if (VENV_BIN / name).exists() else None)
    assert found, f"{name} is missing: run scripts/install-test-tools"
    return found


def strict_cloud_config_schema(tmp_path: Path) -> Path:
    """The upstream cloud-config schema (shipped with Debian's cloud-init), made strict at the top
    level: it lists every module's keys but allows unknown ones, so a typo would pass."""
    upstream = json.loads(CLOUD_CONFIG_SCHEMA.read_text())
    known: set[str] = set()
    for ref in upstream["allOf"]:
        known |= set(upstream["$defs"][ref["$ref"].rsplit("/", 1)[1]].get("properties", {}))
    strict = {**upstream, "allOf": [*upstream["allOf"], {"properties": {k: {} for k in sorted(known)}, "additionalProperties": False}]}
    path = tmp_path / "strict-cloud-config.json"
    path.write_text(json.dumps(strict))
    return path


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.parametrize("variant", sorted(BOOTSTRAP_VARIANTS))
def test_cloud_init_accepts_the_user_data(variant: str, tmp_path: Path) -> None:
    _, _, user_data = rendered_bootstrap(variant)
    path = tmp_path / "user-data.yaml"
    path.write_text(user_data)
    result = run([_tool("cloud-init"), "schema", "-c", str(path)])
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr
    # Unknown keys too: the upstream cloud-config schema, strictly.
    data = tmp_path / "user-data.json"
    data.write_text(json.dumps(cloud_config(user_data)))
    strict = run([_tool("check-jsonschema"), "--schemafile", str(strict_cloud_config_schema(tmp_path)), str(data)])
    assert strict.returncode == 0, strict.stdout + strict.stderr


# cloud-init's own reading of a user-data, as ECS hands it over: its processor (which decompresses gzip).
CLOUD_INIT_READS = r"""
import json, sys, tempfile
import yaml
from cloudinit import helpers, user_data
paths = helpers.Paths({"cloud_dir": tempfile.mkdtemp(), "run_dir": tempfile.mkdtemp()})
message = user_data.UserDataProcessor(paths).process(sys.stdin.buffer.read())
parts = [p for p in message.walk() if not p.is_multipart()]
print(json.dumps([[p.get_content_type(), yaml.safe_load(p.get_payload(decode=True))] for p in parts]))
"""


@pytest.mark.parametrize("variant", ["synthesized", "default", "all-options", "egress-allowlist"])
def test_cloud_init_reads_the_gzipped_user_data(variant: str, tmp_path: Path) -> None:
    """What the instance receives is the gzip Terraform makes (base64gzip; the provider passes base64
    through, ECS decodes it): cloud-init's own processor finds the one cloud-config in it."""
    if subprocess.run(["/usr/bin/python3", "-c", "import cloudinit"], capture_output=True).returncode:
        pytest.skip("cloud-init's Python package is not installed (scripts/install-test-tools installs it)")
    if variant == "synthesized":
        document = synth(tmp_path)
        (instance,) = document["resource"]["alicloud_instance"].values()
        user_data = synthesized_user_data(document, instance)
    else:
        user_data = rendered_bootstrap(variant)[2]
    received = gzip.compress(user_data.encode(), mtime=0)
    result = subprocess.run(["/usr/bin/python3", "-c", CLOUD_INIT_READS], input=received, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout) == [["text/cloud-config", cloud_config(user_data)]]


def test_the_schema_check_catches_an_unknown_key(tmp_path: Path) -> None:
    _, _, user_data = rendered_bootstrap("default")
    data = tmp_path / "typo.json"
    data.write_text(json.dumps({**cloud_config(user_data), "write_file": []}))
    result = run([_tool("check-jsonschema"), "--schemafile", str(strict_cloud_config_schema(tmp_path)), str(data)])
    assert result.returncode != 0 and "write_file" in result.stdout


@pytest.mark.parametrize("variant", sorted(BOOTSTRAP_VARIANTS))
def test_user_data_writes_the_rendered_files(variant: str) -> None:
    boot, files, user_data = rendered_bootstrap(variant)
    written = written_files(user_data)
    assert set(written) == set(files)
    for path, content in files.items():
        assert written[path]["content"].rstrip("\n") == content.rstrip("\n")
    assert written["/usr/local/sbin/opencode-bootstrap"]["permissions"] == "0700"
    assert written["/etc/opencode/bootstrap.env"]["permissions"] == "0600"
    # The recipe first (packages only when the workspace image comes from the registry), then the bootstrap;
    # no package list of cloud-init's own: the recipe installs them.
    bake = "/usr/local/sbin/opencode-bake" + (" --packages-only" if boot.workspace_image else "")
    assert cloud_config(user_data)["runcmd"] == [f"{bake} && /usr/local/sbin/opencode-bootstrap"]
    assert written["/usr/local/sbin/opencode-bake"]["permissions"] == "0700"
    assert "packages" not in cloud_config(user_data) and "package_update" not in cloud_config(user_data)


def test_user_data_size_limits(tmp_path: Path) -> None:
    """ECS limits the user-data to 16 KB; the instance gets it gzip-compressed (host.gzipped_user_data)."""
    from opencode_alicloud.instance.user_data import USER_DATA_LIMIT

    sizes = {}
    for variant, source, limit in (("default", "public", 9 * KB), ("all-options", "public", 11.5 * KB),
                                   ("default", "baked", 7.5 * KB), ("all-options", "baked", 10 * KB)):
        document = synth(tmp_path / variant / source, **VARIANTS[variant], image_source=source)
        (instance,) = document["resource"]["alicloud_instance"].values()
        # As synthesized (Terraform's expressions are longer than the values they resolve to), gzip-compressed.
        sizes[variant, source] = len(gzip.compress(synthesized_user_data(document, instance).encode(), mtime=0))
        assert sizes[variant, source] <= limit, (variant, source, sizes[variant, source])
    # A baked image carries the recipe: its user-data does not.
    assert all(sizes[variant, "baked"] < sizes[variant, "public"] - KB for variant in ("default", "all-options"))
    everything = max(len(gzip.compress(rendered_bootstrap(v)[2].encode(), mtime=0)) for v in BOOTSTRAP_VARIANTS)
    assert everything <= USER_DATA_LIMIT - 4 * KB  # room to grow


def test_user_data_over_the_ecs_limit_is_a_settings_error(tmp_path: Path) -> None:
    """A user-data over ECS's 16 KB (here: a thousand names on the allowlist) fails main.py, naming the settings."""
    names = ",".join(f"{hashlib.sha256(str(n).encode()).hexdigest()[:16]}.example.org" for n in range(1000))
    result = run_main({"OPENCODE_ALICLOUD_IDLE_STOP_MINUTES": "30", "OPENCODE_ALICLOUD_EGRESS__MODE": "allowlist",
                       "OPENCODE_ALICLOUD_EGRESS__ALLOW": names}, tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "  - idle_stop_minutes, egress.allow: together make the workspace's user-data about" in result.stderr
    assert "over ECS's 16384: shorten egress.allow" in result.stderr


def test_shellcheck_passes_on_the_bootstrap_script(tmp_path: Path) -> None:
    for variant in ("default", "tunnel-only"):
        script = tmp_path / f"bootstrap-{variant}.sh"
        script.write_text(rendered_bootstrap(variant)[1]["/usr/local/sbin/opencode-bootstrap"])
        result = run([_tool("shellcheck"), "--shell=bash", "--severity=style", "-e", "SC1091", str(script)])
        assert result.returncode == 0, result.stdout


def test_the_secrets_script_compiles(tmp_path: Path) -> None:
    script = tmp_path / "opencode-secrets.py"
    script.write_text(rendered_bootstrap("default")[1]["/usr/local/sbin/opencode-secrets"])
    assert run([sys.executable, "-m", "py_compile", str(script)]).returncode == 0


def _secrets_module(tmp_path: Path) -> types.ModuleType:
    """The shared API module every on-instance call goes through (the secret reader's signer and role)."""
    return on_instance_module(tmp_path, API_MODULE)


@pytest.mark.parametrize("attach_after, attached", [(0, True), (3, True), (99, False)])
def test_the_secret_reader_waits_for_the_role_through_the_metadata_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], attach_after: int, attached: bool
) -> None:
    cloud = Cloud(instance_id="i-test", region="ap-southeast-1", role="opencode-instance", parameters={},
                  attach_after=attach_after)
    server = serve(MetadataHandler, cloud)
    waits: list[float] = []
    module = _secrets_module(tmp_path)
    md = f"http://127.0.0.1:{server.port}/latest"
    try:
        if attached:
            found = module.credentials("opencode-instance", md, waits.append)
            assert found["AccessKeyId"] == cloud.credentials.access_key_id
        else:
            with pytest.raises(module.ApiError) as stop:
                module.credentials("opencode-instance", md, waits.append)
            assert "RAM role opencode-instance is not attached" in str(stop.value)
    finally:
        server.close()
    tries = min(attach_after, module.TRIES) + (1 if attached else 0)
    assert waits == [min(2**n, 30) for n in range(1, tries if attached else module.TRIES)]
    assert sum(waits) <= 300  # "a few minutes" at most
    # Token-only: every read carried a live token, and every token request its TTL.
    assert not [line for line in cloud.log if "refused" in line]
    assert cloud.log.count("PUT token") == (tries if attached else module.TRIES)
    log = capsys.readouterr().out
    assert log.count("no credentials for RAM role opencode-instance yet") == (tries - 1 if attached else module.TRIES)


def test_the_fake_oos_answers_the_secret_readers_request_and_refuses_a_bad_one(tmp_path: Path) -> None:
    """The boot rehearsal's OOS checks what the API checks: signature, security token, replay."""
    import json as json_
    import urllib.error
    import urllib.request

    cloud = Cloud(instance_id="i-test", region="ap-southeast-1", role="opencode-instance",
                  parameters={"opencode-model-api-key": "sk-test"})
    server = serve(RpcHandler, cloud)
    module = _secrets_module(tmp_path)
    credentials = cloud.credentials.document()

    def ask(params: dict[str, str], secret: str = credentials["AccessKeySecret"]) -> tuple[int, dict]:
        url = f"http://127.0.0.1:{server.port}/?" + module.signed_query(params, secret)
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json_.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json_.loads(error.read())

    def params(name: str = "opencode-model-api-key") -> dict[str, str]:
        return module.rpc_params("GetSecretParameter", "2019-06-01", "ap-southeast-1", credentials,
                                 Name=name, WithDecryption="true")
    try:
        sent = params()
        assert ask(sent) == (200, {"RequestId": ANY, "Parameter": {"Name": "opencode-model-api-key", "Type": "Secret",
                                                                    "Value": "sk-test"}})
        assert ask(sent)[1]["Code"] == "SignatureNonceUsed"
        assert ask(params(), secret="wrong")[1]["Code"] == "SignatureDoesNotMatch"
        assert ask({**params(), "SecurityToken": "other"})[1]["Code"] == "InvalidSecurityToken.MismatchWithAccessKey"
        assert ask(params("missing"))[1]["Code"] == "EntityNotExists.Parameter"
        assert ask({**params(), "Timestamp": "2020-01-01T00:00:00Z"})[1]["Code"] == "InvalidTimeStamp.Expired"
    finally:
        server.close()


@pytest.mark.parametrize("extra", [{}, {"Tags": "a b*c~d/e+f=g&h", "Note": "ünïcode ✓"}])
def test_the_secret_readers_signature_is_the_official_sdks(tmp_path: Path, extra: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The on-instance signer against aliyun-python-sdk-core's RPC signer: the same parameters,
    nonce and time give the same string to sign and the same signature."""
    from urllib.parse import parse_qsl

    from aliyunsdkcore.auth.composer import rpc_signature_composer as composer
    from aliyunsdkcore.utils import parameter_helper

    module = _secrets_module(tmp_path)
    credentials = {"AccessKeyId": "STS.NTest", "AccessKeySecret": "testSecret/+=", "SecurityToken": "CAIS+token/=="}
    ours = module.rpc_params("GetSecretParameter", "2019-06-01", "ap-southeast-1", credentials,
                             Name="opencode-model-api-key", WithDecryption="true", **extra)
    query = module.signed_query(ours, credentials["AccessKeySecret"])
    sent = dict(parse_qsl(query, keep_blank_values=True))
    monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: ours["Timestamp"])
    monkeypatch.setattr(parameter_helper, "get_uuid", lambda: ours["SignatureNonce"])
    sdk_params = {k: v for k, v in ours.items() if k not in {"Timestamp", "SignatureNonce", "SignatureMethod",
                                                               "SignatureVersion", "AccessKeyId", "Format"}}
    url, _ = composer.get_signed_url(sdk_params, credentials["AccessKeyId"], credentials["AccessKeySecret"],
                                     "JSON", "GET", {})
    official = dict(parse_qsl(url.removeprefix("/?"), keep_blank_values=True))
    # The SDK also signs an empty SignatureType; sign the same set and the signatures must agree.
    assert set(official) - set(sent) == {"SignatureType"} and official["SignatureType"] == ""
    with_type = module.signed_query({**ours, "SignatureType": ""}, credentials["AccessKeySecret"])
    assert dict(parse_qsl(with_type))["Signature"] == official["Signature"]
    assert {k: v for k, v in sent.items() if k != "Signature"} == {k: v for k, v in official.items()
                                                                   if k not in {"Signature", "SignatureType"}}


def test_hadolint_passes_on_the_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(baked_dockerfile(rendered_bootstrap("default")[1]["/usr/local/sbin/opencode-bake"]))
    result = run([_tool("hadolint"), "--failure-threshold", "style", str(dockerfile)])
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("variant", ["default", "all-options", "ssh-new-key"])
def test_caddy_validates_every_caddyfile(variant: str, tmp_path: Path) -> None:
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(rendered_bootstrap(variant)[1]["/etc/opencode/Caddyfile"])
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = run([_tool("caddy"), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"], env=env)
    assert result.returncode == 0 and "Valid configuration" in result.stdout + result.stderr, result.stderr[-2000:]


def test_tunnel_only_has_no_proxy() -> None:
    _, files, user_data = rendered_bootstrap("tunnel-only")
    assert "/etc/opencode/Caddyfile" not in files
    assert CADDY_DROP_IN not in files  # Caddy is in the image, off (the recipe) and never enabled here
    assert "systemctl disable --now caddy squid" in files["/usr/local/sbin/opencode-bake"]
    assert "enable caddy" not in files["/usr/local/sbin/opencode-bootstrap"].split('if [ "$TLS_MODE" != tunnel-only ]; then\n  log "https proxy')[0]


def test_caddyfile_proxies_with_basic_auth_and_unbuffered_stream() -> None:
    caddyfile = rendered_bootstrap("default")[1]["/etc/opencode/Caddyfile"]
    assert caddyfile.startswith("47-236-123-234.sslip.io {")
    assert "basicauth {\n\t\topencode $2a$10$" in caddyfile
    # OpenCode gets the upstream password (from Caddy's environment), never the user's.
    assert ('reverse_proxy 127.0.0.1:4096 {\n\t\theader_up Authorization "Basic {env.OPENCODE_UPSTREAM_AUTH}"\n'
            "\t\tflush_interval -1\n\t}") in caddyfile
    assert "tls internal" not in caddyfile
    assert "\ttls internal\n" in rendered_bootstrap("all-options")[1]["/etc/opencode/Caddyfile"]


@pytest.mark.parametrize("variant", ["default", "all-options"])
def test_compose_file_passes_compose_spec_and_docker_compose(variant: str, tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(rendered_bootstrap(variant)[1]["/etc/opencode/compose.yaml"])
    spec = run([_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose)])
    assert spec.returncode == 0, spec.stdout + spec.stderr
    (tmp_path / "secrets.env").write_text("ANTHROPIC_API_KEY=x\n")
    (tmp_path / "upstream.env").write_text("OPENCODE_SERVER_PASSWORD=x\nOPENCODE_UPSTREAM_AUTH=b3BlbmNvZGU6eA==\n")
    local = tmp_path / "compose-local.yaml"
    local.write_text(
        compose.read_text()
        .replace("/etc/opencode/secrets.env", str(tmp_path / "secrets.env"))
        .replace("/etc/opencode/upstream.env", str(tmp_path / "upstream.env"))
    )
    # docker-compose 1.29 predates the top-level `name`; everything else it checks as usual.
    text = "\n".join(line for line in local.read_text().splitlines() if not line.startswith("name:"))
    local.write_text(text)
    checked = run([_tool("docker-compose"), "-f", str(local), "config", "-q"], cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_container_is_hardened() -> None:
    compose = yaml.safe_load(rendered_bootstrap("default")[1]["/etc/opencode/compose.yaml"])
    service = compose["services"]["opencode"]
    assert service["ports"] == ["127.0.0.1:4096:4096"]
    assert service["security_opt"] == ["no-new-privileges:true"]
    assert service["cap_drop"] == ["ALL"]
    assert service["mem_limit"] == "3072m" and service["pids_limit"] == 1024
    assert service["restart"] == "unless-stopped"
    assert '"Authorization: Basic $$OPENCODE_UPSTREAM_AUTH"' in service["healthcheck"]["test"][1]
    assert not any("docker.sock" in volume for volume in service["volumes"])
    assert "/data/workspace:/workspace" in service["volumes"]
    assert "/data/opencode/share:/home/opencode/.local/share/opencode" in service["volumes"]
    dockerfile = baked_dockerfile(rendered_bootstrap("default")[1]["/usr/local/sbin/opencode-bake"])
    assert [line for line in dockerfile.splitlines() if line.startswith("FROM ")] == ["FROM debian:trixie-slim"]
    assert 'npm install --global --no-audit --no-fund "opencode-ai@${OPENCODE_VERSION}"' in dockerfile
    assert "ARG OPENCODE_VERSION=1.18.33" in dockerfile and "\nUSER 1000:1000\n" in dockerfile


def test_github_token_sets_up_git() -> None:
    compose = yaml.safe_load(rendered_bootstrap("all-options")[1]["/etc/opencode/compose.yaml"])
    assert "gh auth setup-git && exec opencode serve" in compose["services"]["opencode"]["entrypoint"][2]


def _key_paths(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        paths = set()
        for key, child in value.items():
            paths |= {f"{prefix}{key}"} | _key_paths(child, f"{prefix}{key}.")
        return paths
    return set()


@pytest.mark.parametrize("variant", sorted(BOOTSTRAP_VARIANTS))
def test_opencode_accepts_every_rendered_config_and_drops_no_key(variant: str, tmp_path: Path) -> None:
    boot, files, _ = rendered_bootstrap(variant)
    config = tmp_path / "opencode.json"
    config.write_text(files["/etc/opencode/opencode.json"])
    rendered = json.loads(config.read_text())
    assert rendered["autoupdate"] is False and rendered["share"] == "disabled"
    assert "{env:" in json.dumps(rendered["provider"]) and "sk-" not in config.read_text()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "OPENCODE_CONFIG": str(config),
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
    }
    result = run([str(OPENCODE), "debug", "config"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    effective = json.loads(result.stdout)
    dropped = _key_paths(rendered) - _key_paths(effective)
    assert not dropped, f"OpenCode dropped these keys silently: {sorted(dropped)}"
    assert effective["model"] == rendered["model"]


def test_opencode_drops_a_typo_key_and_the_diff_sees_it(tmp_path: Path) -> None:
    config = tmp_path / "opencode.json"
    rendered = json.loads(rendered_bootstrap("default")[1]["/etc/opencode/opencode.json"])
    rendered["sharee"] = "disabled"
    config.write_text(json.dumps(rendered))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "OPENCODE_CONFIG": str(config)}
    result = run([str(OPENCODE), "debug", "config"], env=env, cwd=tmp_path)
    assert "sharee" in _key_paths(rendered) - _key_paths(json.loads(result.stdout))


def test_escape_keeps_tokens_and_escapes_shell() -> None:
    text = 'a=${X#d-} b=%{ if } c=${TfToken[TOKEN.1]} d=$${already}'
    assert escape_for_terraform(text) == 'a=$${X#d-} b=%%{ if } c=${TfToken[TOKEN.1]} d=$${already}'


def test_every_curl_in_the_bootstrap_has_a_time_limit() -> None:
    """A port that accepts while the server starts can hold a request forever: the boot rehearsal's
    first boot hung on a health probe without one."""
    script = rendered_bootstrap("model-server")[1]["/usr/local/sbin/opencode-bootstrap"]
    calls = [line for line in script.splitlines() if "curl " in line and not line.lstrip().startswith("#")]
    assert len(calls) == 3
    assert all(" -m 10 " in line for line in calls), calls
