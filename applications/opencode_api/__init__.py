"""The official Alibaba Cloud SDK clients the operator's tools use (scripts/cost, the CLI): the
standard credential chain, one client config, and API errors as one line."""
from __future__ import annotations

import logging
import os
import re
from typing import Any


class ApiUnavailable(Exception):
    """No answer from the API: no credentials, or the API said no. The message is one line."""


def _quiet_sdk_logs() -> None:
    # alibabacloud-credentials logs each failed provider of its chain with a traceback.
    for name in ("credentials", "alibabacloud_credentials"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL)
        logger.propagate = False


def default_credential() -> Any:
    """The standard credential chain (environment, ~/.alibabacloud, ~/.aliyun, ECS role), plus the
    provider's older ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY; ApiUnavailable when none is there."""
    _quiet_sdk_logs()
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.models import Config as CredentialConfig

    old_id, old_secret = os.environ.get("ALICLOUD_ACCESS_KEY"), os.environ.get("ALICLOUD_SECRET_KEY")
    if old_id and old_secret and not os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID"):
        return CredentialClient(CredentialConfig(type="access_key", access_key_id=old_id, access_key_secret=old_secret))
    client = CredentialClient()
    try:
        client.get_credential()
    except Exception:  # noqa: BLE001 - the chain raises its own types; the answer is "none found"
        raise ApiUnavailable(
            "no Alibaba Cloud credentials in the standard places (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, "
            "~/.alibabacloud/credentials.ini, ~/.aliyun/config.json, an ECS role)"
        ) from None
    return client


def api_error(error: Exception) -> str:
    """An SDK or network error as one line: the API's Code and the first line of its Message."""
    code = getattr(error, "code", None)
    message = str(getattr(error, "message", None) or error).strip()
    first = message.splitlines()[0] if message else type(error).__name__
    # tea-openapi's ClientException says "code: 400, <the API's Message> request id: <id>": the API's words only
    first = re.sub(r" request id: \S+$", "", re.sub(r"^code: \d+, ", "", first))
    return f"{code}: {first}" if code else first


def client_config(region: str, credential: Any, endpoint: str | None = None, default_host: str | None = None) -> Any:
    """A tea-openapi Config; `endpoint` (host:port or URL) replaces the SDK's own, for a local fake
    or a private endpoint."""
    from alibabacloud_tea_openapi.models import Config

    protocol, host = "https", endpoint
    if endpoint and "://" in endpoint:
        protocol, host = endpoint.split("://", 1)
    return Config(credential=credential, region_id=region, endpoint=host or default_host, protocol=protocol,
                  connect_timeout=5000, read_timeout=10000)
