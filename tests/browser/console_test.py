#!/usr/bin/python3
"""console_test.py - the web console (issue 11) in headless Chromium.

Run by scripts/browser-test.sh, which prepares the database, starts
`optiinfra serve` and passes what the test needs in the environment:

    OI_BROWSER_URL            the server, http://127.0.0.1:PORT
    OI_BROWSER_TOKEN          an admin token (environment, not argv: ps shows argv)
    OI_BROWSER_CLI            the optiinfra binary (OPTIINFRA_DATABASE_URL names the database)
    OI_BROWSER_SERVER_LOG     the server's access log, searched for the token
    OI_BROWSER_HOSTILE_NAME   the name of an agent registered to look like HTML
    OI_BROWSER_METRICS_AGENT  the seeded agent with a day of imported metrics
    OI_BROWSER_STALE_AGENT    the seeded agent whose heartbeat was set 2 hours back
    OI_BROWSER_SECRET_KEY     a sensitive config of the metrics agent
    OI_BROWSER_SECRET         its value

and the screenshot directory as its argument.

Design choices:
- The token and the secret are never printed, not even by a failing
  assertion: the checks that compare them say what is wrong in words
  (assertTrue/assertFalse, not assertEqual/assertIn, whose messages show both
  values).
- One browser for the whole run, and the cases run in the order of their
  numbers: they follow an operator's visit (token, fleet, heartbeat, agent,
  locks, recommendations, phone), each starting where the previous one left
  the page.  Starting Chromium per case would triple the run time.
- Never a fixed sleep: every wait is on a condition of the page (the hooks
  of docs/console.md's "The DOM contract", notably `body[data-ready]`), with a
  timeout whose message names what was awaited and the page's own error, if
  it showed one.
- What the page shows is compared with the API's answer (GET /v1/...) and the
  database (the CLI), not with values written in this file, so the test
  stays right when the seed changes.
- The browser's console and network logs are collected as the run goes
  (chromedriver drains them when read) and checked at the end: a CSP
  violation, a JavaScript error or a failed request fails the run, so an
  escaping mistake that the DOM checks miss still shows.
"""

import json
import os
import struct
import subprocess
import sys
import time
import unittest
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["OI_BROWSER_URL"]
TOKEN = os.environ["OI_BROWSER_TOKEN"]
CLI = os.environ["OI_BROWSER_CLI"]
SERVER_LOG = os.environ["OI_BROWSER_SERVER_LOG"]
HOSTILE_NAME = os.environ["OI_BROWSER_HOSTILE_NAME"]
METRICS_AGENT = os.environ["OI_BROWSER_METRICS_AGENT"]
STALE_AGENT = os.environ["OI_BROWSER_STALE_AGENT"]
SECRET_KEY = os.environ["OI_BROWSER_SECRET_KEY"]
SECRET = os.environ["OI_BROWSER_SECRET"]
SEEDED_AGENTS = ["Cost Optimizer", "Performance Tuner", "Resource Allocator",
                 "Application Monitor"]
IMPORTED_METRIC = "gpu_spend_usd"
DESKTOP = (1280, 800)
PHONE = (390, 844)
WAIT = 15  # seconds for a page to load and draw (2 shared CPUs); the heartbeat has its own 5 s
SHOTS = sys.argv[1] if len(sys.argv) > 1 else "screenshots"


def api(method, path, body=None):
    """The server's JSON answer to one request made with the admin token."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method, headers={
        "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def api_agents():
    return {agent["id"]: agent for agent in api("GET", "/v1/agents")["agents"]}


def agent_id(name):
    return next(a["id"] for a in api_agents().values() if a["name"] == name)


# Every card's fields in one round trip (a WebDriver call per field would be
# dozens per poll).
CARDS_JS = """
return Array.from(document.querySelectorAll('article.agent-card')).map(card => {
    const field = name => {
        const element = card.querySelector('[data-field="' + name + '"]');
        return element ? element.textContent.trim() : null;
    };
    const age = card.querySelector('[data-field="heartbeat-age"]');
    return {id: card.dataset.agentId, name: field('name'), type: field('type'),
            health: field('health'), age: field('heartbeat-age'),
            age_title: age ? age.getAttribute('title') : null,
            images: card.querySelectorAll('img').length,
            link: card.querySelector('a[data-agent-link="' + card.dataset.agentId + '"]') !== null};
});
"""

# The canvas's pixels that are not fully transparent, read from a copy on a
# canvas made for reading: getImageData on the chart's own (GPU) canvas, polled,
# makes Chrome log a willReadFrequently warning, which test_11 would count.
PAINTED_JS = """
const canvas = document.querySelector(arguments[0]);
if (!canvas) return null;
const copy = document.createElement('canvas');
copy.width = canvas.width;
copy.height = canvas.height;
const context = copy.getContext('2d', {willReadFrequently: true});
context.drawImage(canvas, 0, 0);
const pixels = context.getImageData(0, 0, copy.width, copy.height).data;
let painted = 0;
for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
return {points: canvas.dataset.points, painted: painted, width: canvas.width, height: canvas.height};
"""


def png_size(path):
    """A PNG's width and height, from its IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


class Console(unittest.TestCase):
    """The console as an operator uses it, case by case in order."""

    driver = None
    logs = []           # browser console entries seen so far
    requests = []       # every URL the browser requested
    urls = []           # the address bar after each page load
    screenshots = {}    # name -> expected (width, height)
    signed_in = False   # test_01 passed: the others need it, but these
    WITHOUT_SIGN_IN = ("test_01_token_prompt_keeps_token_in_session_storage",
                       "test_11_csp_header_and_no_console_error",
                       "test_12_token_never_in_a_url_or_the_server_log")

    @classmethod
    def setUpClass(cls):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox",
                         "--window-size=%d,%d" % DESKTOP, "--disable-dev-shm-usage"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        cls.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        cls.driver.set_page_load_timeout(WAIT)
        cls.emulate(DESKTOP, mobile=False)
        os.makedirs(SHOTS, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.quit()

    @classmethod
    def quit(cls):
        if cls.driver:
            cls.driver.quit()
            cls.driver = None

    def setUp(self):
        # Without a signed-in console every page case would wait out its
        # timeouts only to say the same thing.
        if not self.signed_in and self._testMethodName not in self.WITHOUT_SIGN_IN:
            self.fail("not tried: the console could not be signed in (see test_01)")

    # ---- helpers -------------------------------------------------------

    def wait_for(self, what, condition, seconds=WAIT):
        """condition(driver)'s first truthy value; else fail naming `what`
        (a text, or a function giving it, called then: the last state seen)."""
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.1).until(condition)
        except TimeoutException:
            shown = self.driver.execute_script("return document.body.dataset.error || ''")
            self.fail(f"waited {seconds} s for {what() if callable(what) else what}"
                      + (f" (the page's last error: {shown})" if shown else ""))

    def wait_ready(self, page):
        """Wait until the console says `page` is loaded and drawn."""
        self.wait_for(f"the {page} page to be ready (body[data-ready=\"{page}\"])",
                      lambda d: d.find_elements(By.CSS_SELECTOR, f'body[data-ready="{page}"]'))
        self.urls.append(self.driver.current_url)
        self.collect_logs()
        # Every page shows the hostile agent's name somewhere (card, lock holder, ...).
        self.assertEqual(self.driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length"),
                         0, f"an <img src=x> is in the {page} page: the hostile name was inserted as HTML")

    def click(self, selector):
        self.wait_for(f"an element {selector} to click",
                      lambda d: d.find_elements(By.CSS_SELECTOR, selector))[0].click()

    def cards(self):
        return {card["id"]: card for card in self.driver.execute_script(CARDS_JS)}

    def screenshot(self, name, size=DESKTOP):
        self.driver.save_screenshot(os.path.join(SHOTS, name + ".png"))
        Console.screenshots[name] = size

    @classmethod
    def emulate(cls, size, mobile):
        """A viewport of exactly `size`: --window-size sizes the window, whose
        frame takes 143 px of the height even headless."""
        cls.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile})

    @classmethod
    def collect_logs(cls):
        cls.logs += cls.driver.get_log("browser")
        for entry in cls.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                cls.requests.append(message["params"]["request"]["url"])

    # ---- the cases -------------------------------------------------------

    def test_01_token_prompt_keeps_token_in_session_storage(self):
        self.driver.get(BASE + "/")
        self.wait_for("the token prompt (form#token-form) on a first visit",
                      lambda d: d.find_element(By.ID, "token-form").is_displayed())
        field = self.driver.find_element(By.ID, "token-input")
        self.assertEqual(field.get_attribute("type"), "password",
                         "the token field should be a password field (not shown on screen)")
        field.send_keys(TOKEN)
        submitted = time.time() * 1000  # the browser's log times: milliseconds, same clock
        self.driver.find_element(By.ID, "token-submit").click()
        self.wait_ready("fleet")
        # The prompt comes from the API's 401s: expected, but only before the token.
        Console.logs = [e for e in self.logs if not (e.get("source") == "network" and "401" in e["message"]
                                                     and e["timestamp"] < submitted)]
        stored = self.driver.execute_script("return sessionStorage.getItem('optiinfra.token')")
        self.assertTrue(stored == TOKEN, "sessionStorage['optiinfra.token'] should hold the token entered")
        local = self.driver.execute_script(
            "return Object.keys(localStorage).map(k => localStorage.getItem(k)).join(' ')")
        self.assertFalse(TOKEN in local, "the token must not be kept in localStorage (it outlives the session)")
        self.assertFalse(TOKEN in self.driver.current_url, "the token must never be in the URL")
        Console.signed_in = True

    def test_02_fleet_shows_every_agent_with_its_health(self):
        self.wait_ready("fleet")
        # Health moves with time (a beat ages): compare with a fresh API answer each poll.
        differences = []
        def matches(_):
            want, got = api_agents(), self.cards()
            differences[:] = [f"{a['name']!r}: API {a['type']} {a['health']}, page "
                              + (f"{got[i]['name']!r} {got[i]['type']} {got[i]['health']}"
                                 if i in got else "no card")
                              for i, a in want.items()
                              if i not in got or (got[i]["name"], got[i]["type"], got[i]["health"])
                              != (a["name"], a["type"], a["health"])]
            differences.extend(f"card {i} for no agent of the API" for i in got.keys() - want.keys())
            return not differences
        self.wait_for(lambda: "the cards to match GET /v1/agents; " + "; ".join(differences), matches)
        names = {card["name"] for card in self.cards().values()}
        for name in SEEDED_AGENTS:
            self.assertIn(name, names, f"seeded agent {name!r} has no card")
        health = {card["name"]: card["health"] for card in self.cards().values()}
        self.assertEqual(health[STALE_AGENT], "stale", f"{STALE_AGENT} (beat 2 h ago) should be stale")
        self.assertEqual(health[HOSTILE_NAME], "never seen", "an agent without a beat should be 'never seen'")
        agents = api_agents()
        for card in self.cards().values():
            self.assertTrue(card["link"], f"the card of {card['name']!r} has no a[data-agent-link]")
            beat = agents[card["id"]]["last_heartbeat"]
            if beat:  # the UTC time on hover, to the second
                self.assertIn(beat[:19].replace("T", " "), (card["age_title"] or "").replace("T", " "),
                              f"the heartbeat age of {card['name']!r} should have its UTC time as title")
        self.screenshot("fleet")

    def test_03_fleet_filters_by_health_and_type(self):
        self.wait_ready("fleet")
        agents = api_agents().values()
        for select, field, value in (("filter-health", "health", "stale"), ("filter-type", "type", "batch")):
            options = f'select#{select} option[value="{value}"]'
            self.wait_for(lambda: f"{options} (offered: "
                          + ", ".join(repr(o.get_attribute("value")) for o in
                                      self.driver.find_elements(By.CSS_SELECTOR, f"select#{select} option")) + ")",
                          lambda d: d.find_elements(By.CSS_SELECTOR, options))
            Select(self.driver.find_element(By.ID, select)).select_by_value(value)
            want = {a["id"] for a in agents if a[field] == value}
            self.wait_for(lambda: f"select#{select} = {value!r} to show only the {len(want)} such agents "
                          f"(shown: {sorted(c['name'] for c in self.cards().values())})",
                          lambda _: self.cards().keys() == want)
            Select(self.driver.find_element(By.ID, select)).select_by_value("")
            self.wait_for(f"select#{select} = '' to show every agent again",
                          lambda _: len(self.cards()) == len(agents))

    def test_04_heartbeat_through_the_api_updates_the_card(self):
        self.wait_ready("fleet")
        stale = agent_id(STALE_AGENT)
        before = self.cards()[stale]
        self.assertEqual(before["health"], "stale", f"{STALE_AGENT} should be stale before its beat")
        api("POST", f"/v1/agents/{stale}/heartbeat", {})
        self.wait_for(f"{STALE_AGENT}'s card to turn healthy within 5 s of a heartbeat "
                      f"(it shows {before['health']}, {before['age']})",
                      lambda _: self.cards()[stale]["health"] == "healthy", seconds=5)
        after = self.cards()[stale]
        self.assertNotEqual(after["age"], before["age"], "the heartbeat age should change with the beat")

    def test_05_hostile_agent_name_is_text(self):
        self.wait_ready("fleet")
        hostile = agent_id(HOSTILE_NAME)
        card = self.cards()[hostile]
        self.assertEqual(card["name"], HOSTILE_NAME, "the name should be shown as the text it is")
        self.assertEqual(card["images"], 0, "the name became an <img> element: it was inserted as HTML")
        with self.assertRaises(NoAlertPresentException, msg="an alert opened: the onerror handler ran"):
            self.driver.switch_to.alert.text
        self.click(f'a[data-agent-link="{hostile}"]')
        self.wait_ready("agent")  # which finds no <img src=x> either
        page = self.driver.find_element(By.CSS_SELECTOR, f'section#agent-page[data-agent-id="{hostile}"]')
        self.assertIn(HOSTILE_NAME, page.text, "the agent page should show the name as text")
        self.driver.back()
        self.wait_ready("fleet")

    def test_06_agent_page_draws_imported_metrics(self):
        agent = agent_id(METRICS_AGENT)
        self.click(f'a[data-agent-link="{agent}"]')
        self.wait_ready("agent")
        self.wait_for(f"section#agent-page[data-agent-id=\"{agent}\"]",
                      lambda d: d.find_elements(By.CSS_SELECTOR, f'section#agent-page[data-agent-id="{agent}"]'))
        # The import spans the last day: ask for that range whatever the default.
        Select(self.driver.find_element(By.ID, "chart-range")).select_by_value("24h")
        canvas = f'canvas.metric-chart[data-metric="{IMPORTED_METRIC}"]'
        drawn = {}
        def painted(d):
            drawn.update(d.execute_script(PAINTED_JS, canvas) or {})
            return drawn and int(drawn.get("points") or 0) > 0 and drawn["painted"] > 0
        self.wait_for(lambda: f"{canvas} to have data-points > 0 and non-transparent pixels "
                      f"(last seen: {drawn or 'no such canvas'})", painted)
        self.wait_ready("agent")
        self.driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
                                   canvas)
        self.screenshot("agent")

    def test_07_secret_config_masked_until_an_admin_reveals_it(self):
        self.wait_ready("agent")
        value = f'table#configs [data-config="{SECRET_KEY}"] [data-config-value]'
        cell = self.driver.find_elements(By.CSS_SELECTOR, value)
        self.assertTrue(cell, f"no {value} on the agent page of {METRICS_AGENT}")
        self.assertTrue(cell[0].text == "********", f"the sensitive config {SECRET_KEY} should be masked")
        self.assertFalse(SECRET in self.driver.page_source, "the secret is in the page before it was asked for")
        self.click(f'button[data-reveal="{SECRET_KEY}"]')
        self.wait_for(f"{SECRET_KEY}'s value after button[data-reveal] was clicked",
                      lambda d: d.find_element(By.CSS_SELECTOR, value).text == SECRET)
        self.click(f'button[data-reveal="{SECRET_KEY}"]')
        self.wait_for(f"{SECRET_KEY} masked again after a second click",
                      lambda d: d.find_element(By.CSS_SELECTOR, value).text == "********")

    def test_08_locks_page_lists_and_releases_locks(self):
        self.click('a[data-nav="locks"]')
        self.wait_ready("locks")
        want = {lock["resource"] for lock in api("GET", "/v1/locks")["locks"]}
        got = set(self.driver.execute_script(
            "return Array.from(document.querySelectorAll('table#locks tr[data-resource]'),"
            " row => row.dataset.resource)"))
        self.assertEqual(got, want, "table#locks should have one row per lock of GET /v1/locks")
        self.screenshot("locks")
        resource = sorted(want)[0]
        self.click(f'button[data-release="{resource}"]')
        self.wait_for(f"the row of {resource} to leave table#locks after Release",
                      lambda d: not d.find_elements(By.CSS_SELECTOR, f'tr[data-resource="{resource}"]'))
        left = {lock["resource"] for lock in api("GET", "/v1/locks")["locks"]}
        self.assertEqual(left, want - {resource}, f"the server should have released {resource}, only it")

    def test_09_approving_a_recommendation_moves_it_and_is_stored(self):
        self.click('a[data-nav="recommendations"]')
        self.wait_ready("recommendations")
        pending = self.driver.find_elements(By.CSS_SELECTOR, "#pending-list [data-recommendation-id]")
        self.assertTrue(pending, "#pending-list is empty, but the seed has pending recommendations")
        rec = pending[0].get_attribute("data-recommendation-id")
        comment = "approved in the browser test"
        self.driver.find_element(By.CSS_SELECTOR, f'textarea[data-comment="{rec}"]').send_keys(comment)
        self.driver.find_element(By.CSS_SELECTOR, f'button[data-approve="{rec}"]').click()
        self.wait_for(f"recommendation {rec} to leave #pending-list and appear in #decided-list",
                      lambda d: not d.find_elements(By.CSS_SELECTOR, f'#pending-list [data-recommendation-id="{rec}"]')
                      and d.find_elements(By.CSS_SELECTOR, f'#decided-list [data-recommendation-id="{rec}"]'))
        self.wait_ready("recommendations")
        shown = subprocess.run([CLI, "recommendation", "show", rec, "--json"],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(shown.returncode, 0, f"optiinfra recommendation show {rec}: {shown.stderr}")
        stored = json.loads(shown.stdout)
        self.assertEqual(stored["status"], "approved", "the database should hold the approval")
        self.assertTrue(stored["approvals"], "the database should have an approvals row")
        self.assertEqual((stored["approvals"][-1]["status"], stored["approvals"][-1]["comment"]),
                         ("approved", comment), "the approvals row should carry the comment typed")
        self.screenshot("recommendations")

    def test_10_phone_width_no_horizontal_scroll_and_keyboard_reaches_agents(self):
        self.emulate(PHONE, mobile=True)
        try:
            # A fresh load: the token must survive it (sessionStorage), and Tab
            # starts from the top of the page.
            self.driver.get(BASE + "/#/fleet")
            self.driver.refresh()
            self.wait_ready("fleet")
            width = self.driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            self.assertEqual(width[1], PHONE[0],
                             "innerWidth should be the phone's: does the page have <meta name=viewport>?")
            self.assertLessEqual(width[0], width[1],
                                 f"the fleet page scrolls sideways at {PHONE[0]} px (scrollWidth {width[0]})")
            self.screenshot("fleet-phone", PHONE)
            focused = []
            for _ in range(60):
                ActionChains(self.driver).send_keys(Keys.TAB).perform()
                focused.append(self.driver.execute_script(
                    "const e = document.activeElement;"
                    " return e.getAttribute('data-agent-link') ? 'agent' : e.tagName + '#' + e.id"))
                if focused[-1] == "agent":
                    break
            self.assertEqual(focused[-1], "agent",
                             "Tab never reached an a[data-agent-link]; focus went: " + " ".join(focused))
            ActionChains(self.driver).send_keys(Keys.ENTER).perform()
            self.wait_ready("agent")
        finally:
            self.emulate(DESKTOP, mobile=False)

    def test_11_csp_header_and_no_console_error(self):
        with urllib.request.urlopen(BASE + "/", timeout=10) as answer:
            csp = answer.headers.get("Content-Security-Policy")
        self.assertTrue(csp, "GET / should send a Content-Security-Policy header")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        scripts = directives.get("script-src", directives.get("default-src"))
        self.assertTrue(scripts, f"the CSP should restrict scripts (script-src or default-src): {csp}")
        for loose in ("'unsafe-inline'", "'unsafe-eval'", "*"):
            self.assertNotIn(loose, scripts, f"the CSP allows {loose} scripts: {csp}")
        self.collect_logs()
        bad = [f"{e['level']} {e.get('source', '')}: {e['message']}".replace(TOKEN, "<the token>")
               for e in self.logs
               if e["level"] in ("SEVERE", "WARNING") or "Content Security Policy" in e["message"]]
        self.assertFalse(bad, "the browser logged errors (CSP violations, JavaScript errors, failed requests):\n"
                         + "\n".join(bad))

    def test_12_token_never_in_a_url_or_the_server_log(self):
        self.collect_logs()
        self.assertTrue(self.requests, "no request was recorded (performance log off?)")
        leaked = [url.replace(TOKEN, "<the token>") for url in self.requests + self.urls if TOKEN in url]
        self.assertEqual(leaked, [], "the token was put in a URL")
        with open(SERVER_LOG, encoding="utf-8", errors="replace") as log:
            self.assertFalse(TOKEN in log.read(), "the token is in the server's log")

    def test_13_screenshots_saved(self):
        for page in ("fleet", "agent", "locks", "recommendations", "fleet-phone"):
            path = os.path.join(SHOTS, page + ".png")
            self.assertTrue(page in self.screenshots and os.path.exists(path),
                            f"no screenshot {path} (its page's case failed)")
            self.assertEqual(png_size(path), self.screenshots[page], f"{path}'s size")

    def test_14_forget_token_clears_the_session(self):
        # Last: it signs out, and the 401s that follow are no error.
        self.click("#token-forget")
        self.wait_for("the token prompt (form#token-form) after button#token-forget",
                      lambda d: d.find_element(By.ID, "token-form").is_displayed())
        self.assertIsNone(self.driver.execute_script("return sessionStorage.getItem('optiinfra.token')"),
                          "button#token-forget should remove sessionStorage['optiinfra.token']")


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Console)
    try:
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    finally:  # interrupted too (browser-test.sh's timeout): no browser left behind
        Console.quit()
    failed = len(result.failures) + len(result.errors)
    summary = f"{result.testsRun - failed} passed, {failed} failed"
    print(summary)
    if os.environ.get("OI_TEST_SUMMARY"):
        with open(os.environ["OI_TEST_SUMMARY"], "a") as counts:
            print("browser console: " + summary, file=counts)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
