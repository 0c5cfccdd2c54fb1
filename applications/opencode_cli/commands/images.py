"""image bake, list and prune: the workspace's baked system image (image_source = baked)."""
from __future__ import annotations

import json
from typing import Annotated, Any

import questionary
import typer
from rich.table import Table

from opencode_alicloud.instance.recipe import IMAGE_PREFIX
from opencode_api import ApiUnavailable
from opencode_settings import Settings, team_settings

from .. import image
from ..cloud import Ecs
from ..engine import Engine, EngineError
from .common import EXIT_CLOUD, EXIT_ENGINE, EXIT_UNHEALTHY, EXIT_USAGE, ecs, fail, interactive, out, settings


image_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="The workspace's baked system image (image_source = baked): bake, list, prune.")
IMAGE_STACK = "opencode-image"


def bake(values: Settings, yes: bool, timeout: int, skip_provider_lock: bool, poll: float) -> None:
    """Deploy the image stack (Image Builder starts a bake for each new recipe), follow each bake until its
    image is Available, and tag the image as the project's."""
    wanted = image.recipes(list((team_settings(values) or {values.name: values}).values()))
    if not wanted:
        fail(EXIT_USAGE, 'image_source is "public" (or image_id names the image): nothing to bake; set image_source = "baked"')
    out.print(f"Baking {', '.join(r.image_name for r in wanted)} with ECS Image Builder in {values.region} (stack "
              f"{IMAGE_STACK}: a temporary {values.instance_type} runs the bake recipe; about 15-25 minutes)")
    if interactive() and not yes and not questionary.confirm("Bake?", default=True).unsafe_ask():
        fail(EXIT_UNHEALTHY, "not baked")
    engine = Engine(skip_provider_lock=skip_provider_lock, stack=IMAGE_STACK)
    try:
        engine.deploy()
        found = engine.outputs()
    except EngineError as error:
        fail(EXIT_ENGINE, str(error))
    cloud = ecs(values.region)
    for recipe in wanted:
        try:
            made = follow_bake(engine, cloud, recipe, found, timeout, poll)
            cloud.tag("image", [made["ImageId"]], {"workspace": values.name, **image.MANAGED})
            if image.snapshots_of(made):
                cloud.tag("snapshot", image.snapshots_of(made), {"workspace": values.name, **image.MANAGED})
        except image.BakeFailed as error:
            fail(EXIT_UNHEALTHY, str(error))
        except ApiUnavailable as error:
            fail(EXIT_CLOUD, str(error))
        except EngineError as error:
            fail(EXIT_ENGINE, str(error))
        if not made["ImageName"].startswith(recipe.image_name + "_"):
            fail(EXIT_UNHEALTHY, f"Image Builder named the image {made['ImageName']} ({made['ImageId']}), which the "
                                 f"workspace's lookup (^{recipe.image_name}_) does not find: set image_id = \"{made['ImageId']}\"")
        out.print(f"Baked: {made['ImageId']} ({made['ImageName']}); workspaces with image_source = \"baked\" boot it")


def follow_bake(engine: Engine, cloud: Ecs, recipe: Any, found: dict[str, Any], timeout: int, poll: float) -> dict[str, Any]:
    """The recipe's image: its bake followed until the image is Available; a bake that failed before, or whose
    image is gone, is started again first (the execution resource is replaced)."""
    output = f"execution_{recipe.digest}"
    execution_id = found.get(output)
    if not execution_id:
        raise EngineError(f"the image stack has no bake of {recipe.image_name} (output {output})")
    current = cloud.execution(execution_id)
    made_before = cloud.image(current["ImageId"]) if current and current.get("ImageId") else None
    if image.needs_new_bake(current, made_before is not None):
        out.print(f"  {recipe.image_name}: the last bake is {current.get('Status') if current else '?'}"
                  f"{' and its image is gone' if current and current.get('Status') in image.SUCCEEDED else ''}: baking again")
        engine.replace(f"alicloud_ecs_image_pipeline_execution.bake-{recipe.digest}")
        execution_id = engine.outputs()[output]
    with out.status(f"baking {recipe.image_name}") as status:
        def on_progress(progress: image.Progress) -> None:
            out.print(f"  {recipe.image_name}: {progress.status} ({progress.seconds / 60:.0f} min)")
            status.update(f"{recipe.image_name}: {progress.status}")

        def usable(item: dict[str, Any]) -> dict[str, Any] | None:
            made = cloud.image(item["ImageId"]) if item.get("ImageId") else None
            return made if made and made.get("Status") == "Available" else None
        return image.wait_for_bake(lambda: cloud.execution(execution_id), usable, on_progress, timeout * 60, poll)


@image_app.command("bake")
def image_bake(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before baking.")] = False,
    timeout: Annotated[int, typer.Option(help="Minutes to wait for each image.")] = 90,
    skip_provider_lock: Annotated[bool, typer.Option(help="cdktf's --skip-provider-lock.")] = False,
    poll: Annotated[float, typer.Option(hidden=True)] = 30.0,
) -> None:
    """Bake the image of every baked workspace's recipe (ECS Image Builder), and wait until each is Available."""
    bake(settings(), yes, timeout, skip_provider_lock, poll)


@image_app.command("list")
def image_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False) -> None:
    """This project's baked images in the region: id, name, status, when made, and the instances running each."""
    values = settings()
    cloud = ecs(values.region)
    try:
        images, in_use = cloud.images(IMAGE_PREFIX), cloud.images_in_use()
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    rows = [{"id": i["ImageId"], "name": i["ImageName"], "status": i.get("Status", ""), "created": i.get("CreationTime", ""),
             "used_by": in_use.get(i["ImageId"], [])} for i in images]
    if as_json:
        return typer.echo(json.dumps(rows, indent=2))
    table = Table("image", "name", "status", "created", "used by")
    for row in rows:
        table.add_row(row["id"], row["name"], row["status"], row["created"], ", ".join(row["used_by"]) or "-")
    out.print(table if rows else f"no baked images in {values.region} (opencode-alicloud image bake makes one)")


@image_app.command("prune")
def image_prune(
    keep: Annotated[int, typer.Option(min=0, help="Keep this many of the newest images no instance runs.")] = 1,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before deleting.")] = False,
) -> None:
    """Delete this project's baked images that no instance runs, but the newest `--keep`."""
    values = settings()
    cloud = ecs(values.region)
    names = set(team_settings(values) or {values.name: values})
    try:
        kept, deleted = image.prune_plan(cloud.images(IMAGE_PREFIX), cloud.images_in_use(), keep, names)
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    out.print(f"Keeping {len(kept)}: {', '.join(i['ImageId'] for i in kept) or '-'}; deleting {len(deleted)}: "
              f"{', '.join(i['ImageId'] + ' (' + i['ImageName'] + ')' for i in deleted) or '-'}")
    if not deleted:
        return
    if not yes and not interactive():
        fail(EXIT_USAGE, "image prune deletes images: add --yes, or run it in a terminal to be asked")
    if not yes and not questionary.confirm("Delete?", default=False).unsafe_ask():
        return
    try:
        for item in deleted:
            cloud.delete_image(item["ImageId"])
            for snapshot in image.snapshots_of(item):  # DeleteImage keeps them, and they bill
                cloud.delete_snapshot(snapshot)
    except ApiUnavailable as error:
        fail(EXIT_CLOUD, str(error))
    out.print(f"Deleted {len(deleted)} image(s) and their snapshots")
