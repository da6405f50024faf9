"""The pages in a real headless Chromium (Debian's chromium + chromedriver, driven by selenium):
sign in, a typo shown at its column as it is typed, fixed, run, saved as Kafka lite; records and
light curves after a replay through a real worker process; another user cannot see the filter.

Screenshots of each page go to ALERTFLOW_SCREENSHOT_DIR when it is set. Without chromium the test
is skipped, except in CI (CI=true), where that is a failure: CI installs it (.ci/run).
"""
from __future__ import annotations

import asyncio
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
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    page = driver.find_element(By.TAG_NAME, "html")  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, css).click()  # type: ignore[attr-defined]
    until(lambda: expected_conditions.staleness_of(page)(driver), what=f"the page after clicking {css}")


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
