"""The secrets construct: sensitive variables into OOS secret parameters, or existing ones."""
from __future__ import annotations

from pathlib import Path


from conftest import rendered_bootstrap, resources, synth, synthesized_user_data


def test_secrets_are_sensitive_variables_and_oos_parameters(tmp_path: Path) -> None:
    doc = synth(tmp_path, use_github_token=True)
    assert doc["variable"] == {
        "model_api_key": {
            "description": "API key for the anthropic model provider. Give it at deploy time: TF_VAR_model_api_key or --var.",
            "nullable": False,
            "sensitive": True,
            "type": "string",
        },
        "github_token": {
            "description": "GitHub token for the agent (gh and git). Give it at deploy time: TF_VAR_github_token or --var.",
            "nullable": False,
            "sensitive": True,
            "type": "string",
        },
    }
    parameters = {p["secret_parameter_name"]: p["value"] for p in resources(doc, "alicloud_oos_secret_parameter")}
    # The web password is not among them: the proxy checks its bcrypt hash, and the instance never
    # needs the password itself (tunnel-only mode is the exception, below).
    assert parameters == {
        "opencode-model-api-key": "${var.model_api_key}",
        "opencode-github-token": "${var.github_token}",
    }
    assert doc["output"]["password"]["sensitive"] is True


def test_only_tunnel_only_mode_gives_the_instance_the_web_password(tmp_path: Path) -> None:
    doc = synth(tmp_path, tls_mode="tunnel-only", ssh_cidrs=["203.0.113.7/32"], key_pair_name="laptop")
    parameters = {p["secret_parameter_name"]: p["value"] for p in resources(doc, "alicloud_oos_secret_parameter")}
    assert parameters["opencode-web-password"] == "${random_password.login_password_93B23B06.result}"
    (instance,) = resources(doc, "alicloud_instance")
    assert "OPENCODE_SERVER_PASSWORD=${alicloud_oos_secret_parameter." in synthesized_user_data(doc, instance)


def test_existing_secret_parameters_need_no_variables(tmp_path: Path) -> None:
    doc = synth(
        tmp_path,
        model={"api_key_parameter": "team-anthropic-key"},
        use_github_token=True,
        github_token_parameter="team-gh-token",
    )
    assert "variable" not in doc
    names = [p["secret_parameter_name"] for p in resources(doc, "alicloud_oos_secret_parameter")]
    assert names == []
    (instance,) = resources(doc, "alicloud_instance")
    assert "ANTHROPIC_API_KEY=team-anthropic-key" in synthesized_user_data(doc, instance)
    assert "GH_TOKEN=team-gh-token" in synthesized_user_data(doc, instance)


def test_caddy_never_prints_its_environment_the_upstream_password_with_it() -> None:
    """Debian's caddy.service runs `caddy run --environ`, which writes every variable, the upstream password
    from our EnvironmentFile with them, to the journal (the boot rehearsal's secret search found it there).
    Our drop-in resets ExecStart to the same command without --environ. Judged on the distribution's own unit
    (installed with the test tools) merged with the drop-in as systemd merges a list: an empty assignment
    clears it."""

    unit = Path("/usr/lib/systemd/system/caddy.service")
    drop_in = rendered_bootstrap("default")[1]["/etc/systemd/system/caddy.service.d/opencode-upstream.conf"]
    packaged = [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    assert any("--environ" in command for command in packaged), packaged  # what the drop-in is for
    effective = list(packaged)
    for line in drop_in.splitlines():
        if line.startswith("ExecStart="):
            value = line.split("=", 1)[1]
            effective = [] if not value else [*effective, value]
    assert effective == [command.replace(" --environ", "") for command in packaged]
    assert "EnvironmentFile=-/etc/opencode/upstream.env" in drop_in
