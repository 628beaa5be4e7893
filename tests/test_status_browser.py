"""The status pages in real headless Chromium (Debian's chromium and chromium-driver):
log in, see the incident first, follow a check, acknowledge, add and expire a silence; a
forged cross-site form is refused. Screenshots of each page go to tests/artifacts/."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.statuspage import TOKEN, Running, status_daemon
from tests.support.web import serve

ARTIFACTS = Path(__file__).parent / "artifacts"
DRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--window-size=1280,1000")

def browser(profile: Path) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def shot(driver: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min(max(int(height), 600), 4000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def drive(run: Running, attacker: str, profile: Path) -> None:
    driver = browser(profile)
    wait = WebDriverWait(driver, 10)
    try:
        driver.get(f"{run.base}/")
        wait.until(ec.url_contains("/login"))
        shot(driver, "login")
        driver.find_element(By.NAME, "user").send_keys("alice")
        driver.find_element(By.NAME, "token").send_keys(TOKEN)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".card.incident")))

        (cookie,) = [c for c in driver.get_cookies() if c["name"] == "monitord_session"]
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert "expiry" in cookie
        assert driver.execute_script("return document.cookie") == ""  # HttpOnly: not for JS

        # The incident comes first, above every service group.
        first_card = driver.find_element(By.CSS_SELECTOR, "main .card.incident")
        first_group = driver.find_elements(By.CSS_SELECTOR, "main h2")[2]
        assert first_card.location["y"] < first_group.location["y"]
        assert "shop-api" in first_card.text
        # The script put the viewer's local time in the tooltip.
        since = first_card.find_element(By.CSS_SELECTOR, "time")
        assert "UTC" not in (since.get_attribute("title") or "UTC")
        shot(driver, "overview")

        driver.set_window_size(390, 844)  # a phone
        shot(driver, "overview-phone")
        driver.set_window_size(1280, 1000)

        first_card.find_element(By.CSS_SELECTOR, "a.check").click()
        wait.until(ec.url_contains("/check/shop-api"))
        form = driver.find_element(By.CSS_SELECTOR, "form.ack")
        form.find_element(By.NAME, "comment").send_keys("looking into it")
        form.find_element(By.CSS_SELECTOR, "button").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "p.acked")))
        assert "alice" in driver.find_element(By.CSS_SELECTOR, "p.acked").text
        assert "acknowledged by alice — looking into it" in driver.find_element(
            By.CSS_SELECTOR, ".timeline").text

        silence = driver.find_element(By.CSS_SELECTOR, "form.add-silence")
        silence.find_element(By.NAME, "comment").send_keys("deploying a fix")
        silence.find_element(By.CSS_SELECTOR, "button").click()
        wait.until(ec.url_contains("/check/shop-api"))

        def failed_evidence(d: WebDriver) -> list[str]:
            # Texts, read at once: the page's own refresh may replace the elements any time.
            try:
                found = [e.text for e in d.find_elements(
                    By.CSS_SELECTOR, ".card.incident ul.evidence li.failed")]
            except StaleElementReferenceException:
                return []
            if not found:  # gathered in the seconds after confirmation: look again
                d.refresh()
            return found

        texts = wait.until(failed_evidence)
        assert any("FAILED connect 127.0.0.1:" in t and "refused" in t for t in texts)
        shot(driver, "check")

        driver.get(f"{run.base}/")
        item = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.silence")))
        assert "check=shop-api" in item.text
        assert "deploying a fix" in item.text
        shot(driver, "overview-silenced")
        item.find_element(By.CSS_SELECTOR, "button").click()
        wait.until(ec.staleness_of(item))
        assert not driver.find_elements(By.CSS_SELECTOR, "li.silence")

        # A page on another origin posts a form to monitord: the browser may send the
        # cookie (same site: same host, another port), never the CSRF token → 403.
        driver.get(attacker)
        wait.until(ec.presence_of_element_located((By.TAG_NAME, "body")))
        wait.until(lambda d: "403" in d.find_element(By.TAG_NAME, "body").text)

        driver.get(f"{run.base}/public")
        shot(driver, "public")
    finally:
        driver.quit()


async def test_browser_login_incident_ack_silence(tmp_path: Path) -> None:
    async with status_daemon(tmp_path, "public_status = true") as run:
        evil = web.Application()

        async def page(request: web.Request) -> web.Response:
            return web.Response(content_type="text/html", text=(
                f'<form id="f" method="post" action="{run.base}/ui/silences">'
                '<input name="scope" value="service"><input name="value" value="shop">'
                '<input name="duration" value="3d"><input name="comment" value="pwned">'
                "</form><script>document.getElementById('f').submit()</script>"))

        evil.router.add_get("/", page)
        async with serve(evil) as attacker:
            await asyncio.to_thread(drive, run, attacker, tmp_path / "chrome")
        assert run.daemon.alerting is not None
        now = run.daemon.clock.now()
        assert not [s for s in run.daemon.alerting.silences(now) if s.comment == "pwned"]
        (incident,) = run.daemon.alerting.incidents()
        assert incident.acknowledged_by == "alice"
