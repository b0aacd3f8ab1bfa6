"""The estimated marginal means over time with their confidence intervals (Explore page, report)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .figures import HOVER_NUM, _axes, category_colors, esc, levels_of, rgba
from .inference import DF_LABELS, Inference

GRID_POINTS = 40


def emmeans_plot(inf: Inference, times=None, df_method: str = "satterthwaite", adjust: str = "tukey") -> go.Figure:
    """Each level's marginal mean over the data's time range with a pointwise 95% band, and the means
    at ``times`` as points with 95% error bars. Where two levels' intervals at a time do not overlap
    their difference is clearly there; the contrasts table says how sure (the hover gives the means)."""
    data = inf.data
    times = inf.default_times() if times is None else tuple(float(t) for t in times)
    t_axis = np.asarray(data.time, float) + float(data.time_centre or 0.0)
    lo, hi = float(min(t_axis.min(), min(times))), float(max(t_axis.max(), max(times)))
    grid = np.linspace(lo, hi, GRID_POINTS)
    curve = inf.emmeans(grid, df_method)
    points = inf.emmeans(times, df_method)
    colours = category_colors(data)
    r = data.roles
    traces = []
    for k, level in enumerate(levels_of(data)):
        colour = colours[level]
        name = esc(level) if data.levels else f"all {esc(r.group)} groups"
        c = curve[curve["level"] == level]
        traces.append(go.Scatter(
            x=np.r_[grid, grid[::-1]], y=np.r_[c["ci_high"].to_numpy(), c["ci_low"].to_numpy()[::-1]],
            fill="toself", fillcolor=rgba(colour, 0.18), line=dict(width=0), hoverinfo="skip",
            legendgroup=str(k), showlegend=False, name=f"95% CI: {name}"))
        traces.append(go.Scatter(
            x=grid, y=c["estimate"], mode="lines", line=dict(color=colour, width=2.5), legendgroup=str(k),
            name=name, hovertemplate=f"{esc(r.time)}: %{{x{HOVER_NUM}}}<br>mean: %{{y{HOVER_NUM}}}<extra>{name}</extra>"))
        p = points[points["level"] == level]
        traces.append(go.Scatter(
            x=p["at_time"].tolist(), y=p["estimate"].tolist(), mode="markers", legendgroup=str(k), showlegend=False, name=name,
            marker=dict(color=colour, size=9, line=dict(color="white", width=1)),
            error_y=dict(type="data", symmetric=False, array=p["ci_high"] - p["estimate"],
                         arrayminus=p["estimate"] - p["ci_low"], color=colour, thickness=2, width=6),
            customdata=np.c_[p["ci_low"], p["ci_high"]],
            hovertemplate=(f"{esc(r.time)} = %{{x{HOVER_NUM}}}<br>mean %{{y{HOVER_NUM}}}<br>95% CI "
                           f"%{{customdata[0]{HOVER_NUM}}} to %{{customdata[1]{HOVER_NUM}}}<extra>{name}</extra>")))
    title = (f"Estimated marginal means of {esc(r.response)} with 95% CIs "
             f"({DF_LABELS[df_method]} df); points at {esc(r.time)} = "
             + ", ".join(f"{t:g}" for t in times))
    fig = go.Figure(data=traces, layout=dict(title=dict(text=title, font=dict(size=15)),
                                             legend_title_text=esc(r.category) if r.category else ""))
    for t in times:
        fig.add_vline(x=t, line=dict(color="#999", width=1, dash="dot"))
    return _axes(fig, r.time, r.response)
