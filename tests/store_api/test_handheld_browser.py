"""The staff handheld page end to end in real headless Chromium (Selenium).

A staff member signs in with a token; a plain-paho door drops off the network;
its ``device_offline`` alert appears on the page live (SSE); a tap on
Acknowledge acknowledges it in the hub.  In a store with unmanned checkout, staff
correct a bill in the Reviews view and it is charged, a new bill to review shows up
live, and staff name who of several shoppers took a disputed pick.  Selenium blocks,
so every browser step runs in a thread while the event loop keeps serving the hub and
the API.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hub.checkout.sales import load_sale
from hub.unmanned.review import load as load_review
from hub.unmanned.service import UnmannedService
from hub.unmanned.sessions import CartLine
from tests.conftest import Mosquitto, eventually
from tests.paho_device import PahoDevice
from tests.store_api.conftest import (
    CRACKERS,
    SOY,
    TEA,
    UNMANNED_PLUGINS,
    Served,
    make_token,
    pending_review,
    serve_api,
    shopper,
    unmanned_running,
    unmanned_store,
)

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if CHROMIUM is None or not Path(CHROMEDRIVER).exists():
    pytest.skip(
        "chromium and chromium-driver are not installed "
        "(apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

T = TypeVar("T")
SCREENSHOT = Path("/tmp/handheld.png")


@pytest.fixture
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="handheld-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=412,915",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


async def in_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


async def test_alert_appears_live_and_is_acknowledged(
    served: Served, mosquitto: Mosquitto, browser: Any
) -> None:
    hub = served.hub
    token = await make_token(hub, "li.wei", "staff")
    door = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    door.birth()
    await eventually(lambda: hub.registry.get("door-in").online is True)  # type: ignore[union-attr]
    # The page re-renders the list on every change: an element found a moment ago may
    # have been replaced, so every wait retries through stale references.
    wait = WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,))

    def sign_in() -> str:
        browser.get(served.url + "/")
        field = wait.until(ec.visibility_of_element_located((By.ID, "token")))
        field.send_keys(token)
        browser.find_element(By.ID, "signin-button").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "who-name"), "li.wei"))
        wait.until(lambda d: "live" in d.find_element(By.ID, "live-dot").get_attribute("class"))
        actions = browser.find_elements(By.CSS_SELECTOR, "#actions li button")
        return " / ".join(b.text for b in actions)

    buttons = await in_thread(sign_in)
    assert buttons == "Open door / Open door"  # staff: door/open; not the gate's alarm

    door.vanish()
    selector = "#alerts li[data-alert-id]"

    def alert_shows() -> tuple[str, str]:
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, selector)))
        wait.until(ec.text_to_be_present_in_element((By.ID, "offline"), "Entrance door"))
        return wait.until(
            lambda d: (
                (el := d.find_element(By.CSS_SELECTOR, selector)).get_attribute("data-alert-id")
                or "",
                el.text,
            )
        )

    alert_id, text = await in_thread(alert_shows)
    assert "went offline" in text and "door-in" in text
    assert hub.alerts.get(alert_id).kind == "device_offline"
    await in_thread(lambda: browser.save_screenshot(str(SCREENSHOT.with_suffix(".alert.png"))))

    def acknowledge() -> str:
        wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, f"{selector} button.ack").click() or True
        )
        wait.until(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, selector).get_attribute("data-status")
                == "acknowledged"
            )
        )
        return str(wait.until(lambda d: d.find_element(By.CSS_SELECTOR, selector).text))

    text = await in_thread(acknowledge)
    assert "Acknowledged by li.wei" in text
    acked = hub.alerts.get(alert_id)
    assert acked.status == "acknowledged" and acked.acked_by == "li.wei"
    await in_thread(lambda: browser.save_screenshot(str(SCREENSHOT)))

    # Resolved elsewhere (the door comes back): it leaves the page live too.
    back = PahoDevice("s1", "door-in", "door", mosquitto.port).start()
    back.birth()

    def gone() -> bool:
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, selector))
        return bool(browser.find_element(By.ID, "alerts-empty").is_displayed())

    assert await in_thread(gone)
    back.stop()


async def test_a_bad_token_is_refused_on_the_page(served: Served, browser: Any) -> None:
    wait = WebDriverWait(browser, 15)

    def try_bad() -> str:
        browser.get(served.url + "/")
        wait.until(ec.visibility_of_element_located((By.ID, "token"))).send_keys("shb_wrong")
        browser.find_element(By.ID, "signin-button").click()
        error = wait.until(ec.visibility_of_element_located((By.ID, "signin-error")))
        return str(error.text)

    assert "not valid" in await in_thread(try_bad)


@pytest.fixture
async def unmanned_served(tmp_path: Path, mosquitto: Mosquitto) -> AsyncIterator[Served]:
    """The API of the demo store with grab-and-go unmanned checkout."""
    config = unmanned_store(tmp_path)
    async for served in serve_api(tmp_path, mosquitto, config=config, plugins=UNMANNED_PLUGINS):
        yield served


async def staff_of(served: Served) -> tuple[UnmannedService, str]:
    """The served hub's running unmanned service, and a staff token ("li.wei")."""
    return await unmanned_running(served.hub), await make_token(served.hub, "li.wei", "staff")


def to_reviews(browser: Any, wait: Any, url: str, token: str) -> None:
    """Sign in on the page with ``token`` and go to the Reviews view."""
    browser.get(url + "/")
    wait.until(ec.visibility_of_element_located((By.ID, "token"))).send_keys(token)
    browser.find_element(By.ID, "signin-button").click()
    wait.until(ec.visibility_of_element_located((By.ID, "tab-reviews"))).click()


def open_card(browser: Any, wait: Any, card: str) -> None:
    """Open the review whose card in the queue ``card`` selects."""
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, card)))
    browser.find_element(By.CSS_SELECTOR, f"{card} button.open").click()


async def test_staff_correct_a_bill_in_the_reviews_view(
    unmanned_served: Served, browser: Any
) -> None:
    served = unmanned_served
    hub = served.hub
    svc, token = await staff_of(served)
    _, review = await pending_review(svc, {TEA: 1, CRACKERS: 2})
    wait = WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,))
    card = f"#reviews li[data-review-id='{review.id}']"

    def open_reviews() -> str:
        to_reviews(browser, wait, served.url, token)
        wait.until(ec.text_to_be_present_in_element((By.ID, "tab-review-count"), "1"))
        text = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, card))).text
        browser.save_screenshot(str(SCREENSHOT.with_suffix(".queue.png")))
        return str(text)

    text = await in_thread(open_reviews)
    assert "2 × Rice crackers 150 g" in text and "60 %" in text
    assert "two shoppers at the shelf" in text

    def correct() -> tuple[str, str]:
        browser.find_element(By.CSS_SELECTOR, f"{card} button.open").click()
        wait.until(ec.visibility_of_element_located((By.ID, "review")))
        crackers = f"#review-lines li[data-gtin='{CRACKERS}']"
        assert browser.find_element(By.ID, "save-button").get_attribute("disabled")
        browser.find_element(By.CSS_SELECTOR, f"{crackers} button.minus").click()
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{crackers} .qty"), "1"))
        browser.find_element(By.ID, "add-gtin").send_keys("6901234561029")  # soy sauce
        browser.find_element(By.ID, "add-button").click()
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, f"[data-gtin='{SOY}']")))
        confirm_off = str(browser.find_element(By.ID, "confirm-button").get_attribute("disabled"))
        browser.save_screenshot(str(SCREENSHOT.with_suffix(".review.png")))
        browser.find_element(By.ID, "review-note").send_keys("one pack went back")
        wait.until(ec.element_to_be_clickable((By.ID, "save-button"))).click()
        wait.until(ec.visibility_of_element_located((By.ID, "reviews-empty")))
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, card))
        toast = wait.until(ec.visibility_of_element_located((By.ID, "toast")))
        return confirm_off, str(toast.text)

    confirm_off, toast = await in_thread(correct)
    assert confirm_off == "true"  # edited: confirming the sensors' bill is off
    assert toast.startswith("Charged") and "26.20" in toast
    decided = await hub.journal.call(lambda c: load_review(c, review.id))
    assert decided is not None and decided.status == "charged" and decided.sale_id
    assert (decided.decided_by, decided.note) == ("li.wei", "one pack went back")
    sale = await hub.journal.call(lambda c: load_sale(c, decided.sale_id or ""))
    assert sale is not None and sale[0].total == 450 + 890 + 1280
    assert {ln.gtin: ln.qty for ln in sale[0].lines} == {TEA: 1, CRACKERS: 1, SOY: 1}

    # A shopper leaves with another unsure bill: it appears live (the unmanned_review
    # alert on the stream), and a dismissal with a note takes it off the list.
    _, later = await pending_review(svc, {SOY: 1})
    later_card = f"#reviews li[data-review-id='{later.id}']"

    def dismiss() -> None:
        wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, later_card)))
        browser.find_element(By.CSS_SELECTOR, f"{later_card} button.open").click()
        wait.until(ec.element_to_be_clickable((By.ID, "dismiss-button"))).click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "toast"), "Write why"))
        browser.find_element(By.ID, "review-note").send_keys("a staff test walk")
        browser.find_element(By.ID, "dismiss-button").click()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, later_card))
        wait.until(ec.visibility_of_element_located((By.ID, "reviews-empty")))
        browser.save_screenshot(str(SCREENSHOT.with_suffix(".reviews.png")))

    await in_thread(dismiss)
    gone = await hub.journal.call(lambda c: load_review(c, later.id))
    assert gone is not None and gone.status == "dismissed" and gone.sale_id is None


async def test_staff_name_who_took_a_disputed_pick(unmanned_served: Served, browser: Any) -> None:
    served = unmanned_served
    hub = served.hub
    svc, token = await staff_of(served)
    a = await shopper(svc, {})
    b = await shopper(svc, {})
    bill, _ = svc.bill(None, device="shelf-1", extra=[CartLine(gtin=TEA, qty=1, confidence=0.4)])
    dispute = await svc.to_review(None, bill, "who took it?", candidates=(a.id, b.id))
    wait = WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,))
    card = f"#reviews li[data-review-id='{dispute.id}']"

    def name_b() -> tuple[str, str, str]:
        to_reviews(browser, wait, served.url, token)
        open_card(browser, wait, card)
        who = wait.until(ec.visibility_of_element_located((By.ID, "review-who"))).text
        # Nobody named yet: nothing can be charged.
        off = str(browser.find_element(By.ID, "confirm-button").get_attribute("disabled"))
        browser.find_element(By.CSS_SELECTOR, f"#review-who input[value='{b.id}']").click()
        browser.save_screenshot(str(SCREENSHOT.with_suffix(".dispute.png")))
        wait.until(ec.element_to_be_clickable((By.ID, "confirm-button"))).click()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, card))
        toast = wait.until(ec.visibility_of_element_located((By.ID, "toast")))
        return who, off, str(toast.text)

    who, off, toast = await in_thread(name_b)
    assert a.id in who and b.id in who and "best guess" in who
    assert off == "true" and toast.startswith("Charged")
    decided = await hub.journal.call(lambda c: load_review(c, dispute.id))
    assert decided is not None and (decided.status, decided.session) == ("charged", b.id)


async def test_a_bill_shows_what_else_its_shopper_owes(
    unmanned_served: Served, browser: Any
) -> None:
    # The dispute staff charged to a shopper whose card declined: their bill, opened
    # next, lists it, so staff do not add that item to the bill again.
    served = unmanned_served
    svc, token = await staff_of(served)
    a = await shopper(svc, {}, pay_token="declined-card-9")
    b = await shopper(svc, {})
    bill, _ = svc.bill(None, device="shelf-1", extra=[CartLine(gtin=TEA, qty=1, confidence=0.4)])
    dispute = await svc.to_review(None, bill, "who took it?", candidates=(a.id, b.id))
    failed = await svc.decide(dispute.id, "confirmed", by="li.wei", session=a.id)
    assert failed.status == "payment_failed"
    mine, _ = svc.bill(a, device="door-out", extra=[CartLine(gtin=SOY, qty=1)])
    review = await svc.to_review(a, mine, "payment declined; let out by li.wei")
    wait = WebDriverWait(browser, 15, ignored_exceptions=(StaleElementReferenceException,))
    card = f"#reviews li[data-review-id='{review.id}']"

    def open_bill() -> str:
        to_reviews(browser, wait, served.url, token)
        open_card(browser, wait, card)
        return str(wait.until(ec.visibility_of_element_located((By.ID, "review-also-box"))).text)

    text = await in_thread(open_bill)
    assert f"1 × {TEA}" in text and "payment failed" in text and "who took it?" in text
