"""Debian's headless chromium driven by selenium (python3-selenium, chromium-driver), as
the web application's tests use it; screenshots go to the artifacts directory."""

import os
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from support.live import WAIT

ARTIFACTS = Path(os.environ.get("SNF_TEST_ARTIFACTS", "/var/tmp/synnefo-ci/artifacts")) / "ui"


class Browser:
    """One chromium (its profile and HOME under ``home``) with helpers for the UI's ids."""

    def __init__(self, home, size=(1200, 900)):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--window-size=%d,%d" % size, "--user-data-dir=%s" % (home / "profile")):
            options.add_argument(arg)
        service = Service("/usr/bin/chromedriver", env=dict(os.environ, HOME=str(home)))
        self.driver = webdriver.Chrome(service=service, options=options)

    def quit(self):
        self.driver.quit()

    def wait(self, what, check, timeout=WAIT):
        """check(driver)'s first true value; a timeout says ``what`` and the page's notice."""
        def safe(d):
            try:
                return check(d)
            except WebDriverException:
                return False
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(safe)
        except Exception:
            self.shot("timeout")
            raise AssertionError("timed out waiting for %s; notice: %r, banner: %r, url %s"
                                 % (what, self.text("notice"), self.text("banner"),
                                    self.driver.current_url)) from None

    def el(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def els(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def visible(self, css, timeout=WAIT):
        return self.wait(css + " visible",
                         lambda d: (lambda e: e if e.is_displayed() else False)(self.el(css)),
                         timeout)

    def text(self, element_id):
        try:
            return self.driver.find_element(By.ID, element_id).text
        except WebDriverException:
            return None

    def click(self, css):
        """Click what ``css`` names when the click happens: a page that draws the element
        again meanwhile (the machine page refreshes itself) gets its new one clicked."""
        def clicked(d):
            element = self.el(css)
            if not element.is_displayed():
                return False
            element.click()
            return True
        self.wait(css + " clicked", clicked)

    def fill(self, css, value):
        e = self.visible(css)
        e.clear()
        e.send_keys(value)

    def select(self, css, text_part):
        """Choose the first option of the <select> whose text contains ``text_part`` (in
        the control the page has now, if it draws it again meanwhile)."""
        def choose(d):
            sel = Select(self.el(css))
            for option in sel.options:
                if text_part in option.text:
                    sel.select_by_value(option.get_attribute("value"))
                    return option.text
            return False
        return self.wait("an option with %r in %s" % (text_part, css), choose)

    def confirm(self):
        self.click("#confirm-ok")

    def shot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / ("%s.png" % name)
        self.driver.save_screenshot(str(path))
        return path

    def console_errors(self):
        """The page's SEVERE console entries (e.g. a CSP violation or a script error)."""
        return [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]
