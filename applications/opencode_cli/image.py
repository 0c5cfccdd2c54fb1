"""`opencode-alicloud image`: the workspace's baked system image (image_source = baked). The bake is the
image stack's (opencode-image) Image Builder execution; these functions follow it until its image exists,
and choose what `image prune` may delete. The ECS calls are cloud.Ecs's; the commands are in app.py."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opencode_alicloud.instance.recipe import IMAGE_PREFIX, Recipe
from opencode_settings import Settings

# DescribeImagePipelineExecutions' statuses (alibabacloud.com/help/en/ecs/developer-reference/api-describeimagepipelineexecutions).
SUCCEEDED = {"SUCCESS", "PARTITION_SUCCESS"}
FAILED = {"FAILED", "TEST_FAILED", "CANCELLING", "CANCELLED"}
MANAGED = {"managed-by": "opencode-alicloud"}


class BakeFailed(Exception):
    """The bake ended without an image, or did not end in time; the message says where its log is."""


def recipes(workspaces: list[Settings]) -> list[Recipe]:
    """The recipes the image stack bakes: one per OpenCode version and image family of the baked workspaces."""
    found = {Recipe.of(w.opencode_version, w.image_family) for w in workspaces if w.image_source == "baked" and not w.image_id}
    return sorted(found, key=lambda recipe: recipe.image_name)


def needs_new_bake(execution: dict[str, Any] | None, image_found: bool) -> bool:
    """Whether the stack's execution can give no image: it failed or was cancelled, or it succeeded and its image is
    gone (pruned, deleted). The execution resource never changes by itself: the CLI replaces it then."""
    status = (execution or {}).get("Status", "")
    return status in FAILED or (status in SUCCEEDED and not image_found)


def available(images: list[dict[str, Any]], recipe: Recipe) -> dict[str, Any] | None:
    """The newest usable image this recipe made (Image Builder names it <image name>_<execution id>)."""
    return next((image for image in images if image.get("ImageName", "").startswith(recipe.image_name + "_")
                 and image.get("Status") == "Available"), None)


@dataclass(frozen=True)
class Progress:
    status: str
    seconds: float


def wait_for_bake(execution: Callable[[], dict[str, Any] | None], image: Callable[[dict[str, Any]], dict[str, Any] | None],
                  on_progress: Callable[[Progress], None], timeout: float, poll: float = 30,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Follow an Image Builder execution until its image is Available: the image's DescribeImages item. A failed or
    cancelled execution, or none within `timeout` seconds, raises BakeFailed (nothing is marked usable: the
    workspace boots only an Available image of its recipe)."""
    started, last = clock(), ""
    while True:
        item = execution()
        status = (item or {}).get("Status", "NOT_FOUND")
        if item is None and clock() - started > 5 * 60:  # a new execution is listed within seconds
            raise BakeFailed("the image stack's bake is not in this region's Image Builder executions: check the "
                             "region, or run opencode-alicloud image bake again")
        if status != last:
            on_progress(Progress(status, clock() - started))
            last = status
        if status in FAILED:
            raise BakeFailed(f"the bake ended {status}: {(item or {}).get('Message') or 'no message'}. Its log: the ECS "
                             f"console, Image Builder, execution {(item or {}).get('ExecutionId', '?')} (the recipe's "
                             "output, the failing step last)")
        if status in SUCCEEDED:
            found = image(item or {})
            if found:
                return found
        if clock() - started > timeout:
            raise BakeFailed(f"the bake is still {status} after {timeout / 60:.0f} minutes; it goes on: run "
                             "opencode-alicloud image bake again to follow it")
        sleep(poll)


def prune_plan(images: list[dict[str, Any]], in_use: dict[str, list[str]], keep: int,
               workspaces: set[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept, deleted) among baked images (newest first). Only images this project made for one of `workspaces`
    (tagged by `image bake`) may be deleted; of those, every image an instance runs is kept, and the `keep`
    newest of each recipe that no instance runs."""
    kept, deleted = [], []
    spare: dict[str, int] = {}
    for image in images:
        if not image.get("ImageName", "").startswith(IMAGE_PREFIX):
            continue
        tags = {tag["TagKey"]: tag["TagValue"] for tag in (image.get("Tags") or {}).get("Tag", [])}
        recipe = image["ImageName"].split("_", 1)[0]
        if image["ImageId"] in in_use or not MANAGED.items() <= tags.items() or tags.get("workspace") not in workspaces:
            kept.append(image)
        elif spare.setdefault(recipe, keep) > 0:
            kept.append(image)
            spare[recipe] -= 1
        else:
            deleted.append(image)
    return kept, deleted


def snapshots_of(image: dict[str, Any]) -> list[str]:
    """The snapshots an image is made of (DeleteImage keeps them, and they bill until deleted)."""
    mappings = (image.get("DiskDeviceMappings") or {}).get("DiskDeviceMapping", [])
    return [m["SnapshotId"] for m in mappings if m.get("SnapshotId")]
