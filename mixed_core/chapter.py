"""What the textbook chapter printed, and a sentence where the app's number differs from it.

The chapter fitted its random-intercept model with statsmodels (REML). statsmodels stops its
optimizer a little before the optimum; lme4 and the fast engine go on to it. The likelihood is
so flat there that both print the same log-likelihood, but the variance between persons differs
in the sixth digit, and a teacher putting the two side by side must be able to say why.
"""
from __future__ import annotations

from typing import Optional

# The chapter's random-intercept table (REML, reference Juggling), as printed.
CHAPTER_GROUP_VAR = 33814137.626
CHAPTER_LOGLIK = -2327.5068


def group_var_note(result, chapter_data: bool) -> Optional[str]:
    """One sentence beside the chapter's Group Var, for the chapter's data and model; else None."""
    if not chapter_data or result.random_slope or not result.spec.reml:
        return None
    if round(result.loglik, 4) != CHAPTER_LOGLIK:
        return None
    ours = float(result.re_cov[0, 0])
    if abs(ours - CHAPTER_GROUP_VAR) < 0.05:
        return None
    return (f"The chapter prints Group Var (the person intercept variance) {CHAPTER_GROUP_VAR:,.1f}; this fit finds {ours:,.2f} with the same "
            f"log-likelihood ({CHAPTER_LOGLIK:,.4f}): statsmodels, which the chapter used, stops a little "
            "short of the optimum where the likelihood is almost flat, and this engine goes on to it, as "
            "lme4 does.")
