#!/usr/bin/env python3
"""The web UI in a real browser (headless Chromium driven by Selenium): load the page with the token,
see both folders, resolve a conflict with "Keep that", restore an older version of a file.

usage: browser-test.py URL CONFLICT_FOLDER HISTORY_FOLDER HISTORY_FILE
The Swift test UITests sets the folders up and checks the files on disk afterwards. With
SHADOWSYNC_UI_SCREENSHOTS=DIR it saves the PNGs that Docs/ shows (ui-folders, ui-conflict, ui-history).
"""
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, NoSuchElementException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

TIMEOUT_SECONDS = 20


def wait_for(what, check):
    """Polls check() until it returns something true; the page re-renders its folders every 2 s."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (StaleElementReferenceException, NoSuchElementException) as error:
            last = error
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def main():
    url, conflict_folder, history_folder, history_file = sys.argv[1:5]
    shots = os.environ.get("SHADOWSYNC_UI_SCREENSHOTS")
    options = Options()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,860"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    try:
        run(driver, url, conflict_folder, history_folder, history_file, shots)
    finally:
        driver.quit()
    print("browser test: ok")


def card(driver, folder):
    return driver.find_element(By.CSS_SELECTOR, f'section.folder[data-folder="{folder}"]')


def click_in_card(driver, folder, selector):
    """Clicks a button of a folder's card, finding it again if a refresh replaced it."""
    wait_for(selector, lambda: card(driver, folder).find_element(By.CSS_SELECTOR, selector).click() or True)


def message(driver):
    return driver.find_element(By.ID, "message")


def run(driver, url, conflict_folder, history_folder, history_file, shots):
    driver.get(url)  # the token becomes a cookie and the address loses it
    wait_for("the token to leave the address", lambda: "token=" not in driver.current_url)
    cards = wait_for("two folders", lambda: len(driver.find_elements(By.CSS_SELECTOR, "section.folder")) == 2)
    assert cards
    page = driver.find_element(By.ID, "folders").text
    assert conflict_folder in page and history_folder in page, page
    wait_for("the conflict listed", lambda: card(driver, conflict_folder).find_elements(By.CSS_SELECTOR, "button.resolve"))
    if shots:
        driver.save_screenshot(os.path.join(shots, "ui-folders.png"))

    # A conflict, side by side, resolved by keeping the other device's version.
    click_in_card(driver, conflict_folder, "button.resolve")
    panel = wait_for("the conflict panel", lambda: driver.find_element(By.CSS_SELECTOR, "#panel table.diff"))
    text = panel.text
    assert "mine" in text and "theirs" in text, text
    assert driver.find_elements(By.CSS_SELECTOR, "#panel td.del") and driver.find_elements(By.CSS_SELECTOR, "#panel td.add")
    if shots:
        driver.save_screenshot(os.path.join(shots, "ui-conflict.png"))
    driver.find_element(By.CSS_SELECTOR, "#panel button.keep-copy").click()
    wait_for("the resolution to be reported", lambda: "now holds" in message(driver).text)
    assert "error" not in message(driver).get_attribute("class")
    wait_for("the conflict to leave the list", lambda: not card(driver, conflict_folder).find_elements(By.CSS_SELECTOR, "button.resolve"))

    # A file's history: compare the oldest version with now, then restore it.
    def ask_history():
        box = card(driver, history_folder).find_element(By.CSS_SELECTOR, "input.history-path")
        box.clear()
        box.send_keys(history_file)
        card(driver, history_folder).find_element(By.CSS_SELECTOR, "button.history").click()
        return True
    wait_for("the history button", ask_history)
    versions = wait_for("two versions", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#panel ul.history li")) >= 2)
    assert versions
    driver.find_elements(By.CSS_SELECTOR, "#panel ul.history li button.version")[-1].click()
    wait_for("the version diff", lambda: driver.find_element(By.CSS_SELECTOR, "#version table.diff"))
    restore = wait_for("the restore button", lambda: driver.find_element(By.CSS_SELECTOR, "#version button.restore"))
    if shots:
        driver.save_screenshot(os.path.join(shots, "ui-history.png"))
    restore.click()
    wait_for("the restore to be reported", lambda: "is back as it was" in message(driver).text)
    assert "error" not in message(driver).get_attribute("class")


if __name__ == "__main__":
    main()
