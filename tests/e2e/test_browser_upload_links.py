"""Uploads and links to uploaded data in a real headless Chromium (issue 8).

A file with visit dates and an arm called "None" shows the right groups, rows and levels and
says how the dates became time; a link to a view of an uploaded file reproduces the view once
the recipient uploads the same file; a link that carries small data opens the view directly.
"""
from pathlib import Path

from conftest import wait_for_app
from test_browser_data_model import (choose_upload_source, model_state, no_traceback, share_url, upload,
                                     wait_metric, wait_model, wait_url)

READING = Path(__file__).resolve().parents[1] / "data" / "reading"
TRIAL_DATES = READING / "trial_dates_none.csv"
TRIAL_WEEKS_REML = "-212.9259"   # lme4 on the same rows with week numbers (visits are 7 days apart)


def main_text(pg) -> str:
    return pg.locator('[data-testid="stMain"]').inner_text()


def combobox(pg, label: str) -> str:
    return pg.get_by_role("combobox", name=label, exact=True).input_value()


def choose(pg, label: str, option: str) -> None:
    pg.get_by_role("combobox", name=label, exact=True).click()
    pg.get_by_role("option", name=option, exact=True).click()
    wait_for_app(pg)


def category_levels(pg) -> list:
    """The first column of the per-category table (rows after the header)."""
    return pg.evaluate("""() => {
      const t = [...document.querySelectorAll('[data-testid="stMain"] table')].find(
          t => t.innerText.includes('level') && t.innerText.includes('groups'));
      return t ? [...t.querySelectorAll('tbody tr')].map(r => r.querySelector('td,th').innerText.trim()) : null; }""")


def test_upload_with_dates_and_a_none_level(server, page):
    page.goto(server + "/")
    wait_for_app(page, "Simulated income data")
    choose_upload_source(page)
    assert "which a link cannot carry" not in main_text(page)   # Upload chosen here, no link opened
    upload(page, TRIAL_DATES)
    wait_for_app(page, "Uploaded file 'trial_dates_none.csv'")
    wait_metric(page, "Groups", "24", Rows="120", **{"Rows dropped (missing values)": "0"})
    assert [combobox(page, r) for r in ("Response", "Time", "Group", "Category")] == \
        ["score", "visit_date", "subject", "arm"]
    text = main_text(page)
    assert "holds dates (dates from 2024-01-08 to" in text
    assert "days since each subject's first observation" in text and "No time unit was chosen" in text
    assert category_levels(page) == ["None", "Low dose", "High dose"]
    no_traceback(page)

    # Weeks since each subject's first visit are the handed file's week numbers: lme4's fit.
    choose(page, "Time unit", "weeks")
    wait_url(page, "time_unit=weeks")
    page.get_by_role("link", name="Model", exact=True).click()
    state = wait_model(page, lambda s: s["loglik"] == TRIAL_WEEKS_REML, "the trial's fit in weeks")
    assert "arm[T.Low dose]" in state["terms"] and "visit_date" in state["terms"]
    no_traceback(page)


def test_a_link_to_an_uploaded_view_reproduces_it_after_the_upload(server, browser, page):
    page.goto(server + "/")
    wait_for_app(page, "Simulated income data")
    choose_upload_source(page)
    upload(page, TRIAL_DATES)
    wait_metric(page, "Groups", "24")
    choose(page, "Category", "zone")
    choose(page, "Time unit", "weeks")
    page.get_by_role("link", name="Model", exact=True).click()
    wait_model(page, lambda s: s["fe_text"] is not None and "zone[T.EUR]" in s["terms"], "the zone model")
    page.get_by_role("combobox", name="Reference level of zone").click()
    page.get_by_role("option", name="NA", exact=True).click()
    page.get_by_text("Random slope per group", exact=True).click()
    sender = wait_model(page, lambda s: "zone[T.APAC]" in s["terms"] and len(s["components"]) == 3,
                        "reference NA with a random slope")
    url = share_url(page, "random_slope=true")
    assert "reference=NA" in url and "category=zone" in url and "time_unit=weeks" in url

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg2 = other.new_page()
        pg2.set_default_timeout(30_000)
        pg2.goto(url)
        wait_for_app(pg2, "upload the file again")
        assert model_state(pg2)["fe"] is None
        pg2.get_by_role("link", name="Data", exact=True).click()
        wait_for_app(pg2, "upload the file again")
        upload(pg2, TRIAL_DATES)
        wait_for_app(pg2, "The link's settings were applied to 'trial_dates_none.csv'.")
        assert combobox(pg2, "Category") == "zone" and combobox(pg2, "Time unit") == "weeks"
        wait_url(pg2, "reference=NA", "category=zone", "random_slope=true", "time_unit=weeks")
        pg2.get_by_role("link", name="Model", exact=True).click()
        recipient = wait_model(pg2, lambda s: s["loglik"] == sender["loglik"], "the sender's fit")
        assert recipient["fe_text"] == sender["fe_text"] and recipient["components"] == sender["components"]
        assert pg2.get_by_role("combobox", name="Reference level of zone").input_value() == "NA"
        no_traceback(pg2)
    finally:
        other.close()


def test_a_link_that_carries_the_data(server, browser, page):
    page.goto(server + "/")
    wait_for_app(page, "Simulated income data")
    choose_upload_source(page)
    upload(page, TRIAL_DATES)
    wait_metric(page, "Groups", "24")
    page.get_by_text("Put the data in the link", exact=False).click()
    wait_for_app(page, "The link carries the data")
    url = share_url(page, "data=")
    assert "data_name=trial_dates_none.csv" in url

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg2 = other.new_page()
        pg2.set_default_timeout(30_000)
        pg2.goto(url)
        wait_for_app(pg2, "Data from the link 'trial_dates_none.csv'")
        wait_metric(pg2, "Groups", "24", Rows="120")
        assert "came with the link" in main_text(pg2) and "which a link cannot carry" not in main_text(pg2)
        no_traceback(pg2)
    finally:
        other.close()
