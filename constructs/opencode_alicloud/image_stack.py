"""The image stack (opencode-image): ECS Image Builder bakes the workspace host's system image from the bake
recipe (instance/bake.sh.j2), once per region and recipe, for every workspace with image_source = baked.

One pipeline per recipe (an OpenCode version on an image family), its build content the recipe itself (one
RUN, under Image Builder's 16 KB), on the same public base image the workspace would boot, in a VPC of its
own; an execution starts the build. The provider's execution resource returns once the build has started
(provider 1.289.0, resource_alicloud_ecs_image_pipeline_execution.go: its targets are PREPARING, BUILDING
and SUCCESS) and exposes no image id: the image appears as `<recipe image name>_<execution id>` when the build
ends, and the workspace finds it by that name (host.baked_image), or stops its plan with one line.
`opencode-alicloud image bake` deploys this stack and waits for the image."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cdktf import TerraformOutput, TerraformResourceLifecycle, TerraformStack
from constructs import Construct

from imports.alicloud.ecs_image_pipeline import EcsImagePipeline
from imports.alicloud.ecs_image_pipeline_execution import EcsImagePipelineExecution
from imports.alicloud.provider import AlicloudProvider
from opencode_settings import Settings, SettingsError

from .backend import state_backend
from .instance.terraform_text import escape_for_terraform, literal_tags
from .host import system_image
from .instance.recipe import Recipe
from .network import Network, NetworkProps
from .policy.aspect import add_policy

IMAGE_STACK_ID = "opencode-image"
BAKE_BANDWIDTH_MBPS = 100  # the bake instance's own public bandwidth (pay by traffic): Debian's archive, npm


@dataclass(frozen=True)
class ImageStackProps:
    name: str
    region: str
    recipes: tuple[Recipe, ...]
    base_image_regex: str
    instance_type: str
    system_disk_size: int  # the image's disk: a workspace's system disk is at least this (the same setting)
    tags: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings, workspaces: dict[str, Settings]) -> ImageStackProps:
        """One stack bakes on one base, in one region, on one instance type (the top level's): a team workspace
        that bakes on another is refused (exit 2, naming it), as is a version Image Builder would refuse."""
        baked = {name: w for name, w in workspaces.items() if w.image_source == "baked" and not w.image_id}
        problems = [(f"workspaces.{name}.image_source" if name != settings.name else "image_source",
                     f"= baked needs the top level's {', '.join(differ)} (the image stack bakes on one base image, in one "
                     'region, on one instance type): set it at the top level, or image_source = "public" here')
                    for name, w in baked.items()
                    if (differ := [key for key in ("region", "image_family", "image_name_regex", "instance_type")
                                   if getattr(w, key) != getattr(settings, key)])]
        recipes = {Recipe.of(w.opencode_version, w.image_family) for w in baked.values()}
        problems += [problem for recipe in recipes for problem in recipe.problems()]
        if problems:
            raise SettingsError(problems)
        return cls(name=settings.name, region=settings.region, recipes=tuple(sorted(recipes, key=lambda r: r.image_name)),
                   base_image_regex=escape_for_terraform(settings.system_image_regex), instance_type=settings.instance_type,
                   system_disk_size=min(w.system_disk_size for w in workspaces.values()),
                   tags=literal_tags(settings.resource_tags()) | {"purpose": "image-bake"})


class ImageStack(TerraformStack):
    """Exposes `network`, `base_image`, and per recipe (by image name) `pipelines` and `executions`."""

    def __init__(self, scope: Construct, id: str, settings: Settings, props: ImageStackProps, state_dir: Path) -> None:
        super().__init__(scope, id)
        self.backend = state_backend(self, settings, id, state_dir)
        add_policy(self)
        AlicloudProvider(self, "alicloud", region=props.region)
        # Its own VPC (the workspace's CIDR: the two never meet), created even when the workspace reuses one.
        self.network = Network(self, "network", replace(NetworkProps.from_settings(settings, props.tags),
                                                        name=f"{props.name}-image", vpc_id=None, vswitch_id=None))
        self.base_image = system_image(self, "base-image", props.base_image_regex, props.instance_type)
        self.pipelines: dict[str, EcsImagePipeline] = {}
        self.executions: dict[str, EcsImagePipelineExecution] = {}
        for recipe in props.recipes:
            pipeline = EcsImagePipeline(
                self, f"pipeline-{recipe.digest}", name=recipe.image_name, image_name=recipe.image_name,
                description=f"OpenCode {recipe.opencode_version} on {recipe.image_family}: the opencode-alicloud bake recipe",
                base_image_type="IMAGE", base_image=self.base_image.images.get(0).id,
                build_content=recipe.build_content(), instance_type=props.instance_type,
                vswitch_id=self.network.vswitch_id, internet_max_bandwidth_out=BAKE_BANDWIDTH_MBPS,
                system_disk_size=props.system_disk_size, delete_instance_on_failure=True, tags=props.tags,
                # The base is the newest public image when the recipe is first baked; a newer one later does not
                # re-bake (a recipe change does: it is a new pipeline).
                lifecycle=TerraformResourceLifecycle(ignore_changes=["base_image"]),
            )
            self.pipelines[recipe.image_name] = pipeline
            self.executions[recipe.image_name] = EcsImagePipelineExecution(
                self, f"bake-{recipe.digest}", image_pipeline_id=pipeline.id)
            TerraformOutput(self, f"execution-{recipe.digest}", value=self.executions[recipe.image_name].id,
                            description=f"The bake of {recipe.image_name}: its image is {recipe.image_name}_<this id>"
                            ).override_logical_id(f"execution_{recipe.digest}")
