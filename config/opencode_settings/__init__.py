"""Settings of an OpenCode workspace on Alibaba Cloud."""
from .settings import (
    CONFIG_FILE_ENV,
    ENV_PREFIX,
    BackendSettings,
    ModelServerSettings,
    ModelSettings,
    Settings,
    SettingsError,
    StateStackSettings,
    load_settings,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "ENV_PREFIX",
    "BackendSettings",
    "ModelServerSettings",
    "ModelSettings",
    "Settings",
    "SettingsError",
    "StateStackSettings",
    "load_settings",
]
