"""Settings of an OpenCode workspace on Alibaba Cloud: `load_settings()` reads every source and
raises `SettingsError` naming each bad setting. One module per concern: workspace, network,
model, model_server, schedule, audit, egress, state, cost; sources and loading read them, errors reports them."""
from .audit import AUDIT_MIN_DAYS, AUDIT_PURPOSE, AuditSettings
from .cost import CostSettings
from .egress import EgressSettings
from .errors import SettingsError
from .fields import MANAGED_BY
from .loading import load_settings, team_settings
from .model import ModelSettings
from .model_server import ModelServerSettings
from .schedule import ScheduleSettings
from .settings import Settings
from .sources import CONFIG_FILE_ENV, ENV_PREFIX
from .state import BackendSettings, StateStackSettings

__all__ = [
    "AUDIT_MIN_DAYS",
    "AUDIT_PURPOSE",
    "AuditSettings",
    "CONFIG_FILE_ENV",
    "CostSettings",
    "EgressSettings",
    "ENV_PREFIX",
    "MANAGED_BY",
    "BackendSettings",
    "ModelServerSettings",
    "ModelSettings",
    "ScheduleSettings",
    "Settings",
    "SettingsError",
    "StateStackSettings",
    "load_settings",
    "team_settings",
]
