"""The cost estimate (scripts/cost): each resource kind priced against a fixed table and summed,
the live path against a local fake of the price APIs (signatures checked), the fallback when
the API fails, and, for any valid settings, every resource of the synthesized stacks accounted for."""
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import OSS, assert_rejected, synth_app
from fake_alibaba import Served, serve
from fake_openapi import Account, OpenApiHandler
from opencode_cost import FREE, NOT_PRICED, PRICED, LivePrices, PriceTable, UnknownResource, estimate
from opencode_settings import CostSettings
from strategies import workspace_settings
from support import ROOT, synth

HOURS = 730.0


def fixed_table(region: str = "ap-southeast-1") -> PriceTable:
    """Round prices, so every expected figure below is arithmetic a reader can check."""
    def row(key: str, price: float, currency: str = "USD", where: str = region) -> dict[str, Any]:
        return {"key": key, "region": where, "price": price, "currency": currency, "source": "test",
                "source_date": "2026-11-01", "confidence": "medium"}

    return PriceTable({"collected": "2026-11-01", "rows": [
        row("instance/ecs.e-c1m2.large", 0.05), row("instance-month/ecs.e-c1m2.large", 25.0),
        row("instance/ecs.gn7i-c8g1.2xlarge", 14.4, "CNY"), row("instance-month/ecs.gn7i-c8g1.2xlarge", 4320.0, "CNY"),
        row("disk/cloud_essd_entry", 0.0001), row("disk-month/cloud_essd_entry", 0.06),
        row("disk/cloud_essd", 0.0002), row("disk-month/cloud_essd", 0.12),
        row("snapshot", 0.02), row("eip-traffic", 0.1), row("eip-config", 0.0, where="*"),
        row("oss-storage", 0.02, where="*"),
    ]})


def line(result: Any, what: str) -> Any:
    found = [item for item in result.lines if what in item.usage.what]
    assert len(found) == 1, [item.usage.what for item in result.lines]
    return found[0]


@pytest.fixture(scope="module")
def default_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synth(tmp_path_factory.mktemp("cost-default"))


def test_each_resource_kind_of_the_default_stack_is_priced_and_summed(default_doc: dict[str, Any]) -> None:
    cost = CostSettings()
    result = estimate({"opencode": default_doc}, cost, table=fixed_table())
    instance = line(result, "instance ecs.e-c1m2.large")
    assert instance.monthly(cost, HOURS) == pytest.approx(0.05 * 730) and instance.subscription(cost) == 25.0
    system = line(result, "system disk 40 GiB cloud_essd_entry")
    assert system.monthly(cost, HOURS) == pytest.approx(0.0001 * 40 * 730)
    assert system.subscription(cost) == pytest.approx(0.06 * 40)
    data = line(result, "data disk 40 GiB cloud_essd_entry")
    assert data.month is None  # a disk created on its own is pay-as-you-go only
    assert data.monthly(cost, HOURS) == data.subscription(cost) == pytest.approx(0.0001 * 40 * 730)
    snapshots = line(result, "daily snapshots, 7 days")
    # 50 % of 40 GiB used, then 6 more daily snapshots of 2 % change each
    assert snapshots.usage.quantity == pytest.approx(20 * (1 + 0.02 * 6))
    assert snapshots.monthly(cost, HOURS) == pytest.approx(20 * 1.12 * 0.02)
    assert line(result, "EIP configuration fee").monthly(cost, HOURS) == 0.0
    assert line(result, "EIP traffic out").monthly(cost, HOURS) == pytest.approx(20 * 0.1)
    assert len(result.lines) == 6
    expected = 0.05 * 730 + 2 * 0.0001 * 40 * 730 + 20 * 1.12 * 0.02 + 20 * 0.1
    views = result.views()
    assert views["always_on"]["usd"] == pytest.approx(expected)
    assert views["always_on"]["usd"] == pytest.approx(sum(item.monthly(cost, HOURS) for item in result.lines))
    assert views["subscription"]["usd"] == pytest.approx(25.0 + 0.06 * 40 + 0.0001 * 40 * 730 + 20 * 1.12 * 0.02 + 2.0)
    assert [item.resource.split(".")[0] for item in result.not_priced] == ["alicloud_oos_secret_parameter"]
    assert all(item.payg is not None and item.payg.origin == "table" for item in result.lines)


def test_the_savings_views_bill_what_the_economical_mode_still_bills(default_doc: dict[str, Any]) -> None:
    cost = CostSettings(usage_hours_per_month=100)
    views = estimate({"opencode": default_doc}, cost, table=fixed_table()).views()
    storage = 2 * 0.0001 * 40 * 730 + 20 * 1.12 * 0.02
    assert views["stopped"]["usd"] == pytest.approx(storage)  # disks and snapshots; no compute, no traffic
    assert views["idle_stop"]["usd"] == pytest.approx(storage + 0.05 * 100 + 2.0)
    compute = 0.05 * 730
    assert views["spot"]["usd_low"] == pytest.approx(views["always_on"]["usd"] - 0.9 * compute)
    assert views["spot"]["usd_high"] == pytest.approx(views["always_on"]["usd"] - 0.1 * compute)


def test_the_model_server_adds_its_gpu_instance_and_weights_disk(tmp_path: Path) -> None:
    doc = synth(tmp_path, model_server={"enabled": True, "weights_disk_size": 100})
    cost = CostSettings(cny_per_usd=7.2)
    result = estimate({"opencode": doc}, cost, table=fixed_table())
    gpu = line(result, "instance ecs.gn7i-c8g1.2xlarge")
    assert gpu.payg is not None and gpu.payg.usd == pytest.approx(2.0)  # 14.4 CNY at 7.2 CNY/USD
    assert "converted from 14.4 CNY at 7.2 CNY/USD (assumed rate)" in gpu.payg.label
    assert gpu.subscription(cost) == pytest.approx(600.0)
    weights = [item for item in result.lines if "data disk 100 GiB" in item.usage.what]
    assert len(weights) == 1 and weights[0].usage.what.startswith("model-server")


def test_a_baked_image_prices_its_bakes_and_its_snapshot(tmp_path: Path) -> None:
    documents = synth_app(tmp_path, image_source="baked")
    assert set(documents) == {"opencode", "opencode-image", "opencode-roles"}
    cost = CostSettings(bakes_per_month=2, bake_minutes=30, baked_image_gb=5)
    result = estimate(documents, cost, table=fixed_table())
    bake = line(result, "image bake: instance ecs.e-c1m2.large")
    assert bake.usage.stack == "opencode-image" and bake.monthly(cost, HOURS) == pytest.approx(0.05)  # 2 × 0.5 h × 0.05
    assert bake.monthly(cost, 0) == bake.monthly(cost, HOURS)  # a bake bills whether the workspace runs or not
    image = line(result, "baked image: snapshot, 5 GB")
    assert image.monthly(cost, HOURS) == pytest.approx(0.1)  # 5 GB × 0.02
    assert ("opencode-image", next(f"alicloud_ecs_image_pipeline_execution.{n}" for n in
            documents["opencode-image"]["resource"]["alicloud_ecs_image_pipeline_execution"])) in result.free


def test_the_state_stack_prices_its_bucket_and_names_the_lock_table_unpriced(tmp_path: Path) -> None:
    documents = synth_app(tmp_path, backend=OSS, state={"bucket": "team-tfstate"})
    assert set(documents) == {"opencode", "opencode-state", "opencode-roles"}
    result = estimate(documents, CostSettings(state_bucket_gb=2), table=fixed_table())
    bucket = line(result, "state bucket team-tfstate")
    assert bucket.usage.stack == "opencode-state" and bucket.monthly(CostSettings(), HOURS) == pytest.approx(0.04)
    unpriced = {item.resource.split(".")[0] for item in result.not_priced}
    assert {"alicloud_ots_instance", "alicloud_ots_table"} <= unpriced


def test_your_prices_win_and_a_missing_price_is_named_outside_the_totals(default_doc: dict[str, Any]) -> None:
    cost = CostSettings(prices={"instance/ecs.e-c1m2.large": 0.1})
    table = PriceTable({"collected": "2026-11-01", "rows": []})
    result = estimate({"opencode": default_doc}, cost, table=table)
    instance = line(result, "instance ecs.e-c1m2.large")
    assert instance.payg is not None and instance.payg.origin == "yours" and instance.monthly(cost, HOURS) == pytest.approx(73)
    assert result.views()["always_on"]["usd"] == pytest.approx(73)
    assert any("no price known for" in note and "disk/cloud_essd_entry" in note for note in result.notes)
    assert result.to_json()["unpriced_lines"]


def test_the_table_falls_back_to_another_region_and_says_so() -> None:
    table = PriceTable.load()
    price = table.price("instance/ecs.e-c1m2.large", "ap-southeast-1", 7.2)
    assert price is not None and price.origin == "table" and price.confidence == "low"
    assert "us-east-1 list, not ap-southeast-1" in price.label and "prices of 2026-09-28" in price.label
    assert "DERIVED" in price.source
    exact = table.price("eip-traffic", "ap-southeast-1", 7.2)
    assert exact is not None and exact.usd == 0.117 and "list, not" not in exact.label
    assert table.price("instance/ecs.nonexistent.large", "ap-southeast-1", 7.2) is None


def test_every_shipped_table_row_has_a_source_date_and_confidence() -> None:
    document = json.loads((ROOT / "applications/opencode_cost/prices.json").read_text())
    for row in document["rows"]:
        assert row["source"] and row["source_date"] and row["confidence"] in ("high", "medium", "low"), row
        assert row["currency"] in ("USD", "CNY") and row["price"] >= 0, row
    table = PriceTable(document)
    assert len(table.rows) == len(document["rows"])


@pytest.mark.parametrize("prices, fix", [
    ({"instance/e-c1m2": 1.0}, "is not a price key"),
    ({"disk/cloud_nvme": 1.0}, "is not a price key"),
    ({"eip-traffic": -1.0}, "must be 0 or more"),
])
def test_a_bad_price_override_names_the_setting(prices: dict[str, float], fix: str) -> None:
    assert_rejected({"cost": {"prices": prices}}, "cost.prices", fix)


def test_a_resource_type_without_a_pricing_rule_is_an_error(default_doc: dict[str, Any]) -> None:
    doc = json.loads(json.dumps(default_doc))
    doc["resource"]["alicloud_nat_gateway"] = {"nat": {"nat_type": "Enhanced"}}
    with pytest.raises(UnknownResource, match="alicloud_nat_gateway.nat has no pricing rule"):
        estimate({"opencode": doc}, CostSettings(), table=fixed_table())


def test_no_type_is_both_free_and_priced() -> None:
    assert not (set(FREE) & set(PRICED)) and not (set(FREE) & set(NOT_PRICED)) and not (set(PRICED) & set(NOT_PRICED))


# -- live prices, against the fake ------------------------------------------------------------

@pytest.fixture
def price_api() -> Any:
    book = Account(instance_hour={"ecs.e-c1m2.large": 0.06}, instance_month={"ecs.e-c1m2.large": 30.0},
                     disk_gib_hour={"cloud_essd_entry": 0.0002}, disk_gib_month={"cloud_essd_entry": 0.1},
                     eip_traffic_gb=0.09)
    served: Served = serve(OpenApiHandler, book)  # type: ignore[arg-type]
    yield book, f"http://127.0.0.1:{served.port}"
    served.close()


def live_prices(book: Account, endpoint: str, cache: Path, secret: str | None = None, **kwargs: Any) -> LivePrices:
    credential = CredentialClient(CredentialConfig(type="access_key", access_key_id=book.access_key_id,
                                                   access_key_secret=secret or book.access_key_secret))
    return LivePrices("ap-southeast-1", credential, endpoint=endpoint, cache=cache, **kwargs)


def test_live_prices_ask_for_the_right_region_types_disks_and_period(
    price_api: Any, default_doc: dict[str, Any], tmp_path: Path
) -> None:
    book, endpoint = price_api
    cost = CostSettings()
    result = estimate({"opencode": default_doc}, cost, table=fixed_table(),
                      live=live_prices(book, endpoint, tmp_path / "cache"))
    instance_asks = [r for r in book.requests if r["action"] == "DescribePrice" and r["ResourceType"] == "instance"]
    assert {(r["RegionId"], r["InstanceType"], r["SystemDisk.Category"], r["SystemDisk.Size"], r["PriceUnit"], r["Period"])
            for r in instance_asks} == {("ap-southeast-1", "ecs.e-c1m2.large", "cloud_essd_entry", "40", unit, "1")
                                        for unit in ("Hour", "Month")}
    assert all(r["InstanceNetworkType"] == "vpc" for r in instance_asks)
    disk_asks = [r for r in book.requests if r.get("ResourceType") == "disk"]
    assert [(r["RegionId"], r["DataDisk.1.Category"], r["DataDisk.1.Size"], r["PriceUnit"]) for r in disk_asks] == [
        ("ap-southeast-1", "cloud_essd_entry", "40", "Hour")]
    eip_asks = [r for r in book.requests if r["action"] == "GetPayAsYouGoPrice"]
    assert [(r["ProductCode"], r["Region"], r["ModuleList.1.ModuleCode"], r["ModuleList.1.PriceType"]) for r in eip_asks] == [
        ("eip", "ap-southeast-1", "InternetTrafficOut", "Usage")]
    assert line(result, "instance ecs.e-c1m2.large").monthly(cost, HOURS) == pytest.approx(0.06 * 730)
    assert line(result, "instance ecs.e-c1m2.large").subscription(cost) == pytest.approx(30.0)
    assert line(result, "system disk").monthly(cost, HOURS) == pytest.approx(0.0002 * 40 * 730)
    assert line(result, "system disk").subscription(cost) == pytest.approx(0.1 * 40)
    assert line(result, "data disk").monthly(cost, HOURS) == pytest.approx(0.0002 * 40 * 730)
    assert line(result, "EIP traffic").monthly(cost, HOURS) == pytest.approx(0.09 * 20)
    origins = {item.usage.key: item.payg.origin for item in result.lines if item.payg}
    assert origins == {"instance/ecs.e-c1m2.large": "live", "disk/cloud_essd_entry": "live", "snapshot": "table",
                       "eip-config": "table", "eip-traffic": "live"}
    assert "live quote, ECS DescribePrice" in line(result, "instance ecs").payg.label
    assert not result.notes and not book.log  # nothing refused


def test_live_answers_are_cached_for_a_day(price_api: Any, default_doc: dict[str, Any], tmp_path: Path) -> None:
    book, endpoint = price_api
    now = [1_800_000_000.0]
    def ask(**kwargs: Any) -> None:
        estimate({"opencode": default_doc}, CostSettings(), table=fixed_table(),
                 live=live_prices(book, endpoint, tmp_path / "cache", clock=lambda: now[0], **kwargs))
    ask()
    first = len(book.requests)
    assert first == 4  # instance by the hour and by the month, the data disk, the EIP
    now[0] += 23 * 3600
    ask()
    assert len(book.requests) == first
    ask(refresh=True)
    assert len(book.requests) == 2 * first
    now[0] += 25 * 3600
    ask()
    assert len(book.requests) == 3 * first


@pytest.mark.parametrize("failure", ["refused", "bad-signature", "unreachable"])
def test_a_failing_api_falls_back_to_the_table_with_a_note(
    failure: str, price_api: Any, default_doc: dict[str, Any], tmp_path: Path
) -> None:
    book, endpoint = price_api
    secret = None
    if failure == "refused":
        book.fail = (403, "Forbidden.RAM", "User not authorized to operate on the specified resource.")
    elif failure == "bad-signature":
        secret = "not-the-secret"
    else:
        endpoint = "http://127.0.0.1:9"  # discard port: nothing listens
    live = live_prices(book, endpoint, tmp_path / "cache", secret=secret)
    result = estimate({"opencode": default_doc}, CostSettings(), table=fixed_table(), live=live)
    assert all(item.payg is not None and item.payg.origin == "table" for item in result.lines)
    assert len(result.notes) == 1 and result.notes[0].startswith("live prices failed (DescribePrice: ")
    expected = {"refused": "Forbidden.RAM", "bad-signature": "SignatureDoesNotMatch", "unreachable": ""}[failure]
    assert expected in result.notes[0]
    assert len([r for r in book.requests]) == 0  # the first failure turned live prices off


# -- the command, as a user runs it --------------------------------------------------------------

def run_cost(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("OPENCODE_ALICLOUD_", "ALIBABA_CLOUD_", "ALICLOUD_"))}
    clean.update(env, HOME=str(cwd), XDG_CACHE_HOME=str(cwd / "cache"), ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
                 OPENCODE_ALICLOUD_STATE_DIR=str(cwd / "state"))
    return subprocess.run([sys.executable, "-m", "opencode_cost", *args], env=clean, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_command_prices_live_with_credentials_from_the_environment(price_api: Any, tmp_path: Path) -> None:
    book, endpoint = price_api
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": book.access_key_id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": book.access_key_secret}
    result = run_cost(["--json", "--api-endpoint", endpoint], env, tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["region"] == "ap-southeast-1" and report["price_origins"] == {"live": 4, "table": 2}
    assert report["views"]["always_on"]["usd"] == pytest.approx(
        0.06 * 730 + 2 * 0.0002 * 40 * 730 + 20 * 1.12 * 0.148 / 7.2 + 0.09 * 20)
    assert book.access_key_secret not in result.stdout + result.stderr


def test_the_command_without_credentials_uses_the_table_and_says_why(tmp_path: Path) -> None:
    result = run_cost([], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "live prices unavailable: no Alibaba Cloud credentials in the standard places" in result.stdout
    assert "estimate, prices of 2026-09-28" in result.stdout and "Traceback" not in result.stdout + result.stderr
    failing = run_cost(["--json", "--api-endpoint", "http://127.0.0.1:9"],
                       {"ALICLOUD_ACCESS_KEY": "LTAI5tOld", "ALICLOUD_SECRET_KEY": "old-secret"}, tmp_path)
    assert failing.returncode == 0, failing.stderr
    notes = json.loads(failing.stdout)["notes"]
    assert notes and notes[0].startswith("live prices failed (DescribePrice:"), notes
    assert "old-secret" not in failing.stdout + failing.stderr


def test_the_command_names_a_bad_setting_and_exits_2(tmp_path: Path) -> None:
    result = run_cost([], {"OPENCODE_ALICLOUD_COST__HOURS_PER_MONTH": "800"}, tmp_path)
    assert result.returncode == 2 and "cost.hours_per_month" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# -- every billable resource, for any valid settings ---------------------------------------------

@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=workspace_settings(), state_bucket=st.booleans())
def test_every_resource_of_every_synthesized_stack_is_in_the_estimate(
    values: dict[str, Any], state_bucket: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if state_bucket:
        values["state"] = {"bucket": "team-tfstate"}
    documents = synth_app(tmp_path_factory.mktemp("cost-any"), **values)
    result = estimate(documents, CostSettings())
    accounted = ({(item.usage.stack, item.usage.resource) for item in result.lines}
                 | {(item.stack, item.resource) for item in result.not_priced}
                 | set(result.free))
    for stack, doc in documents.items():  # read from cdk.tf.json: a resource added later must be priced
        for type_name, bodies in doc.get("resource", {}).items():
            for name in bodies:
                assert (stack, f"{type_name}.{name}") in accounted, (stack, type_name, name)
                if type_name in PRICED:
                    assert any(item.usage.resource == f"{type_name}.{name}" for item in result.lines), (type_name, name)
    views = result.views()
    assert views["stopped"]["usd"] <= views["idle_stop"]["usd"] <= views["always_on"]["usd"] + 1e-9
    assert views["spot"]["usd_low"] <= views["spot"]["usd_high"] <= views["always_on"]["usd"] + 1e-9


def test_the_readme_shows_the_default_estimate_the_shipped_table_gives(default_doc: dict[str, Any]) -> None:
    views = estimate({"opencode": default_doc}, CostSettings()).views()
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## What it costs"):readme.index("## Deploy to your Alibaba Cloud account")]
    assert f"**{views['always_on']['usd']:.2f}**" in section and f"**{views['subscription']['usd']:.2f}**" in section
    guide = (ROOT / "docs" / "guides" / "cost.md").read_text()  # the same stack, used differently
    section = guide[guide.index("## The same stack, used differently"):guide.index("## What the seed quoted")]
    for name in ("always_on", "subscription", "stopped", "schedule", "idle_stop"):
        assert f"| {views[name]['usd']:.2f} |" in section, name
    assert f"{views['spot']['usd_low']:.2f} - {views['spot']['usd_high']:.2f}" in section


def test_the_readme_cost_rows_and_cny_figures_are_what_the_table_gives(default_doc: dict[str, Any]) -> None:
    """Each row of the README's default estimate (pay-as-you-go and subscription), and its CNY figures at the
    assumed rate, recomputed from the shipped table: none of them is a number typed in by hand."""
    cost = CostSettings()
    result = estimate({"opencode": default_doc}, cost)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("The default stack, from the table"):readme.index("[end:default-estimate]")]
    rows = [row for row in section.splitlines() if row.startswith("| ") and "---" not in row][1:-1]
    priced = [item for item in result.lines if item.payg is not None]
    assert len(rows) == len(priced), rows
    for item in priced:
        payg, month = f"{item.monthly(cost, cost.hours_per_month):.2f}", f"{item.subscription(cost):.2f}"
        assert any(f"| {payg} |" in row and month in row.split("|")[3] for row in rows), (item.usage, payg, month)
    views = result.views()
    for name in ("always_on", "subscription"):
        assert f"≈ {views[name]['usd'] * cost.cny_per_usd:.0f} CNY" in section, name
    assert f"at {cost.cny_per_usd:g} CNY/USD (assumed)" in section
    guide = (ROOT / "docs" / "guides" / "cost.md").read_text()  # the cost guide's prose quotes the same CNY figures
    seed = guide[guide.index("## What the seed quoted"):]
    assert (f"come to {views['always_on']['usd'] * cost.cny_per_usd:.0f} CNY pay-as-you-go or "
            f"{views['subscription']['usd'] * cost.cny_per_usd:.0f} CNY on a monthly") in " ".join(seed.split())


def test_the_private_model_guide_quotes_what_the_shipped_table_gives(tmp_path: Path) -> None:
    """The private model guide's default GPU row, its weights disk and the stopped figure, recomputed from the
    shipped table (the other GPU rows are dated quotes of types the default does not use)."""
    cost = CostSettings()
    result = estimate({"opencode": synth(tmp_path, model_server={"enabled": True})}, cost)
    guide = " ".join((ROOT / "docs" / "guides" / "private-model.md").read_text().split())
    gpu = next(item for item in result.lines if item.usage.what.startswith("model-server: instance"))
    disk = next(item for item in result.lines if item.usage.what.startswith("model-server: data disk"))
    assert gpu.payg is not None and disk.payg is not None
    assert f"{gpu.payg.usd:.2f} USD | ≈ {gpu.monthly(cost, cost.hours_per_month):.2f} USD" in guide
    assert f"≈ {gpu.subscription(cost):.2f} USD" in guide
    disk_month = disk.monthly(cost, cost.hours_per_month)
    assert f"| {disk_month / cost.hours_per_month:.4f} USD | {disk_month:.2f} USD |" in guide  # the whole disk's hour
    assert f"about {result.views()['stopped']['usd']:.0f} USD a month" in guide
