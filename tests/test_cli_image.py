"""`opencode-alicloud image` (bake, list, prune) and `up`'s offer to bake, against the signature-checking fake
ECS API (tests/harness/fake_openapi.py: a SIMULATION of the documented requests and answers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig


from fake_alibaba import serve
from fake_openapi import Account, FakeInstance, OpenApiHandler
from opencode_alicloud.instance.recipe import Recipe
from opencode_cli import image
from opencode_cli.cloud import Ecs
from opencode_settings import load_settings
from support import Clock

RECIPE = Recipe.of("1.18.33", "debian-13")
MANAGED = [{"TagKey": "managed-by", "TagValue": "opencode-alicloud"}, {"TagKey": "workspace", "TagValue": "opencode"}]


def made(image_id: str, when: str, name: str = RECIPE.image_name + "_exec-1", status: str = "Available",
         tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"ImageId": image_id, "ImageName": name, "Status": status, "CreationTime": when, "Size": 40,
            "Tags": {"Tag": list(MANAGED if tags is None else tags)}}


@pytest.fixture
def account() -> Any:
    acct = Account(
        instances=[FakeInstance("i-t4n1", "opencode-workspace", "ap-southeast-1", {"workspace": "opencode"},
                                image_id="m-inuse00000000000001")],
        images=[made("m-inuse00000000000001", "2026-11-01T00:00:00Z"),
                made("m-older00000000000002", "2026-11-02T00:00:00Z"),
                made("m-newer00000000000003", "2026-11-03T00:00:00Z"),
                made("m-notours000000000004", "2026-11-04T00:00:00Z", tags=[]),
                made("m-other000000000000005", "2026-11-05T00:00:00Z", name="someone-elses-image")],
        executions=[{"ExecutionId": "exec-1", "ImagePipelineId": "ip-1", "Status": "SUCCESS", "ImageId": "m-newer00000000000003"},
                    {"ExecutionId": "exec-2", "ImagePipelineId": "ip-1", "Status": "FAILED",
                     "Message": "the build command exited with code 100"}])
    served = serve(OpenApiHandler, acct)  # type: ignore[arg-type]
    credential = CredentialClient(CredentialConfig(type="access_key", access_key_id=acct.access_key_id,
                                                   access_key_secret=acct.access_key_secret))
    yield acct, Ecs("ap-southeast-1", credential, f"http://127.0.0.1:{served.port}"), f"http://127.0.0.1:{served.port}"
    served.close()


def test_the_image_requests_are_the_ones_expected(account: Any) -> None:
    acct, ecs, _ = account
    names = [i["ImageName"] for i in ecs.images("opencode-")]
    assert names == [RECIPE.image_name + "_exec-1"] * 4 and ecs.images("opencode-")[0]["ImageId"] == "m-notours000000000004"
    assert ecs.images_in_use() == {"m-inuse00000000000001": ["opencode-workspace"]}
    assert ecs.execution("exec-2")["Status"] == "FAILED" and ecs.execution("exec-9") is None
    ecs.tag("image", ["m-newer00000000000003"], {"workspace": "opencode", "managed-by": "opencode-alicloud"})
    assert ecs.image("m-newer00000000000003")["Status"] == "Available" and ecs.image("m-nothing") is None
    ecs.delete_image("m-older00000000000002")
    sent = [{k: v for k, v in r.items() if k != "version"} for r in acct.requests]
    assert sent[0] == {"action": "DescribeImages", "RegionId": "ap-southeast-1", "ImageOwnerAlias": "self",
                       "ImageName": "opencode-", "Status": "Creating,Waiting,Available,UnAvailable,CreateFailed",
                       "PageSize": "100", "PageNumber": "1"}
    assert sent[2] == {"action": "DescribeInstances", "RegionId": "ap-southeast-1", "PageSize": "100", "PageNumber": "1"}
    assert sent[3] == {"action": "DescribeImagePipelineExecutions", "RegionId": "ap-southeast-1", "ExecutionId": "exec-2"}
    assert sent[6] == {"action": "DescribeImages", "RegionId": "ap-southeast-1", "ImageOwnerAlias": "self",
                       "ImageId": "m-newer00000000000003", "Status": "Creating,Waiting,Available,UnAvailable,CreateFailed"}
    assert sent[5] == {"action": "TagResources", "RegionId": "ap-southeast-1", "ResourceType": "image",
                       "ResourceId.1": "m-newer00000000000003", "Tag.1.Key": "managed-by", "Tag.1.Value": "opencode-alicloud",
                       "Tag.2.Key": "workspace", "Tag.2.Value": "opencode"}
    assert sent[8] == {"action": "DeleteImage", "RegionId": "ap-southeast-1", "ImageId": "m-older00000000000002"}
    assert "m-older00000000000002" not in [i["ImageId"] for i in acct.images] and not acct.log


def test_a_bake_is_followed_until_its_image_is_available() -> None:
    statuses = iter(["PREPARING", "BUILDING", "BUILDING", "SUCCESS", "SUCCESS"])
    images = iter([None, {"ImageId": "m-baked", "Status": "Available"}])
    seen: list[str] = []
    clock = Clock()
    found = image.wait_for_bake(lambda: {"Status": next(statuses), "ImageId": "m-baked"}, lambda item: next(images),
                                lambda p: seen.append(p.status), 3600, 30, clock, clock.sleep)
    assert found["ImageId"] == "m-baked" and seen == ["PREPARING", "BUILDING", "SUCCESS"] and clock.now == 120


@pytest.mark.parametrize("status", sorted(image.FAILED))
def test_a_failed_bake_names_its_execution_and_leaves_nothing_usable(status: str) -> None:
    clock = Clock()
    with pytest.raises(image.BakeFailed, match=rf"ended {status}: exit 100. Its log: .*execution exec-2") as caught:
        image.wait_for_bake(lambda: {"Status": status, "ExecutionId": "exec-2", "Message": "exit 100"},
                            lambda item: pytest.fail("no image is looked for after a failure"), lambda p: None, 3600, 30,
                            clock, clock.sleep)
    assert "\n" not in str(caught.value)


def test_a_bake_that_does_not_end_in_time_says_it_goes_on() -> None:
    clock = Clock()
    with pytest.raises(image.BakeFailed, match="still BUILDING after 60 minutes; it goes on"):
        image.wait_for_bake(lambda: {"Status": "BUILDING"}, lambda item: None, lambda p: None, 3600, 30, clock, clock.sleep)


def test_a_bake_that_is_not_listed_fails_in_minutes_not_at_the_timeout() -> None:
    clock = Clock()
    with pytest.raises(image.BakeFailed, match="not in this region's Image Builder executions"):
        image.wait_for_bake(lambda: None, lambda item: None, lambda p: None, 3600, 30, clock, clock.sleep)
    assert clock.now <= 6 * 60


@pytest.mark.parametrize("execution, image_found, again", [
    ({"Status": "FAILED"}, False, True), ({"Status": "CANCELLED"}, False, True),
    ({"Status": "SUCCESS"}, False, True),  # its image was pruned or deleted
    ({"Status": "SUCCESS"}, True, False), ({"Status": "BUILDING"}, False, False), (None, False, False),
])
def test_a_failed_or_vanished_bake_is_started_again(execution: Any, image_found: bool, again: bool) -> None:
    assert image.needs_new_bake(execution, image_found) is again


def test_prune_keeps_what_runs_what_is_not_ours_and_the_newest_of_each_recipe() -> None:
    other = [{"TagKey": "managed-by", "TagValue": "opencode-alicloud"}, {"TagKey": "workspace", "TagValue": "other-project"}]
    older = Recipe.of("1.18.32", "debian-13").image_name + "_exec-9"
    images = [made("m-6", "6", name=older), made("m-5", "5"), made("m-4", "4", tags=[]), made("m-3", "3"),
              made("m-2", "2"), made("m-1", "1"), made("m-7", "0", tags=other), made("x-0", "0", name="another-project_exec-1")]
    for keep, deleted in ((0, ["m-6", "m-5", "m-3", "m-2"]), (1, ["m-3", "m-2"]), (2, ["m-2"]), (9, [])):
        kept, gone = image.prune_plan(images, {"m-1": ["opencode-workspace"]}, keep, {"opencode"})
        assert [i["ImageId"] for i in gone] == deleted
        # in use, untagged, another project's workspace: always kept; not ours by name: not even listed
        assert {"m-1", "m-4", "m-7"} <= {i["ImageId"] for i in kept} and "x-0" not in {i["ImageId"] for i in kept + gone}
    assert [i["ImageId"] for i in image.prune_plan(images, {}, 1, {"other-project"})[1]] == []  # m-7 is its newest


def test_a_recipe_is_available_only_as_its_own_available_image() -> None:
    assert image.available([made("m-a", "1", status="Creating"), made("m-b", "0")], RECIPE)["ImageId"] == "m-b"
    assert image.available([made("m-c", "1", name=RECIPE.image_name[:-1] + "x_exec-1")], RECIPE) is None
    assert image.recipes([load_settings()]) == []
    assert image.recipes([load_settings(image_source="baked")]) == [RECIPE]
    assert image.recipes([load_settings(image_source="baked", image_id="m-0123456789abcdefghij")]) == []


def cli(api: str, acct: Account, tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_ALICLOUD_", "ALIBABA_CLOUD_", "ALICLOUD_"))}
    env.update({f"OPENCODE_ALICLOUD_{k.upper()}": v for k, v in settings.items()}, HOME=str(tmp_path),
               ALIBABA_CLOUD_ACCESS_KEY_ID=acct.access_key_id, ALIBABA_CLOUD_ACCESS_KEY_SECRET=acct.access_key_secret,
               ALIBABA_CLOUD_ECS_METADATA_DISABLED="true", CDKTF_OUTDIR=str(tmp_path / "out"),
               OPENCODE_ALICLOUD_STATE_DIR=str(tmp_path / "state"))
    return subprocess.run([sys.executable, "-m", "opencode_cli", "--api-endpoint", api, *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_image_list_and_prune_through_the_api(account: Any, tmp_path: Path) -> None:
    acct, _, api = account
    acct.images[1]["DiskDeviceMappings"] = {"DiskDeviceMapping": [{"Device": "/dev/xvda", "SnapshotId": "s-older", "Size": "40"}]}
    asked = cli(api, acct, tmp_path, "image", "prune", "--keep", "1")  # not a terminal, no --yes: nothing deleted
    assert asked.returncode == 2 and "add --yes" in asked.stderr and len(acct.images) == 5
    listed = cli(api, acct, tmp_path, "image", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["used_by"]) for r in rows][-1] == ("m-inuse00000000000001", ["opencode-workspace"])
    pruned = cli(api, acct, tmp_path, "image", "prune", "--keep", "1", "--yes")
    assert pruned.returncode == 0, pruned.stderr
    assert "deleting 1: m-older00000000000002" in " ".join(pruned.stdout.split())
    assert {i["ImageId"] for i in acct.images} == {"m-inuse00000000000001", "m-newer00000000000003",
                                                  "m-notours000000000004", "m-other000000000000005"}
    assert acct.deleted_snapshots == ["s-older"]  # DeleteImage keeps an image's snapshots: prune deletes them too


def test_up_without_a_baked_image_stops_with_one_line_before_any_deploy(account: Any, tmp_path: Path) -> None:
    acct, _, api = account
    acct.images.clear()
    result = cli(api, acct, tmp_path, "up", image_source="baked")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"no baked image {RECIPE.image_name} in ap-southeast-1: run opencode-alicloud image bake" in " ".join(result.stderr.split())
    assert not (tmp_path / "out").exists() and not (tmp_path / "state").exists()  # nothing deployed


def test_bake_with_public_images_is_a_usage_error(account: Any, tmp_path: Path) -> None:
    acct, _, api = account
    result = cli(api, acct, tmp_path, "image", "bake", "--yes")
    assert result.returncode == 2 and 'nothing to bake; set image_source = "baked"' in " ".join(result.stderr.split())
    assert not acct.requests  # not a call made


