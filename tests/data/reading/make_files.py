"""Writes the small files of this folder that test how data are read (one kind of fault each).

    python tests/data/reading/make_files.py

The five files copied from the handed cases (trial_arms.csv, redcap_ids.csv,
de_excel_export.csv, sleep_visit_dates.xlsx, visits_macro.xlsm) are not written here.
Every other file is made from fixed numbers (a seeded generator or lme4's sleepstudy),
often twice: once written the awkward way and once plainly, so that a test can check that
both read to the same table and the same fit.
"""
import csv
import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl

HERE = Path(__file__).parent
SLEEP = HERE.parent / "sleepstudy.csv"
NNBSP, NBSP, MINUS = "\u202f", "\u00a0", "\u2212"


def write_csv(name, header, rows, delimiter=",", encoding="utf-8"):
    with open(HERE / name, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_xlsx(name, header, rows, formats=None):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for column, number_format in (formats or {}).items():
        for cell in sheet[column][1:]:
            cell.number_format = number_format
    book.save(HERE / name)


def sleep_rows():
    with open(SLEEP) as handle:
        return [(float(r["Reaction"]), int(r["Days"]), r["Subject"]) for r in csv.DictReader(handle)]


def missing_markers():
    """Kind 1: arms called 'None' and 'NA', a region 'NA'; the score's gaps written five ways."""
    rng = np.random.default_rng(8)
    arms = ["None", "NA", "Active"]
    regions = ["NA", "EU", "None"]
    gaps = {("p03", 1): "NA", ("p05", 2): ".", ("p08", 0): "-", ("p10", 3): "", ("p11", 2): "N/A"}
    awkward, clean = [], []
    for i in range(12):
        pid, arm, region = f"p{i + 1:02d}", arms[i % 3], regions[(i // 3) % 3]
        base = rng.normal(20, 2)
        for week in range(4):
            score = round(base + 0.5 * week + (1.5 if arm == "Active" else 0) * week / 3 + rng.normal(0, 0.7), 2)
            gap = gaps.get((pid, week))
            awkward.append([pid, region, arm, week, score if gap is None else gap])
            if gap is None:
                clean.append([pid, {"NA": "North America", "EU": "Europe", "None": "Nowhere"}[region],
                              {"None": "Control", "NA": "Not assigned", "Active": "Active"}[arm], week, score])
    header = ["id", "region", "arm", "week", "score"]
    write_csv("arms_none_na.csv", header, awkward)
    write_csv("arms_none_na_plain.csv", header, clean)
    write_xlsx("arms_none_na.xlsx", header, [r[:4] + [r[4] if r[4] != "" else None] for r in awkward])


def identifiers():
    """Kind 2: identifiers that differ only in leading zeros are different persons."""
    rng = np.random.default_rng(2)
    ids = ["7", "07", "007", "12", "012", "0012"]
    rows, plain = [], []
    for k, pid in enumerate(ids):
        base, slope = rng.normal(50, 6), rng.normal(2, 0.8)
        for visit in range(5):
            y = round(base + slope * visit + rng.normal(0, 1.2), 2)
            rows.append([pid, visit, y])
            plain.append([f"person{k}", visit, y])
    write_csv("ids_leading_zeros.tsv", ["study_id", "visit", "y"], rows, delimiter="\t")
    write_csv("ids_leading_zeros_plain.csv", ["study_id", "visit", "y"], plain)
    # In a workbook: 1017 typed as a number and '001017' typed as text, in one column.
    book_rows = [[int(pid) if k % 2 == 0 else pid.zfill(6), visit, y]
                 for k, pid in enumerate(["1017", "1017", "1022", "1022"]) for visit, y in
                 zip(range(3), rng.normal(40, 3, 3).round(2))]
    write_xlsx("ids_mixed_cells.xlsx", ["record_id", "visit", "y"], book_rows)


def locale_numbers():
    """Kind 3: the same table written the English, German and French ways."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(10):
        group = "Kontrolle" if i < 5 else "Behandlung"
        income = rng.normal(38000, 4000)
        for year in range(4):
            value = round(income + (900 if group == "Kontrolle" else 1500) * year + rng.normal(0, 600), 2)
            if year == 2 and i % 3 == 0:
                value = float(round(value))   # some whole amounts
            rows.append([f"P{i + 1:02d}", group, year, value, round(rng.normal(-1.5, 1), 1)])
    header = ["Person", "Gruppe", "Jahr", "Einkommen", "Saldo"]

    def german(v):            # 38.512,75 (whole amounts: 40.100)
        whole, _, frac = f"{v:,.2f}".partition(".")
        text = whole.replace(",", ".")
        return text if v.is_integer() else f"{text},{frac}"

    def french(v, space):     # 38 512,75 with a narrow no-break space
        whole, _, frac = f"{v:,.2f}".partition(".")
        text = whole.replace(",", space)
        return (text if v.is_integer() else f"{text},{frac}").replace("-", MINUS)

    write_csv("income_plain.csv", header, [r[:3] + [repr(r[3]), repr(r[4])] for r in rows])
    write_csv("income_de.csv", header, [r[:3] + [german(r[3]), str(r[4]).replace(".", ",")] for r in rows],
              delimiter=";", encoding="cp1252")
    write_csv("income_fr.csv", header,
              [r[:3] + [french(r[3], NNBSP if k % 2 else NBSP), str(r[4]).replace(".", ",").replace("-", MINUS)]
               for k, r in enumerate(rows)], delimiter=";")
    # Really ambiguous: '1,234' in a comma-separated file is 1.234 or 1234.
    write_csv("ambiguous_thousands.csv", ["id", "t", "amount"],
              [[f"a{i // 3}", i % 3, f"{1 + i // 3},{200 + 7 * i:03d}"] for i in range(12)])
    # Two decimal marks in one column.
    write_csv("mixed_decimal_marks.csv", ["id", "t", "weight"],
              [[f"a{i // 3}", i % 3, f"6{i % 10}{',' if i % 4 else '.'}5"] for i in range(12)], delimiter=";")


def dates():
    """Kind 4: sleepstudy with calendar dates instead of day numbers, written several ways.
    Each subject starts on another day, so 'days since the subject's first visit' is Days."""
    rows = sleep_rows()
    subjects = sorted({s for _, _, s in rows})
    start = {s: dt.datetime(2021, 3, 1) + dt.timedelta(days=3 * k) for k, s in enumerate(subjects)}
    clock = {s: dt.timedelta(hours=8 + k % 3, minutes=30) for k, s in enumerate(subjects)}
    when = [start[s] + dt.timedelta(days=d) + clock[s] for _, d, s in rows]
    header = ["Subject", "visit_date", "Reaction"]
    write_csv("sleep_dates_iso.csv", header, [[s, w.date().isoformat(), r] for (r, _, s), w in zip(rows, when)])
    write_csv("sleep_dates_de.csv", header,
              [[s, w.strftime("%d.%m.%Y"), str(r).replace(".", ",")] for (r, _, s), w in zip(rows, when)],
              delimiter=";")
    write_csv("sleep_dates_us.csv", header, [[s, w.strftime("%m/%d/%Y"), r] for (r, _, s), w in zip(rows, when)])
    write_csv("sleep_dates_month_names.csv", header,
              [[s, w.strftime("%d %b %Y"), r] for (r, _, s), w in zip(rows, when)])
    write_xlsx("sleep_datetimes.xlsx", header, [[int(s), w, r] for (r, _, s), w in zip(rows, when)],
               formats={"B": "yyyy-mm-dd hh:mm"})
    # The handed trial (an arm called 'None', a region 'NA') with visit dates instead of week numbers:
    # subject k starts 2k days after the first, visits are 7 days apart.
    with open(HERE / "trial_arms.csv") as handle:
        trial = list(csv.DictReader(handle))
    order = list(dict.fromkeys(r["subject"] for r in trial))
    write_csv("trial_dates_none.csv", ["subject", "zone", "arm", "visit_date", "score"],
              [[r["subject"], r["zone"], r["arm"],
                (dt.date(2024, 1, 8) + dt.timedelta(days=2 * order.index(r["subject"]) + 7 * int(r["week"]))).isoformat(),
                r["score"]] for r in trial])
    # Day and month cannot be told apart when no day is above 12.
    write_csv("dates_ambiguous.csv", ["id", "visit", "y"],
              [[f"s{k}", f"0{1 + v}/0{k + 1}/2022", 10 + v + k] for k in range(4) for v in range(3)])


def trial_like():
    """Kind 5: a trial export whose roles an analyst would see at once."""
    rng = np.random.default_rng(5)
    arms = ["Placebo", "Low dose", "High dose"]
    sites = ["Berlin", "Lyon", "Oslo"]
    rows = []
    for k in range(18):
        pid, arm, site = f"TR-{100 + k}", arms[k % 3], sites[k // 6]
        age, sex, bmi = int(rng.integers(35, 75)), "F" if k % 2 else "M", round(rng.normal(27, 3), 1)
        first = dt.date(2023, 1, 9) + dt.timedelta(days=int(rng.integers(0, 60)))
        for visit in range(5):
            day = first + dt.timedelta(weeks=4 * visit, days=int(rng.integers(-2, 3)))
            bp = int(round(150 - (0, 3, 6)[k % 3] * visit + rng.normal(0, 4)))
            rows.append([pid, site, arm, day.isoformat(), age, sex, bmi, bp])
    write_csv("trial_like.csv", ["Patient ID", "Site", "Treatment Arm", "Visit Date", "Age (years)", "Sex",
                                 "Baseline BMI", "Systolic BP (mmHg)"], rows)
    # Another layout: the repeated time is a wave number, the arm is a diet, age is a covariate.
    diet_rows = []
    for k in range(12):
        height, age = round(rng.normal(170, 8), 1), int(rng.integers(20, 60))
        for wave in range(1, 5):
            diet_rows.append([f"H{k:03d}", age, wave, ["Vegan", "Mixed"][k % 2], height,
                              round(80 - 1.2 * wave * (k % 2 == 0) + rng.normal(0, 1.5), 1)])
    write_xlsx("diet_waves.xlsx", ["Household", "Age", "Wave", "Diet", "Height (cm)", "Weight (kg)"], diet_rows)


if __name__ == "__main__":
    missing_markers()
    identifiers()
    locale_numbers()
    dates()
    trial_like()
