"""The gateway console and the emulator inbox in a real browser (Debian's chromium, headless).

Starts `purview-gateway serve` on its embedded default (gateway + emulator, fresh SQLite files), signs
in to /console with the development key, submits a request through the API, approves it in the
emulator inbox as Ada, and watches the console show it completed / approved. The request's term name
is markup (`<img src=x onerror=alert(1)>`): it must show as text and run nothing. Screenshots go to
$CONSOLE_SCREENSHOTS (default .build/console-screenshots).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / ".build" / "console-screenshots"))
ADMIN_TOKEN = "emulator-admin-token"
ADA = "ada00000-0000-4000-8000-0000000000a2"
GLOSSARY = "20031e20-b4df-4a66-a61d-1b0716f3fa48"
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_COMMENT = "<b>bold</b> & <script>alert(2)</script>"
WAIT = 30


@pytest.fixture(scope="module")
def gateway():
    binary = os.environ.get("PURVIEW_GATEWAY_BIN", str(ROOT / ".build" / "debug" / "purview-gateway"))
    workdir = tempfile.mkdtemp(prefix="console-test-")
    env = dict(os.environ, GATEWAY_POLL_INTERVAL_SECONDS="1", LOG_LEVEL="warning")
    env.pop("PURVIEW_ENDPOINT", None)
    env.pop("GATEWAY_API_KEYS_FILE", None)
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--database-url", f"sqlite://{workdir}/gateway.db"],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    banner = ""
    deadline = time.monotonic() + WAIT
    try:
        while "Inbox" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner += line
        gateway_url = re.search(r"Gateway API\s+(http://\S+)", banner)
        key = re.search(r"API key\s+(dev-[0-9a-f]+)", banner)
        console_url = re.search(r"Console\s+(http://\S+/console)", banner)
        inbox_url = re.search(r"Inbox\s+(http://\S+/_emulator/ui)", banner)
        assert gateway_url and key and console_url and inbox_url, f"banner lacks a URL or the key:\n{banner}"
        yield {
            "url": gateway_url.group(1), "key": key.group(1), "console": console_url.group(1),
            "inbox": inbox_url.group(1),
        }
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    # Counts alert() calls in every page before its own scripts run; a real dialog would show too.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"})
    driver.set_page_load_timeout(WAIT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def api(gateway, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(gateway["url"] + path, data=data, method=method, headers={
        "X-API-Key": gateway["key"], "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        return response.status, json.loads(response.read() or b"null"), response.headers


def wait(driver, condition, message, timeout=WAIT):
    # Auto-refresh replaces elements: a stale one is looked up again on the next poll.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=ignored).until(
        lambda d: condition(d), message)


def screenshot(driver, name):
    """The whole page, not just the window: the window grows to the page's height for the picture."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(max(height + 140, size["height"]), 5000))
    driver.save_screenshot(str(SCREENSHOTS / name))
    driver.set_window_size(size["width"], size["height"])


def assert_nothing_ran(driver):
    assert driver.execute_script("return window.__alerts") == []
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text


def unlabelled_fields(driver):
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('input, select, textarea'))
          .filter(function (f) { return f.labels === null || f.labels.length === 0; })
          .map(function (f) { return f.id || f.name || f.outerHTML; });""")


def sign_in_console(driver, gateway):
    driver.get(gateway["console"])
    field = wait(driver, lambda d: d.find_element(By.ID, "api-key"), "no API key field")
    field.send_keys(gateway["key"])
    driver.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.ID, "list-view").is_displayed(), "the request list did not show")


def test_console_pages_carry_strict_headers(gateway):
    for path in ("/console", "/console/console.js", "/console/console.css", "/console/requests/x"):
        with urllib.request.urlopen(gateway["url"] + path, timeout=WAIT) as response:
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert response.headers.get("Set-Cookie") is None


def test_wrong_key_is_refused_in_the_page(browser, gateway):
    browser.get(gateway["console"])
    browser.execute_script("sessionStorage.clear()")
    browser.get(gateway["console"])
    field = wait(browser, lambda d: d.find_element(By.ID, "api-key"), "no API key field")
    field.send_keys("not-a-key")
    browser.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    wait(browser, lambda d: "refused" in d.find_element(By.ID, "sign-in-error").text, "no refusal shown")
    assert not browser.find_element(By.ID, "app").is_displayed()
    assert browser.get_cookies() == []
    assert unlabelled_fields(browser) == []


def test_submit_approve_in_inbox_and_watch_it_complete(browser, gateway):
    sign_in_console(browser, gateway)
    # Focus lands on the page's heading, for keyboard and screen-reader users.
    assert browser.switch_to.active_element.get_attribute("id") == "list-title"
    assert browser.execute_script("return sessionStorage.getItem('purview-gateway.apiKey')") == gateway["key"]
    assert browser.get_cookies() == []
    assert unlabelled_fields(browser) == []
    # The development key has requests:admin: the operator panel shows.
    wait(browser, lambda d: d.find_element(By.ID, "operator").is_displayed(), "no operator panel")
    assert "Forward queue depth" in browser.find_element(By.ID, "operator-body").text

    status, submitted, _ = api(gateway, "POST", "/v1/requests/term-creation", {
        "glossaryId": GLOSSARY, "name": HOSTILE, "definition": "Markup as a name.",
        "requestedBy": "you@contoso.com", "comment": HOSTILE_COMMENT})
    assert status in (201, 202)
    request_id = submitted["id"]

    row_selector = f'tr[data-request-id="{request_id}"]'
    # Hold on to rows without auto-refresh replacing them; Apply loads the list.
    browser.find_element(By.ID, "list-auto-refresh").click()
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    row = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, row_selector), "the request is not listed")
    assert row.find_element(By.CSS_SELECTOR, "a.subject").text == HOSTILE
    assert browser.find_elements(By.CSS_SELECTOR, "#requests img, #requests b, #requests script") == []
    assert row.find_element(By.CSS_SELECTOR, "[data-status]").text in ("submitted", "in_progress", "queued")
    # The filters reach the API: a status that does not match hides the row.
    Select(browser.find_element(By.ID, "filter-status")).select_by_visible_text("completed")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, row_selector), "the status filter did not apply")
    Select(browser.find_element(By.ID, "filter-status")).select_by_visible_text("any")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row_selector), "the row did not come back")
    screenshot(browser, "console-requests.png")
    assert_nothing_ran(browser)

    # The emulator inbox: sign in with the admin token, act as Ada, approve.
    browser.get(gateway["inbox"])
    wait(browser, lambda d: d.find_element(By.ID, "admin-token"), "no admin token field").send_keys(ADMIN_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    wait(browser, lambda d: d.find_element(By.ID, "inbox").is_displayed(), "the inbox did not open")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#principal option")) == 3, "no principals")
    browser.find_element(By.ID, "auto-refresh").click()
    Select(browser.find_element(By.ID, "principal")).select_by_value(ADA)
    card = wait(browser, lambda d: next((c for c in d.find_elements(By.CSS_SELECTOR, "#tasks article")
                                         if HOSTILE in c.text), None), "Ada has no task for the request")
    assert unlabelled_fields(browser) == []
    assert browser.find_elements(By.CSS_SELECTOR, "#tasks img, #runs img") == []
    runs_text = browser.find_element(By.ID, "runs").text
    assert HOSTILE in runs_text and "Approval by Ada" in runs_text
    screenshot(browser, "emulator-inbox-pending.png")
    card.find_element(By.TAG_NAME, "textarea").send_keys("Fine by me <i>really</i>")
    card.find_element(By.CSS_SELECTOR, "button.approve").click()
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "Approved.", "the approval was not confirmed")
    wait(browser, lambda d: any(HOSTILE in c.text and "Approved" in c.text and not c.find_elements(By.TAG_NAME, "button")
                                for c in d.find_elements(By.CSS_SELECTOR, "#tasks article")),
         "the task does not show as approved")
    wait(browser, lambda d: "Create glossary term" in d.find_element(By.ID, "effects").text
         or "CreateTerm" in d.find_element(By.ID, "effects").text, "no CreateTerm effect recorded")
    assert browser.find_elements(By.CSS_SELECTOR, "#tasks i, #effects img") == []
    screenshot(browser, "emulator-inbox.png")
    assert_nothing_ran(browser)

    # Back in the console (same tab, so the key is still in session storage): it completes.
    browser.get(gateway["url"] + f"/console/requests/{request_id}")
    wait(browser, lambda d: d.find_element(By.ID, "request-view").is_displayed(), "no request page")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#request-summary [data-status="completed"]')
         and d.find_elements(By.CSS_SELECTOR, '#request-summary [data-outcome="approved"]'),
         "the request did not turn completed / approved", timeout=45)
    assert browser.find_element(By.ID, "request-title").text == HOSTILE
    summary = browser.find_element(By.ID, "request-summary").text
    assert HOSTILE_COMMENT in summary
    timeline = browser.find_element(By.ID, "request-timeline").text
    assert "queued" in timeline and "completed" in timeline
    assert browser.find_elements(By.CSS_SELECTOR, "#request-view img, #request-view b, #request-view script") == []
    screenshot(browser, "console-request.png")

    browser.get(gateway["console"])
    row = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, row_selector), "the request left the list")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"{row_selector} [data-status]").text == "completed",
         "the list does not show completed")
    assert browser.find_element(By.CSS_SELECTOR, f"{row_selector} [data-outcome]").text == "approved"
    # Phone width: the same page, still usable.
    browser.set_window_size(390, 844)
    browser.get(gateway["console"])
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row_selector), "no list at phone width")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways at phone width ({width}px)"
    screenshot(browser, "console-requests-phone.png")
    browser.set_window_size(1280, 1000)
    assert_nothing_ran(browser)


def test_inbox_data_routes_need_the_admin_token(gateway):
    base = gateway["inbox"].rsplit("/_emulator/ui", 1)[0]
    for path in ("/_emulator/principals", "/_emulator/runs", f"/_emulator/as/{ADA}/workflowtasks"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path, timeout=WAIT)
        assert refused.value.code == 401
    with urllib.request.urlopen(gateway["inbox"], timeout=WAIT) as page:
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert ADMIN_TOKEN not in page.read().decode()


def open_inbox(driver, gateway, principal):
    driver.get(gateway["inbox"])
    wait(driver, lambda d: d.find_element(By.ID, "sign-in").is_displayed() or d.find_element(By.ID, "inbox").is_displayed(),
         "the inbox page did not load")
    if driver.find_element(By.ID, "sign-in").is_displayed():
        driver.find_element(By.ID, "admin-token").send_keys(ADMIN_TOKEN)
        driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#principal option")) == 3, "no principals")
    if driver.find_element(By.ID, "auto-refresh").is_selected():
        driver.find_element(By.ID, "auto-refresh").click()
    Select(driver.find_element(By.ID, "principal")).select_by_value(principal)


def task_card(driver, marker):
    return wait(driver, lambda d: next((c for c in d.find_elements(By.CSS_SELECTOR, "#tasks article")
                                        if marker in c.text and c.find_elements(By.TAG_NAME, "button")), None),
                f"no open task for {marker}")


def test_reassign_then_reject_with_the_keyboard(browser, gateway):
    ADMIN = "ad000000-0000-4000-8000-0000000000a3"
    name = "Churn <script>alert(3)</script>"
    status, submitted, _ = api(gateway, "POST", "/v1/requests/term-creation", {
        "glossaryId": GLOSSARY, "name": name, "definition": "Customers lost.", "requestedBy": "rita@contoso.com"})
    assert status in (201, 202)
    request_id = submitted["id"]

    # Ada hands the task to Admin, using the keyboard only.
    open_inbox(browser, gateway, ADA)
    card = task_card(browser, name)
    Select(card.find_element(By.TAG_NAME, "select")).select_by_visible_text("Admin")
    reassign = next(b for b in card.find_elements(By.TAG_NAME, "button") if b.text == "Reassign")
    browser.execute_script("arguments[0].focus()", reassign)
    assert browser.switch_to.active_element == reassign
    reassign.send_keys(Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "Reassigned.", "the reassignment was not confirmed")
    wait(browser, lambda d: not any(name in c.text and c.find_elements(By.TAG_NAME, "button")
                                    for c in d.find_elements(By.CSS_SELECTOR, "#tasks article")),
         "Ada still has the task")

    # Admin rejects it with a comment.
    Select(browser.find_element(By.ID, "principal")).select_by_value(ADMIN)
    card = task_card(browser, name)
    card.find_element(By.TAG_NAME, "textarea").send_keys("Not now")
    card.find_element(By.CSS_SELECTOR, "button.reject").send_keys(Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "Rejected.", "the rejection was not confirmed")
    # The demo workflow emails the requestor on a rejection.
    wait(browser, lambda d: "rejected" in d.find_element(By.ID, "emails").text, "no rejection email shown")
    assert browser.find_elements(By.CSS_SELECTOR, "#tasks script, #runs script, #emails script") == []
    browser.set_window_size(390, 844)
    wait(browser, lambda d: d.execute_script("return document.documentElement.scrollWidth") <= 400,
         "the inbox scrolls sideways at phone width")
    screenshot(browser, "emulator-inbox-phone.png")
    browser.set_window_size(1280, 1000)

    browser.get(gateway["url"] + f"/console/requests/{request_id}")
    wait(browser, lambda d: d.find_element(By.ID, "request-view").is_displayed(), "no request page")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#request-summary [data-outcome="rejected"]'),
         "the request did not turn rejected", timeout=45)
    assert browser.find_element(By.ID, "request-title").text == name
    assert_nothing_ran(browser)
