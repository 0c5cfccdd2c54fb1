"""Secrets: KMS-encrypted OOS secret parameters, filled from sensitive Terraform variables
at deploy time, or existing parameters named in settings. No secret value is ever a setting,
so none reaches cdk.tf.json; the values live only in Terraform state."""
from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import TerraformVariable
from constructs import Construct

from imports.alicloud.oos_secret_parameter import OosSecretParameter
from opencode_settings import Settings

from .instance.layout import GITHUB_TOKEN_ENV, MODEL_SERVER_KEY_ENV, PASSWORD_ENV, PROVIDER_KEY_ENV


@dataclass(frozen=True)
class SecretSpec:
    """One secret the workspace needs. `env` is the variable name inside the containers."""

    key: str
    env: str
    description: str
    existing_parameter: str | None = None
    value: str | None = None  # a token from another construct (e.g. the web password)


# Every secret a workspace can have (secret_specs picks them by the settings); its parameter is named exactly.
SECRET_KEYS = ("web_password", "model_server_api_key", "model_api_key", "github_token")


def secret_parameter_name(workspace: str, key: str) -> str:
    """The OOS parameter of workspace `workspace`'s secret `key`, e.g. alice-model-api-key."""
    return f"{workspace}-{key.replace('_', '-')}"


def secret_specs(settings: Settings, password_value: str, model_server_key: str | None) -> list[SecretSpec]:
    """The secrets this workspace's settings call for."""
    specs = []
    if settings.tls_mode == "tunnel-only":  # OpenCode itself checks the web password; else the proxy does
        specs.append(SecretSpec("web_password", PASSWORD_ENV, "OpenCode web password.", value=password_value))
    if model_server_key is not None:  # the private model server replaces the public model API
        specs.append(
            SecretSpec("model_server_api_key", MODEL_SERVER_KEY_ENV, "API key of the private vLLM server.", value=model_server_key)
        )
    else:
        specs.append(
            SecretSpec(
                "model_api_key",
                PROVIDER_KEY_ENV[settings.model.provider],
                f"API key for the {settings.model.provider} model provider.",
                existing_parameter=settings.model.api_key_parameter,
            )
        )
    if settings.use_github_token:
        specs.append(
            SecretSpec(
                "github_token",
                GITHUB_TOKEN_ENV,
                "GitHub token for the agent (gh and git).",
                existing_parameter=settings.github_token_parameter,
            )
        )
    return specs


def read_parameter_names(settings: Settings) -> list[str]:
    """The OOS parameters the workspace host reads at boot, by name (its own, or existing ones the settings name):
    what its role may read, known before anything is deployed."""
    specs = secret_specs(settings, "", "" if settings.model_server.enabled else None)
    return [spec.existing_parameter or secret_parameter_name(settings.name, spec.key) for spec in specs]


@dataclass(frozen=True)
class SecretsProps:
    name: str
    tags: dict[str, str]
    specs: list[SecretSpec] = field(default_factory=list)


class Secrets(Construct):
    """Exposes `variables` (key -> TerraformVariable), `parameters` (key -> OosSecretParameter)
    and `parameter_names` (env var name -> OOS parameter name; names are not secret)."""

    def __init__(self, scope: Construct, id: str, props: SecretsProps) -> None:
        super().__init__(scope, id)
        self.variables: dict[str, TerraformVariable] = {}
        self.parameters: dict[str, OosSecretParameter] = {}
        self.parameter_names: dict[str, str] = {}
        for spec in props.specs:
            if spec.existing_parameter:
                self.parameter_names[spec.env] = spec.existing_parameter
                continue
            value = spec.value
            if value is None:
                variable = TerraformVariable(
                    scope,  # stack level, so the variable is named exactly `spec.key`
                    spec.key,
                    type="string",
                    sensitive=True,
                    nullable=False,
                    description=f"{spec.description} Give it at deploy time: TF_VAR_{spec.key} or --var.",
                )
                variable.override_logical_id(spec.key)
                self.variables[spec.key] = variable
                value = variable.string_value
            parameter = OosSecretParameter(
                self,
                spec.key,
                secret_parameter_name=secret_parameter_name(props.name, spec.key),
                value=value,
                type="Secret",
                description=spec.description,
                tags=props.tags,
            )
            self.parameters[spec.key] = parameter
            self.parameter_names[spec.env] = parameter.secret_parameter_name
