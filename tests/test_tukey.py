"""``mixed_core.tukey.ptukey`` is R's ptukey: values from R (tests/data/tukey/ptukey_r.R) on a grid
crossing every branch (df at R's interval-length thresholds 100/800/5000, the large-df shortcut
above 25000 and Inf, several ranges), to rounding."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_core.inference import _tukey_p
from mixed_core.tukey import ptukey

REF = pd.read_csv(Path(__file__).parent / "data" / "tukey" / "ptukey_r.csv")


def test_ptukey_equals_r_on_the_grid():
    for row in REF.itertuples():
        upper = ptukey(row.q, int(row.nmeans), row.df, int(row.nranges), lower_tail=False)
        lower = ptukey(row.q, int(row.nmeans), row.df, int(row.nranges), lower_tail=True)
        assert upper == pytest.approx(row.upper, rel=1e-9, abs=1e-13), row
        assert lower == pytest.approx(row.lower, rel=1e-9, abs=1e-13), row


def test_edges_as_r():
    assert ptukey(0.0, 3, 10) == 0.0 and ptukey(0.0, 3, 10, lower_tail=False) == 1.0
    assert ptukey(-1.0, 3, 10, lower_tail=False) == 1.0
    assert ptukey(np.inf, 3, 10) == 1.0
    assert np.isnan(ptukey(2.0, 3, 1.5)) and np.isnan(ptukey(2.0, 1, 10)) and np.isnan(ptukey(np.nan, 3, 10))


def test_emmeans_tukey_adjustment_uses_it():
    t, df = np.array([0.5, -2.2, 4.0]), np.array([12.0, 240.5, np.inf])
    expected = [ptukey(abs(a) * np.sqrt(2), 3, d, lower_tail=False) for a, d in zip(t, df)]
    np.testing.assert_array_equal(_tukey_p(t, df, 3), expected)
