"""The model concern: which model OpenCode talks to (its key is a secret, never a setting)."""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .fields import ModelProvider, _parameter_name, matching


class ModelSettings(BaseModel):
    """Which model OpenCode talks to. The API key is a secret: see `api_key_parameter`."""

    model_config = ConfigDict(extra="forbid")

    provider: ModelProvider = Field(
        "anthropic",
        description="Model provider: anthropic, openai, google, or openai-compatible (any OpenAI-style URL).",
    )
    model: str = Field(
        "claude-sonnet-4-5",
        min_length=1,
        description="Default model id, as the provider names it.",
    )
    base_url: str | None = Field(
        None,
        description="API base URL; required for openai-compatible, optional otherwise.",
    )
    api_key_parameter: str | None = Field(
        None,
        description="Name of an existing OOS secret parameter holding the API key. "
        "Unset: the key comes from the sensitive Terraform variable `model_api_key` at deploy time.",
    )

    @field_validator("api_key_parameter")
    @classmethod
    def _api_key_parameter(cls, value: str | None) -> str | None:
        return _parameter_name(value)

    # It lands in opencode.json (a JSON serializer writes it) and in OpenCode's provider/model reference.
    _model_id = field_validator("model")(matching(
        r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}",
        "{value!r} is not a model id such as claude-sonnet-4-5 (letters, digits, . _ : @ / + -)"))

    @field_validator("base_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL such as https://api.example.com/v1")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _base_url_for_compatible(self) -> "ModelSettings":
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError(
                "model.base_url is required when model.provider is openai-compatible "
                "(set OPENCODE_ALICLOUD_MODEL__BASE_URL=https://.../v1)"
            )
        return self
