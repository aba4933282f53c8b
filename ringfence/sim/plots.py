"""The PNG plots of a simulation run (matplotlib, Agg): one function per plot, hours across."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["plots"]

WAD = 10**18


def plots(run: Any, out: Path) -> list[str]:
    """Writes every plot of ``run`` into ``out`` and returns their file names, in report order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc = run.scenario
    hours = lambda step: step * sc.block_time / 3600
    return [
        _save(plt, _price(plt, run, hours), out, "price.png"),
        _save(plt, _health(plt, run, hours), out, "health.png"),
        _save(plt, _insurance_fund(plt, run, hours), out, "insurance_fund.png"),
        _save(plt, _lp_share_price(plt, run, hours), out, "lp_share_price.png"),
        _save(plt, _comparison(plt, run), out, "comparison.png"),
    ]


def _label(ax: Any, ylabel: str, title: str) -> None:
    """A time plot's axes: hours across, ``ylabel`` up."""
    ax.set_xlabel("hours")
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _save(plt: Any, fig: Any, out: Path, name: str) -> str:
    """Writes ``fig`` as ``out/name``, frees it, and returns the file name."""
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def _price(plt: Any, run: Any, hours: Callable[[int], float]) -> Any:
    """Per market: the market price, the oracle's answer (a step per round) and both columns'
    liquidations."""
    sc = run.scenario
    iso, cro = run.figures["isolated"], run.figures["cross"]
    fig, axes = plt.subplots(len(run.markets), 1, figsize=(11, 4.2 * len(run.markets)), squeeze=False)
    for i, m in enumerate(run.markets):
        ax = axes[i][0]
        dec = m.spec.oracle.decimals
        ax.plot([hours(b) for b in range(len(m.path))], m.path, color="0.75", lw=0.8, label="market price")
        xs: list[float] = []
        ys: list[float] = []
        for r in m.rounds:
            if xs:
                xs.append(hours(r.block))
                ys.append(ys[-1])
            xs.append(hours(r.block))
            ys.append(r.answer / 10**dec)
        xs.append(hours(sc.blocks))
        ys.append(ys[-1])
        ax.plot(xs, ys, color="tab:blue", lw=1.2, label=f"oracle answer ({len(m.rounds)} rounds)")
        marks = [x for x in iso["liquidation_marks"] if x["market"] == i]
        ax.scatter([hours(x["step"]) for x in marks], [x["price_wad"] / WAD for x in marks], marker="x",
                   color="tab:red", zorder=3, label=f"isolated liquidations ({len(marks)})")
        cmarks = [x for x in cro["liquidation_marks"] if x["market"] == i]
        ax.scatter([hours(x["step"]) for x in cmarks], [x["price_wad"] / WAD * 1.01 for x in cmarks],
                   marker="o", facecolors="none", edgecolors="tab:orange", zorder=3,
                   label=f"cross-model liquidations ({len(cmarks)}, {sum(x['contagion'] for x in cmarks)} contagion)")
        ax.set_title(f"{sc.name}: {m.spec.id}")
        ax.set_xlabel("hours")
        ax.set_ylabel("price")
        ax.legend(fontsize=8)
    return fig


def _health(plt: Any, run: Any, hours: Callable[[int], float]) -> Any:
    """The open vaults' health over time: lowest, median, 10th-90th percentile."""
    fig, ax = plt.subplots(figsize=(11, 4.2))
    xs: list[float] = []
    p10: list[float] = []
    p50: list[float] = []
    p90: list[float] = []
    lo: list[float] = []
    for s in run.samples:
        h = sorted(x for mk in s["markets"] for x in mk["health"])
        if not h:
            continue
        xs.append(hours(s["block"]))
        lo.append(h[0])
        p10.append(h[len(h) // 10])
        p50.append(h[len(h) // 2])
        p90.append(h[min(len(h) - 1, len(h) * 9 // 10)])
    if xs:
        ax.fill_between(xs, p10, p90, color="tab:blue", alpha=0.25, label="10th-90th percentile")
        ax.plot(xs, p50, color="tab:blue", label="median")
        ax.plot(xs, lo, color="tab:red", lw=0.8, label="lowest")
    ax.axhline(1.0, color="k", ls="--", lw=0.8, label="maintenance (health 1)")
    ax.set_yscale("log")
    _label(ax, "vault health (equity / MM x notional)", "Distribution of open vaults' health (isolated, on chain)")
    ax.legend(fontsize=8)
    return fig


def _insurance_fund(plt: Any, run: Any, hours: Callable[[int], float]) -> Any:
    """The insurance funds' total balance, on chain and in the cross model."""
    cro = run.figures["cross"]
    dec0 = run.markets[0].spec.decimals
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot([hours(s["block"]) for s in run.samples],
            [sum(mk["fund"] for mk in s["markets"]) / 10**dec0 for s in run.samples], label="isolated (chain)")
    ax.step([hours(b) for b, _ in cro["fund_series"]], [sum(f) / 10**dec0 for _, f in cro["fund_series"]],
            where="post", label="cross (model)", ls="--")
    _label(ax, "tokens", "Insurance-fund balance")
    ax.legend()
    return fig


def _lp_share_price(plt: Any, run: Any, hours: Callable[[int], float]) -> Any:
    """Each pool's LP share price over time, and the cross model's at the end."""
    sc, cro = run.scenario, run.figures["cross"]
    fig, ax = plt.subplots(figsize=(11, 4))
    for i, m in enumerate(run.markets):
        ax.plot([hours(s["block"]) for s in run.samples],
                [s["markets"][i]["share_price"] / 10**m.spec.decimals for s in run.samples],
                label=f"{m.spec.id} isolated (chain)")
        ax.scatter([hours(sc.blocks)], [cro["markets"][i]["share_price_end"] / 10**m.spec.decimals],
                   marker="D", color="tab:orange", label=f"{m.spec.id} cross model, end", zorder=3)
    _label(ax, "assets per LP share", "LP share price (marked to the oracle price)")
    ax.legend(fontsize=8)
    return fig


def _comparison(plt: Any, run: Any) -> Any:
    """Both columns side by side: liquidation counts, and the money figures in tokens."""
    iso, cro = run.figures["isolated"], run.figures["cross"]
    dec0 = run.markets[0].spec.decimals
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    labels = ["liquidated", "contagion"]
    a1.bar([x - 0.2 for x in range(2)], [iso["positions_liquidated"], iso["liquidated_solvent_alone"]], 0.4,
           label="isolated")
    a1.bar([x + 0.2 for x in range(2)], [cro["positions_liquidated"], cro["liquidated_solvent_alone"]], 0.4,
           label="cross (model)")
    a1.set_xticks(range(2), labels)
    a1.set_ylabel("positions")
    a1.legend()
    keys = [("bad debt", "bad_debt"), ("losses beyond\nallocation", "trader_excess_loss"),
            ("fund drawdown", "fund_drawdown"), ("LP PnL", "lp_pnl")]
    iv = [iso[k] / 10**dec0 for _, k in keys] + [iso["capital"]["peak_need"] / 10**dec0]
    cv = [cro[k] / 10**dec0 for _, k in keys] + [cro["capital"]["peak_need"] / 10**dec0]
    names = [n for n, _ in keys] + ["collateral\npeak need"]
    a2.bar([x - 0.2 for x in range(len(names))], iv, 0.4, label="isolated")
    a2.bar([x + 0.2 for x in range(len(names))], cv, 0.4, label="cross (model)")
    a2.set_xticks(range(len(names)), names, fontsize=8)
    a2.set_ylabel("tokens")
    a2.axhline(0, color="k", lw=0.6)
    a2.legend()
    fig.suptitle(f"{run.scenario.name}: isolated (Ringfence, on chain) vs cross margin (model)")
    return fig

