"""``ringfence status --watch``: the vault re-read and re-printed until Ctrl-C (a hidden
``--max-iterations`` bounds it for tests). In this process on the session's chain."""

from __future__ import annotations

import json
import re

from tests.integration.test_cli_in_process import cli, one_line_error  # noqa: F401

WAD = 10**18


def test_status_watch_rereads_the_vault_each_interval(cli, open_vault, set_price, monkeypatch):
    from ringfence.cli import watch

    vault = open_vault()
    naps: list[float] = []

    def sleep(seconds: float) -> None:  # between two reports the price moves
        naps.append(seconds)
        set_price(3000 + 100 * len(naps))

    monkeypatch.setattr(watch.time, "sleep", sleep)
    run = cli("status", vault, "--watch", "--interval", "2", "--max-iterations", "3")
    assert run.code == 0, run.err
    assert naps == [2.0, 2.0]
    assert len(re.findall(r"^--- block \d+, .* \(Ctrl-C to stop\)$", run.out, re.M)) == 3
    assert re.findall(r"^price:\s+([\d,.]+)$", run.out, re.M) == ["3,000.00", "3,100.00", "3,200.00"]
    naps.clear()
    lines = cli("status", vault, "--watch", "--interval", "0", "--max-iterations", "2", "--json").out.splitlines()
    reports = [json.loads(line) for line in lines]
    assert [r["price_wad"] for r in reports] == [3200 * WAD, 3100 * WAD]  # the last price, then 3,000 + 100
    assert reports[1]["block"] > reports[0]["block"] and reports[0]["vault"] == vault


def test_status_watch_stops_cleanly_on_ctrl_c_and_refuses_interval_alone(cli, open_vault, monkeypatch):
    from ringfence.cli import watch

    vault = open_vault()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(watch.time, "sleep", interrupt)
    run = cli("status", vault, "--watch")
    assert run.code == 0 and run.err == [] and run.out.count("--- block") == 1, (run.out, run.err)
    assert "--interval needs --watch" in one_line_error(cli("status", vault, "--interval", "3"))
