"""The pages in a real headless Chromium (Debian's chromium + chromedriver, driven by selenium):
sign in, a typo shown at its column as it is typed, fixed, run, saved as Kafka lite; records and
light curves after a replay through a real worker process; another user cannot see the filter.
And a watchlist uploaded from replayed alerts' positions, a filter joined on it through Lasair's
three-part form, its records after a replay, the watchlist deleted.

Screenshots of each page go to ALERTFLOW_SCREENSHOT_DIR when it is set. Without chromium the test
is skipped, except in CI (CI=true), where that is a failure: CI installs it (.ci/run).
"""
from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agents.cli.replay import produce
from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import ingest
from pipeline.settings import Settings
from pipeline.synthetic.alerts import synthetic_messages
from tests.agents.web.helpers import WebProcess, add_users, with_own_users
from tests.conftest import connection

pytestmark = pytest.mark.integration

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
TYPO_SQL = "SELECT objects.diaObjectId, objects.ra, objects.nDiaSources\nFROM objects\nWHERE objects.nDiaSorces >= 5"
GOOD_SQL = TYPO_SQL.replace("nDiaSorces", "nDiaSources")


@pytest.fixture
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed in CI: apt-get install -y chromium chromium-driver")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="alertflow-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: object, name: str) -> None:
    folder = os.environ.get("ALERTFLOW_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
        driver.set_window_size(1400, min(max(height + 150, 700), 4000))  # type: ignore[attr-defined]  # + the window's own frame
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))  # type: ignore[attr-defined]
        driver.set_window_size(1400, 1000)  # type: ignore[attr-defined]


def until(condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> object:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(None, timeout, poll_frequency=0.1).until(lambda _: condition(), message=what)


def click_and_load(driver: object, css: str) -> None:
    """Click what submits a form or follows a link, and wait until the next page replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    def replaced() -> bool:
        try:
            return expected_conditions.staleness_of(page)(driver)
        except WebDriverException:  # Chromium mid-navigation: "Node with given id does not belong to the document"; ask again
            return False

    page = driver.find_element(By.TAG_NAME, "html")  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, css).click()  # type: ignore[attr-defined]
    until(replaced, what=f"the page after clicking {css}")


def worker_has(worker: WorkerProcess, filter_id: str, token: str) -> bool:
    """Whether the worker's registry holds the filter (asked as its owner, should the API want a token)."""
    url = f"http://{worker.settings.web_host}:{worker.settings.web_port}/filters/{filter_id}"
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False


def hourly_total(driver: object) -> int:
    from selenium.webdriver.common.by import By

    label = driver.find_element(By.CSS_SELECTOR, "svg.hourly").get_attribute("aria-label")  # type: ignore[attr-defined]
    return int(re.search(r": (\d+) in all", label).group(1))  # type: ignore[union-attr]


def test_make_save_and_watch_a_filter_in_a_browser(browser: object, settings: Settings, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    settings = with_own_users(settings)
    (alice, alice_token), (_bob, bob_token) = asyncio.run(add_users(settings, "alice", "bob"))
    kafka = connection(settings)
    asyncio.run(ensure_topics(kafka, core_topics(settings)))
    worker = WorkerProcess.with_free_port(settings, tmp_path / "worker.log").start()
    web = WebProcess(settings, tmp_path / "web.log")
    try:
        before = list(synthetic_messages(80, 1))  # recent alerts for the dry run and the seeding at save
        worker.wait_caught_up(settings.alert_topic, asyncio.run(produce(kafka, settings.alert_topic, before, progress=False)))
        web.start()

        d.get(web.url + "/")  # type: ignore[attr-defined]
        assert "Public filters" in d.find_element(By.TAG_NAME, "h1").text  # type: ignore[attr-defined]
        screenshot(d, "0-signed-out")
        click_and_load(d, ".who a[href='/signin']")
        screenshot(d, "1-sign-in")
        d.find_element(By.ID, "token").send_keys(alice_token)  # type: ignore[attr-defined]
        click_and_load(d, "form.narrow button[type=submit]")
        assert "Signed in as alice" in d.find_element(By.CSS_SELECTOR, ".who").text  # type: ignore[attr-defined]

        click_and_load(d, "a.button[href='/filters/new']")
        sql = d.find_element(By.ID, "sql")  # type: ignore[attr-defined]
        sql.clear()
        sql.send_keys(TYPO_SQL)
        check = d.find_element(By.ID, "check")  # type: ignore[attr-defined]
        until(lambda: "Line 3, column 7: unknown column 'nDiaSorces'" in check.text, what="the typo's error at its column")
        assert "^" in check.find_element(By.CSS_SELECTOR, "pre.excerpt").text
        screenshot(d, "2-new-filter-typo")
        sql.clear()
        sql.send_keys(GOOD_SQL)
        until(lambda: "Compiles" in d.find_element(By.ID, "check").text, what="the fixed SQL compiles")  # type: ignore[attr-defined]
        click_and_load(d, "button[value=run]")
        run = d.find_element(By.CSS_SELECTOR, "section.run").text  # type: ignore[attr-defined]
        assert re.search(r"\d+ of 80 recent alerts matched", run), run
        screenshot(d, "3-dry-run")

        d.find_element(By.ID, "name").send_keys("Bright ones")  # type: ignore[attr-defined]
        Select(d.find_element(By.ID, "streaming")).select_by_value("lite")  # type: ignore[attr-defined]
        click_and_load(d, "button[value=save]")
        saved = d.find_element(By.CSS_SELECTOR, "p.saved").text  # type: ignore[attr-defined]
        seeded = int(re.search(r"(\d+) there now", saved).group(1))  # type: ignore[union-attr]
        assert "up to 10 records" in saved and 0 < seeded <= 10
        topic = f"{settings.topic_prefix}{alice.id}Brightones"
        assert d.find_element(By.ID, "topic").text == topic  # type: ignore[attr-defined]
        assert f"consumer.subscribe(['{topic}'])" in d.find_element(By.ID, "consumer-code").text  # type: ignore[attr-defined]
        screenshot(d, "4-saved")
        filter_url = d.current_url.split("?")[0]  # type: ignore[attr-defined]
        filter_id = filter_url.rsplit("/", 1)[1]

        until(lambda: worker_has(worker, filter_id, alice_token), what="the worker has the new filter")
        after = list(synthetic_messages(120, 2))
        matching = sum(1 for m in after if (ingest(m, bundled_codec).row["nDiaSources"] or 0) >= 5)
        assert 0 < matching < 120
        worker.wait_caught_up(settings.alert_topic, asyncio.run(produce(kafka, settings.alert_topic, after, progress=False)))

        def shows_replayed() -> bool:
            d.get(filter_url)  # type: ignore[attr-defined]
            return hourly_total(d) == seeded + matching
        until(shows_replayed, timeout=30, what=f"{seeded} + {matching} records counted on the filter page")
        plots = d.find_elements(By.CSS_SELECTOR, "table.records svg.lc")  # type: ignore[attr-defined]
        assert len(plots) == 10 and all(p.find_elements(By.CSS_SELECTOR, "circle.pt") for p in plots)
        screenshot(d, "5-filter-page")
        click_and_load(d, f"a.button[href='/filters/{filter_id}/edit']")
        assert d.find_element(By.ID, "sql").get_attribute("value") == GOOD_SQL  # type: ignore[attr-defined]
        assert Select(d.find_element(By.ID, "streaming")).first_selected_option.get_attribute("value") == "lite"  # type: ignore[attr-defined]
        screenshot(d, "5b-edit-filter")
        d.get(web.url + "/")  # type: ignore[attr-defined]
        row = d.find_element(By.XPATH, "//table[contains(@class,'data')]//tr[th/a[text()='Bright ones']]").text  # type: ignore[attr-defined]
        assert topic in row and "lite" in row
        screenshot(d, "6-my-filters")

        click_and_load(d, ".who button")  # sign out
        click_and_load(d, ".who a[href='/signin']")
        d.find_element(By.ID, "token").send_keys(bob_token)  # type: ignore[attr-defined]
        click_and_load(d, "form.narrow button[type=submit]")
        assert "Signed in as bob" in d.find_element(By.CSS_SELECTOR, ".who").text  # type: ignore[attr-defined]
        assert "Bright ones" not in d.find_element(By.ID, "main").text  # type: ignore[attr-defined]
        for url in (filter_url, filter_url + "/edit"):
            d.get(url)  # type: ignore[attr-defined]
            assert d.find_element(By.TAG_NAME, "h1").text == "Not found"  # type: ignore[attr-defined]
        screenshot(d, "7-other-user")
    finally:
        assert web.stop() == 0, (tmp_path / "web.log").read_text()[-3000:]
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]


def within(row: dict[str, object], sources: list[tuple[float, float]], arcsec: float) -> bool:
    """Whether the object's position is within `arcsec` of a source (haversine: exact for small angles)."""
    ra, dec = math.radians(float(row["ra"])), math.radians(float(row["decl"]))  # type: ignore[arg-type]
    for sra, sdec in sources:
        a, d = math.radians(sra), math.radians(sdec)
        h = math.sin((dec - d) / 2) ** 2 + math.cos(dec) * math.cos(d) * math.sin((ra - a) / 2) ** 2
        if math.degrees(2 * math.asin(math.sqrt(h))) * 3600 <= arcsec:
            return True
    return False


def sign_in_as(d: object, url: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    d.get(url + "/signin")  # type: ignore[attr-defined]
    d.find_element(By.ID, "token").send_keys(token)  # type: ignore[attr-defined]
    click_and_load(d, "form.narrow button[type=submit]")


def test_watchlist_uploaded_joined_by_a_three_part_filter_and_deleted_in_a_browser(browser: object, settings: Settings,
                                                                                  tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    settings = with_own_users(settings)
    (_alice, alice_token), = asyncio.run(add_users(settings, "alice"))
    kafka = connection(settings)
    asyncio.run(ensure_topics(kafka, core_topics(settings)))
    alerts = list(synthetic_messages(120, 2))
    rows = [ingest(m, bundled_codec).row for m in alerts]
    chosen = list({r["diaObjectId"]: r for r in rows}.values())[:3]  # three objects of the replay
    sources = [(float(r["ra"]), float(r["decl"])) for r in chosen]
    matching = sum(1 for r in rows if within(r, sources, 5.0))
    assert 3 <= matching < 120
    listing = tmp_path / "replayed.csv"
    listing.write_text("ra, dec, name\n" + "".join(f"{ra:.7f}, {dec:.7f}, src-{i}\n" for i, (ra, dec) in enumerate(sources)))
    worker = WorkerProcess.with_free_port(settings, tmp_path / "worker.log").start()
    web = WebProcess(settings, tmp_path / "web.log")
    try:
        web.start()
        sign_in_as(d, web.url, alice_token)
        click_and_load(d, "nav a[href='/watchlists']")
        d.find_element(By.ID, "name").send_keys("Replayed sources")  # type: ignore[attr-defined]
        d.find_element(By.ID, "text").send_keys("ra, dec, name\n10.0, 95.0, too far north")  # type: ignore[attr-defined]
        click_and_load(d, "#upload button[type=submit]")
        assert "Not saved: the pasted text: line 2: declination" in d.find_element(By.ID, "upload-error").text  # type: ignore[attr-defined]
        screenshot(d, "8-watchlist-bad-file")
        d.find_element(By.ID, "text").clear()  # type: ignore[attr-defined]
        d.find_element(By.ID, "file").send_keys(str(listing))  # type: ignore[attr-defined]
        click_and_load(d, "#upload button[type=submit]")
        saved = d.find_element(By.CSS_SELECTOR, "p.saved").text  # type: ignore[attr-defined]
        wl_id = int(re.search(r"Watchlist (\d+) saved with 3 sources", saved).group(1))  # type: ignore[union-attr]
        row = d.find_element(By.CSS_SELECTOR, f"#mine tr[data-id='{wl_id}']").text  # type: ignore[attr-defined]
        assert "Replayed sources" in row and f"watchlist_hits.wl_id = {wl_id}" in row
        screenshot(d, "9-watchlists")
        worker.wait_ready()  # its web server answers from then on
        until(lambda: wl_id in worker.get("/watchlists-index")[1]["watchlists"], what="the worker matches against the watchlist")

        click_and_load(d, "nav a[href='/filters/new']")
        assert f"watchlist_hits.wl_id = {wl_id}" in d.find_element(By.ID, "references").text  # type: ignore[attr-defined]
        d.find_element(By.CSS_SELECTOR, "details.parts summary").click()  # type: ignore[attr-defined]
        d.find_element(By.ID, "selected").send_keys("objects.diaObjectId, watchlist_hits.name, watchlist_hits.arcsec")  # type: ignore[attr-defined]
        d.find_element(By.ID, "tables").send_keys(f"objects, watchlist:{wl_id}")  # type: ignore[attr-defined]
        click_and_load(d, "button[value=check]")
        assert f"watchlist_hits.wl_id={wl_id}" in d.find_element(By.ID, "sql").get_attribute("value").replace(" ", "")  # type: ignore[attr-defined]
        assert "Compiles" in d.find_element(By.ID, "check").text  # type: ignore[attr-defined]
        d.find_element(By.ID, "name").send_keys("Near my sources")  # type: ignore[attr-defined]
        Select(d.find_element(By.ID, "streaming")).select_by_value("lite")  # type: ignore[attr-defined]
        screenshot(d, "10-three-part-form")
        click_and_load(d, "button[value=save]")
        filter_url = d.current_url.split("?")[0]  # type: ignore[attr-defined]
        filter_id = filter_url.rsplit("/", 1)[1]
        assert "0 there now" in d.find_element(By.CSS_SELECTOR, "p.saved").text  # type: ignore[attr-defined]  # nothing replayed yet

        until(lambda: worker_has(worker, filter_id, alice_token), what="the worker has the new filter")
        worker.wait_caught_up(settings.alert_topic, asyncio.run(produce(kafka, settings.alert_topic, alerts, progress=False)))

        def shows_replayed() -> bool:
            d.get(filter_url)  # type: ignore[attr-defined]
            return hourly_total(d) == matching
        until(shows_replayed, timeout=30, what=f"{matching} records of alerts near the watchlist's sources on the filter page")
        records = d.find_element(By.CSS_SELECTOR, "table.records").text  # type: ignore[attr-defined]
        assert "src-0" in records and str(chosen[0]["diaObjectId"]) in records
        screenshot(d, "11-watchlist-filter-page")

        d.get(web.url + "/watchlists")  # type: ignore[attr-defined]
        click_and_load(d, f"#mine tr[data-id='{wl_id}'] button.danger")
        assert f"Watchlist {wl_id} deleted" in d.find_element(By.CSS_SELECTOR, "p.saved").text  # type: ignore[attr-defined]
        assert not d.find_elements(By.CSS_SELECTOR, f"tr[data-id='{wl_id}']")  # type: ignore[attr-defined]
        screenshot(d, "12-watchlist-deleted")
        until(lambda: wl_id not in worker.get("/watchlists-index")[1]["watchlists"], what="the worker dropped the watchlist")

        click_and_load(d, "nav a[href='/areas']")
        d.find_element(By.ID, "name").send_keys("A patch of sky")  # type: ignore[attr-defined]
        d.find_element(By.ID, "text").send_keys("6/100-140")  # type: ignore[attr-defined]
        click_and_load(d, "#upload button[type=submit]")
        assert re.search(r"Area \d+ saved", d.find_element(By.CSS_SELECTOR, "p.saved").text)  # type: ignore[attr-defined]
        screenshot(d, "13-areas")
    finally:
        assert web.stop() == 0, (tmp_path / "web.log").read_text()[-3000:]
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]
