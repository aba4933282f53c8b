"""The command line's amounts: rounded in an explicit direction (down for what one holds or
receives, up for what one owes or needs), with enough decimals for two different amounts of an
error message to read differently."""

from __future__ import annotations

from ringfence.cli.errors import human_error
from ringfence.cli.formatting import distinct_places, fmt_amount, fmt_shares
from ringfence.errors import error_class


def test_amounts_round_down_unless_asked_up():
    assert fmt_amount(640_845_819, 6, "USDC") == "640.84 USDC"  # a payout: never more than paid
    assert fmt_amount(640_845_819, 6, "USDC", up=True) == "640.85 USDC"  # fees owed: never less
    assert fmt_amount(-1, 6) == "-0.01" and fmt_amount(-1, 6, up=True) == "0.00"
    assert fmt_amount(1_234_567_891, 6, places=6) == "1,234.567891"
    assert fmt_shares(19_999_999, 6) == "19.9999"


def test_distinct_places_show_the_gap_between_amounts():
    assert distinct_places([147_000_000, 300_000_000], 6) == 2
    assert distinct_places([299_999_999, 300_000_000], 6) == 6
    assert distinct_places([299_994_000, 300_000_000], 6) == 3
    assert distinct_places([5, 5], 6) == 2 and distinct_places([], 0) == 0


def test_an_error_s_two_amounts_never_read_the_same():
    error = error_class("InsufficientMargin")({"available": 299_999_999, "required": 300_000_000})
    assert human_error(error, 6, "USDC").endswith("299.999999 USDC < 300.000000 USDC")
    error = error_class("InsufficientMargin")({"available": 146_999_990, "required": 300_000_001})
    assert human_error(error, 6, "USDC").endswith("146.99 USDC < 300.01 USDC")  # required rounded up


def test_health_is_shown_rounded_down_to_three_decimals():
    """A health just under a target must not print as the target (the chain's healthDown rounds down)."""
    from ringfence.cli.formatting import fmt_health

    assert fmt_health(1_599_986_560_386_473_429) == "1.599"
    assert fmt_health(2_646_600_000_000_000_000) == "2.646"
    assert fmt_health(1_300_000_000_000_000_000) == "1.300"
    assert fmt_health(0) == "0.000"
    assert fmt_health(2**256 - 1) == "inf"
