"""The model concern (config/opencode_settings/model.py): provider, model id, base URL, key parameter. Each bad value is rejected with a message that names the field and the fix."""
from __future__ import annotations

import pytest

from conftest import assert_rejected

# (overrides, the field the message must name, a fragment of the fix it must suggest)
BAD = [
    ({"model": {"provider": "openai-compatible"}}, "model", "model.base_url is required"),
    ({"model": {"provider": "azure"}}, "model.provider", "openai-compatible"),
    ({"model": {"base_url": "ftp://x"}}, "model.base_url", "http(s) URL"),
    ({"model": {"model": ""}}, "model.model", "at least 1 character"),
    ({"model": {"api_key_parameter": "ALIYUN-key"}}, "model.api_key_parameter", "not an OOS parameter name"),
    ({"model": {"api_kee": "x"}}, "model.api_kee", "not a known setting"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), BAD, ids=[case[1] + ":" + case[2] for case in BAD])
def test_bad_model_settings_name_the_field_and_the_fix(overrides: dict, field: str, fix: str) -> None:
    assert_rejected(overrides, field, fix)
