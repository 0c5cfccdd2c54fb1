"""The settings model: everything a user can choose about a workspace, one module per concern
(workspace, network, model, model_server, schedule, audit, egress, state, cost; loading reads and reports them).

Sources, highest priority first:
  1. environment variables prefixed OPENCODE_ALICLOUD_ (nested fields with `__`,
     e.g. OPENCODE_ALICLOUD_MODEL__PROVIDER=openai);
  2. a `.env` file in the working directory (same names);
  3. a TOML file named by OPENCODE_ALICLOUD_CONFIG (see config/settings.example.toml);
  4. the defaults below.

Secret values (model API key, GitHub token, web password) are never settings: settings
are written into cdk.tf.json. Secrets enter as sensitive Terraform variables at deploy
time, or by naming an existing OOS secret parameter (the *_parameter fields).
"""
from __future__ import annotations

import os
from contextvars import ContextVar
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from .audit import AuditSettings, audit_problems
from .cost import CostSettings
from .egress import EgressSettings, egress_problems
from .errors import SettingsError, SettingsProblems
from .fields import MANAGED_BY
from .model import ModelSettings
from .model_server import ModelServerSettings, model_server_problems
from .network import NetworkSettings
from .schedule import ScheduleSettings, schedule_problems
from .sources import CONFIG_FILE_ENV, ENV_PREFIX, CommaListDotEnvSource, CommaListEnvSource, read_toml
from .state import BackendSettings, StateStackSettings, backend_problems
from .workspace import WorkspaceSettings


# Set while a team workspace's settings are built from values that are already complete: then
# the environment and the files are not read again (they were, for the file's own settings).
VALUES_ONLY: ContextVar[bool] = ContextVar("values_only", default=False)


class Settings(NetworkSettings, WorkspaceSettings, BaseSettings):
    """Settings of one OpenCode workspace: the concerns' fields, and the blocks below."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        validate_default=True,
    )

    model: ModelSettings = Field(default_factory=ModelSettings, description="The model block (see below).")
    model_server: ModelServerSettings = Field(
        default_factory=ModelServerSettings, description="Optional private vLLM model server (see below)."
    )
    backend: BackendSettings = Field(default_factory=BackendSettings, description="Where the state lives (see below).")
    state: StateStackSettings = Field(default_factory=StateStackSettings, description="The team state stack (see below).")
    schedule: ScheduleSettings = Field(
        default_factory=ScheduleSettings, description="Optional working hours, started and stopped by OOS (see below)."
    )
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Audit trail and access log (see below).")
    egress: EgressSettings = Field(
        default_factory=EgressSettings, description="Where the agent may connect: open, allowlist or none (see below)."
    )
    cost: CostSettings = Field(default_factory=CostSettings, description="Assumptions of the cost estimate (see below).")
    workspaces: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Team workspaces: one stack each, named by the key, with its overrides of the settings above "
        "(TOML `[workspaces.alice]`); unset: one workspace, stack `opencode`.",
    )

    @model_validator(mode="after")
    def _combinations(self) -> "Settings":
        problems = [
            *self.network_problems(),
            *self.workspace_problems(),
            *self.power_problems(),
            *schedule_problems(self.schedule),
            *audit_problems(self.audit, self.tls_mode),
            *egress_problems(self),
            *backend_problems(self.backend, self.region),
            *model_server_problems(self.model_server, self.vpc_id, self.vpc_cidr, self.vswitch_cidr),
        ]
        if problems:
            raise SettingsProblems(problems)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if VALUES_ONLY.get():
            return (init_settings,)
        # The same sources as pydantic-settings', where list settings also take `a,b`.
        sources: list[PydanticBaseSettingsSource] = [
            init_settings, CommaListEnvSource(settings_cls), CommaListDotEnvSource(settings_cls)
        ]
        toml_path = os.environ.get(CONFIG_FILE_ENV)
        if toml_path:
            _, problems = read_toml(toml_path)
            if problems:
                raise SettingsError(problems)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    def power_problems(self) -> list[tuple[str, str]]:
        if self.idle_stop_minutes is not None and self.tls_mode == "tunnel-only":
            return [("idle_stop_minutes", "needs the HTTPS proxy's access log to see who is signed in; "
                     "tls_mode = tunnel-only has none (unset idle_stop_minutes, or choose another tls_mode)")]
        return []

    def resource_tags(self) -> dict[str, str]:
        return {**self.tags, "workspace": self.name, "managed-by": MANAGED_BY}
