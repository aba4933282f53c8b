"""ChainlinkOracle: WAD scaling, every named error with its exact arguments, boundaries.

Runs on the embedded py-evm chain and on Anvil (``--network ethereum:local:foundry``).

Two things about the tooling shape this file:

* Custom errors. ``ape.reverts(contract.Error, **inputs)`` (ape 0.8.51) checks the error class
  and inputs only when ape decoded the revert into a ``CustomError``; for any other
  ``ContractLogicError`` it passes, whatever the revert was. That happens on Anvil 1.x for every
  reverting call: Anvil renders unknown revert data as text ("custom error 0x<selector>:
  <args>"), ape drops the JSON-RPC error's raw "data", and ape-foundry 0.8.12 cannot decode the
  text, so there ``ape.reverts(oracle.StalePrice, updatedAt=...)`` passes for *any* revert. It
  also happens on py-evm when the revert data holds a ' byte (0x27) and no " byte, e.g. every
  StalePrice (selector 0x2730eb48): ape only turns b'...' reprs of the data back into hex.
  Inputs that the error does not have are ignored silently as well. So every check here goes
  through ``oracle_reverts``, which compares the error name and *all* its arguments against
  what the backend actually returned: ape's decoded ``CustomError``, the exact revert data, or
  (Anvil calls) Anvil's rendering of the expected data. ``test_oracle_reverts_*`` checks that
  it does fail on a wrong error or wrong arguments, on both backends.

* Time. An ``eth_call`` runs at the head block's timestamp on both backends, but the chains
  differ after that: py-evm mines each block one second after its parent and implements
  ``chain.mine(timestamp=X)`` by mining blocks at X - 1 and X (so X must be >= head + 2), while
  Anvil follows the wall clock (several blocks can share a second) and refuses a timestamp
  below the head's. So each time-sensitive check writes absolute timestamps (some way past the
  head) into the mocks first, then mines exactly one target time with ``oracle_warp`` (which
  asserts that a call sees it), then calls ``price()``, which mines nothing. Exact boundaries on
  both sides are separate parametrized cases, each in its own snapshot.
"""

from ast import literal_eval
from contextlib import contextmanager

import ape
import pytest
from ape.exceptions import CustomError, TransactionError
from ape.utils import ZERO_ADDRESS
from eth_abi import encode as abi_encode
from eth_utils import (
    function_signature_to_4byte_selector,
    is_0x_prefixed,
    is_hex,
    to_checksum_address,
)
from hexbytes import HexBytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ETH, USDC, feed_answer, reverts

WAD = 10**18
UINT256_MAX = 2**256 - 1
INT256_MAX = 2**255 - 1

MAX_AGE = 3_600
GRACE_PERIOD = 1_800
ANSWER = 2_000 * 10**8  # 2000.00000000 on an 8-decimal feed
MIN_ANSWER = 1_000 * 10**8
MAX_ANSWER = 5_000 * 10**8

SCALED_DECIMALS = (0, 6, 8, 18, 24, 36)

# MockAggregator.Malformed
MALFORMED_SHORT = 1
MALFORMED_DIRTY_ROUND_ID = 2


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _error_abi(name: str):
    matches = [abi for abi in ape.project.ChainlinkOracle.contract_type.errors if abi.name == name]
    assert matches, f"ChainlinkOracle has no error {name}"
    return matches[0]


def _normalize(value):
    if hasattr(value, "address"):  # a contract instance or an account
        value = value.address
    if isinstance(value, str) and is_hex(value) and len(value) == 42:
        return to_checksum_address(value)
    return value


def _encode_error(name: str, inputs: dict) -> bytes:
    """The revert data of ChainlinkOracle's error `name` with exactly these arguments."""
    abi = _error_abi(name)
    names = [ipt.name for ipt in abi.inputs]
    assert sorted(inputs) == sorted(names), f"{name} takes exactly {names}, not {sorted(inputs)}"
    types = [ipt.canonical_type for ipt in abi.inputs]
    selector = function_signature_to_4byte_selector(abi.selector)  # .selector is the signature
    return selector + abi_encode(types, [inputs[n] for n in names])


def _describe(data: bytes) -> str:
    errors = ape.project.ChainlinkOracle.contract_type.errors
    if len(data) >= 4 and data[:4] in errors:
        abi = errors[data[:4]]
        try:
            inputs = ape.chain.provider.network.ecosystem.decode_calldata(abi, data[4:])
            return f"{abi.name}{dict(inputs)}"
        except Exception:  # noqa: BLE001
            pass
    return f"0x{data.hex()}"


def _revert_data(err) -> bytes | None:
    """The exact revert data of an undecoded ContractLogicError, where the error still holds it."""
    message = getattr(err, "revert_message", None) or ""
    if is_0x_prefixed(message) and is_hex(message):
        return bytes(HexBytes(message))
    if message[:2] in ("b'", 'b"'):
        # py-evm: ape 0.8.51 turns a b'...' repr of the revert data back into hex, but not a
        # b"..." one, which Python writes for data holding a ' byte (0x27) and no " byte
        # (StalePrice's selector is 0x2730eb48).
        return literal_eval(message)
    return None


def _as_reported_by_anvil(data: bytes) -> str:
    """The revert_message ape-foundry 0.8.12 makes of Anvil's JSON-RPC error for `data`.

    Anvil 1.x renders revert data it has no ABI for as text (foundry's RevertDecoder): all-ASCII
    data verbatim, otherwise "custom error 0x<selector>: <rest>" with the rest as UTF-8 if it
    is valid UTF-8, else hex. ape drops the JSON-RPC error's "data" field (its make_request
    raises ProviderError(message)), and ape-foundry strips the prefix and surrounding
    whitespace. Comparing this rendering of the expected data is exact where decoding the
    message would be ambiguous.
    """
    if len(data) < 4:
        text = f"custom error bytes 0x{data.hex()}" if data else ""
    elif data.isascii():
        text = data.decode()
    else:
        text = f"custom error 0x{data[:4].hex()}"
        if rest := data[4:]:
            try:
                text += ": " + rest.decode("utf-8")
            except UnicodeDecodeError:
                text += ": " + rest.hex()
    message = f"execution reverted: {text}".replace("execution reverted: ", "").strip()
    message = message or TransactionError.DEFAULT_MESSAGE
    return message[8:] if message.startswith("revert: ") else message


@contextmanager
def oracle_reverts(error_name: str, **expected_inputs):
    """Like ``ape.reverts``, but strict on both backends: the revert must be ChainlinkOracle's
    custom error ``error_name`` with exactly ``expected_inputs`` as its (complete) arguments."""
    expected = {k: _normalize(v) for k, v in expected_inputs.items()}
    expected_data = _encode_error(error_name, expected)
    with ape.reverts() as info:
        yield info
    err = info.value
    if isinstance(err, CustomError):  # decoded by ape
        actual = (err.abi.name, {k: _normalize(v) for k, v in err.inputs.items()})
        assert actual == (error_name, expected)
    elif (data := _revert_data(err)) is not None:  # py-evm, undecoded
        assert data == expected_data, f"expected {error_name}{expected}, got {_describe(data)}"
    else:  # Anvil: only its rendering of the data is left
        assert err.revert_message == _as_reported_by_anvil(expected_data), (
            f"expected {error_name}{expected}, got {err.revert_message!r}"
        )


def oracle_warp(chain, probe, timestamp: int) -> None:
    """Mine one block at exactly `timestamp`; check that an eth_call (to MockAggregator `probe`)
    now runs at that time."""
    chain.mine(timestamp=timestamp)
    assert chain.blocks.head.timestamp == timestamp
    assert probe.blockTimestamp() == timestamp


def _later(chain, seconds: int = 100) -> int:
    """A timestamp comfortably past the head, so that mining at it works on both backends."""
    return chain.blocks.head.timestamp + seconds


def _next_round(feed) -> int:
    return feed.latestRound() + 1


def _wad(answer: int, decimals: int) -> int:
    """The exact WAD value of a raw answer, rounded down."""
    return answer * WAD // 10**decimals


def _lowest_answer(decimals: int) -> int:
    """The lowest raw answer an oracle without bounds accepts: the least scaling to 1 wei."""
    return 10 ** max(decimals - 18, 0)


def _highest_answer(decimals: int) -> int:
    """The highest raw answer an oracle without bounds accepts: the largest whose WAD fits."""
    return min(INT256_MAX, UINT256_MAX // 10 ** max(18 - decimals, 0))


# --------------------------------------------------------------------------------------------
# Fixtures (module scoped: ape snapshots and restores the chain around every test)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle_owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def oracle_feed(project, oracle_owner):
    return oracle_owner.deploy(project.MockAggregator, 8, ANSWER)


@pytest.fixture(scope="module")
def oracle_l1(project, oracle_owner, oracle_feed):
    """An L1 oracle on an 8-decimal feed, without bounds."""
    return oracle_owner.deploy(project.ChainlinkOracle, oracle_feed, MAX_AGE, 0, 0, ZERO_ADDRESS, 0)


@pytest.fixture(scope="module")
def oracle_bounded(project, oracle_owner, oracle_feed):
    """An L1 oracle on the same feed, accepting [MIN_ANSWER, MAX_ANSWER]."""
    return oracle_owner.deploy(
        project.ChainlinkOracle, oracle_feed, MAX_AGE, MIN_ANSWER, MAX_ANSWER, ZERO_ADDRESS, 0
    )


@pytest.fixture(scope="module")
def oracle_sequencer(project, oracle_owner):
    return oracle_owner.deploy(project.MockSequencerFeed)


@pytest.fixture(scope="module")
def oracle_l2(project, oracle_owner, oracle_feed, oracle_sequencer):
    """An L2 oracle on the same feed, guarded by the sequencer uptime feed."""
    return oracle_owner.deploy(
        project.ChainlinkOracle, oracle_feed, MAX_AGE, 0, 0, oracle_sequencer, GRACE_PERIOD
    )


@pytest.fixture(scope="module")
def oracle_scaled(project, oracle_owner):
    """decimals -> (feed, oracle without bounds) for every decimals in SCALED_DECIMALS."""
    out = {}
    for decimals in SCALED_DECIMALS:
        feed = oracle_owner.deploy(project.MockAggregator, decimals, 10**decimals)
        out[decimals] = (
            feed,
            oracle_owner.deploy(project.ChainlinkOracle, feed, MAX_AGE, 0, 0, ZERO_ADDRESS, 0),
        )
    return out


def _l2_at(chain, owner, feed, sequencer, started_at: int, when: int) -> None:
    """Sequencer up since `started_at`, a fresh price at `when`, and the chain at `when`."""
    sequencer.setStartedAt(started_at, sender=owner)
    round_id = _next_round(feed)
    feed.setRoundData(round_id, ANSWER, when, when, round_id, sender=owner)
    oracle_warp(chain, feed, when)


# --------------------------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decimals, answer, expected",
    [
        (0, 3, 3 * WAD),
        (6, 1_000_000, WAD),
        (6, 1_234_567, 1_234_567 * 10**12),
        (8, 2_000 * 10**8, 2_000 * WAD),
        (8, 1, 10**10),
        (18, 42 * WAD + 7, 42 * WAD + 7),
        (24, 10**24, WAD),
        (24, 1_999_999, 1),  # rounds down
        (24, 10**6, 1),
        (36, 10**36 + 10**18 - 1, WAD),  # rounds down
    ],
)
def test_price_known_answer_scales_to_exact_wad(
    oracle_owner, oracle_scaled, decimals, answer, expected
):
    feed, scaled = oracle_scaled[decimals]
    feed.setAnswer(answer, sender=oracle_owner)
    assert scaled.price() == expected == _wad(answer, decimals)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_price_any_answer_in_range_scales_like_integer_maths(
    oracle_owner, oracle_scaled, data
):
    decimals = data.draw(st.sampled_from((6, 8, 18, 24)), label="decimals")
    lowest, highest = _lowest_answer(decimals), _highest_answer(decimals)
    answer = data.draw(
        st.integers(lowest, highest)
        | st.integers(lowest, min(highest, 10 ** (decimals + 12)))  # realistic magnitudes
        | st.sampled_from((lowest, highest)),
        label="answer",
    )
    feed, scaled = oracle_scaled[decimals]
    feed.setAnswer(answer, sender=oracle_owner)
    assert scaled.price() == _wad(answer, decimals)


@pytest.mark.parametrize("decimals", SCALED_DECIMALS)
def test_price_extreme_answers_in_range_never_zero_or_overflow(
    oracle_owner, oracle_scaled, decimals
):
    feed, scaled = oracle_scaled[decimals]
    lowest, highest = _lowest_answer(decimals), _highest_answer(decimals)
    feed.setAnswer(lowest, sender=oracle_owner)
    assert scaled.price() == _wad(lowest, decimals) >= 1
    feed.setAnswer(highest, sender=oracle_owner)
    assert scaled.price() == _wad(highest, decimals) <= UINT256_MAX


@pytest.mark.parametrize("decimals", (24, 36))
def test_price_answer_scaling_to_zero_reverts_out_of_bounds(
    oracle_owner, oracle_scaled, decimals
):
    feed, scaled = oracle_scaled[decimals]
    answer = _lowest_answer(decimals) - 1
    feed.setAnswer(answer, sender=oracle_owner)
    with oracle_reverts("PriceOutOfBounds", answer=answer, minAnswer=0, maxAnswer=0):
        scaled.price()


@pytest.mark.parametrize("decimals", (0, 6, 8))
def test_price_answer_overflowing_wad_reverts_out_of_bounds(
    oracle_owner, oracle_scaled, decimals
):
    feed, scaled = oracle_scaled[decimals]
    answer = _highest_answer(decimals) + 1
    feed.setAnswer(answer, sender=oracle_owner)
    with oracle_reverts("PriceOutOfBounds", answer=answer, minAnswer=0, maxAnswer=0):
        scaled.price()


# --------------------------------------------------------------------------------------------
# Round checks and their order
# --------------------------------------------------------------------------------------------


def test_price_answered_in_earlier_round_reverts_incomplete_round(
    chain, oracle_owner, oracle_feed, oracle_l1
):
    now = chain.blocks.head.timestamp
    oracle_feed.setRoundData(7, ANSWER, now, now, 6, sender=oracle_owner)
    with oracle_reverts("IncompleteRound", roundId=7, answeredInRound=6):
        oracle_l1.price()


def test_price_zero_updated_at_reverts_incomplete_round(oracle_owner, oracle_feed, oracle_l1):
    oracle_feed.setRoundData(7, ANSWER, 0, 0, 7, sender=oracle_owner)
    with oracle_reverts("IncompleteRound", roundId=7, answeredInRound=7):
        oracle_l1.price()


def test_price_incomplete_round_with_bad_answer_reverts_incomplete_round_first(
    oracle_owner, oracle_feed, oracle_l1
):
    oracle_feed.setRoundData(9, -5, 0, 0, 8, sender=oracle_owner)
    with oracle_reverts("IncompleteRound", roundId=9, answeredInRound=8):
        oracle_l1.price()


def test_price_answered_in_later_round_returns_price(chain, oracle_owner, oracle_feed, oracle_l1):
    now = chain.blocks.head.timestamp
    oracle_feed.setRoundData(7, ANSWER, now, now, 8, sender=oracle_owner)
    assert oracle_l1.price() == _wad(ANSWER, 8)


@pytest.mark.parametrize("answer", (0, -1, -(2**255)))
def test_price_non_positive_answer_reverts_non_positive_price(
    oracle_owner, oracle_feed, oracle_l1, answer
):
    oracle_feed.setAnswer(answer, sender=oracle_owner)
    with oracle_reverts("NonPositivePrice", answer=answer):
        oracle_l1.price()


def test_price_non_positive_answer_from_future_reverts_non_positive_price_first(
    chain, oracle_owner, oracle_feed, oracle_l1
):
    future = _later(chain, 10_000)
    oracle_feed.setRoundData(3, 0, future, future, 3, sender=oracle_owner)
    with oracle_reverts("NonPositivePrice", answer=0):
        oracle_l1.price()


@pytest.mark.parametrize("ahead", (1, 2, 10**9))
def test_price_updated_after_block_time_reverts_price_from_future(
    chain, oracle_owner, oracle_feed, oracle_l1, ahead
):
    when = _later(chain)
    oracle_feed.setRoundData(3, ANSWER, when, when + ahead, 3, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, when)
    with oracle_reverts("PriceFromFuture", updatedAt=when + ahead):
        oracle_l1.price()


def test_price_updated_at_block_time_returns_price(chain, oracle_owner, oracle_feed, oracle_l1):
    when = _later(chain)
    oracle_feed.setRoundData(3, ANSWER, when, when, 3, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, when)
    assert oracle_l1.price() == _wad(ANSWER, 8)


# --------------------------------------------------------------------------------------------
# Staleness (exact boundary: age == maxAge is accepted, maxAge + 1 is not)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("age", (0, 1, MAX_AGE - 1, MAX_AGE))
def test_price_age_up_to_max_age_returns_price(chain, oracle_owner, oracle_feed, oracle_l1, age):
    updated_at = _later(chain)
    oracle_feed.setRoundData(4, ANSWER, updated_at, updated_at, 4, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, updated_at + age)
    assert oracle_l1.price() == _wad(ANSWER, 8)


@pytest.mark.parametrize("age", (MAX_AGE + 1, MAX_AGE + 2, 10 * MAX_AGE))
def test_price_age_over_max_age_reverts_stale_price(
    chain, oracle_owner, oracle_feed, oracle_l1, age
):
    updated_at = _later(chain)
    oracle_feed.setRoundData(4, ANSWER, updated_at, updated_at, 4, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, updated_at + age)
    with oracle_reverts("StalePrice", updatedAt=updated_at, maxAge=MAX_AGE):
        oracle_l1.price()


def test_price_answer_aging_past_max_age_reverts_stale_price(
    chain, oracle_owner, oracle_feed, oracle_l1
):
    oracle_feed.setAnswer(ANSWER, sender=oracle_owner)
    updated_at = oracle_feed.latestTimestamp()
    assert oracle_l1.price() == _wad(ANSWER, 8)
    oracle_warp(chain, oracle_feed, updated_at + MAX_AGE + 1)
    with oracle_reverts("StalePrice", updatedAt=updated_at, maxAge=MAX_AGE):
        oracle_l1.price()
    oracle_feed.setAnswer(ANSWER + 1, sender=oracle_owner)  # a new round: fresh again
    assert oracle_l1.price() == _wad(ANSWER + 1, 8)


def test_price_stale_answer_out_of_bounds_reverts_stale_price_first(
    chain, oracle_owner, oracle_feed, oracle_bounded
):
    updated_at = _later(chain)
    oracle_feed.setRoundData(4, MAX_ANSWER + 1, updated_at, updated_at, 4, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, updated_at + MAX_AGE + 1)
    with oracle_reverts("StalePrice", updatedAt=updated_at, maxAge=MAX_AGE):
        oracle_bounded.price()


# --------------------------------------------------------------------------------------------
# Bounds (inclusive, raw feed units)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", (MIN_ANSWER, MIN_ANSWER + 1, ANSWER, MAX_ANSWER - 1, MAX_ANSWER))
def test_price_answer_within_bounds_returns_price(
    oracle_owner, oracle_feed, oracle_bounded, answer
):
    oracle_feed.setAnswer(answer, sender=oracle_owner)
    assert oracle_bounded.price() == _wad(answer, 8)


@pytest.mark.parametrize("answer", (1, MIN_ANSWER - 1, MAX_ANSWER + 1, INT256_MAX))
def test_price_answer_outside_bounds_reverts_price_out_of_bounds(
    oracle_owner, oracle_feed, oracle_bounded, answer
):
    oracle_feed.setAnswer(answer, sender=oracle_owner)
    with oracle_reverts(
        "PriceOutOfBounds", answer=answer, minAnswer=MIN_ANSWER, maxAnswer=MAX_ANSWER
    ):
        oracle_bounded.price()


# --------------------------------------------------------------------------------------------
# Failing feeds
# --------------------------------------------------------------------------------------------


def test_price_feed_reverting_reverts_oracle_call_failed(oracle_owner, oracle_feed, oracle_l1):
    oracle_feed.setReverts(True, sender=oracle_owner)
    with oracle_reverts("OracleCallFailed", feed=oracle_feed.address):
        oracle_l1.price()


def test_price_feed_burning_all_gas_reverts_oracle_call_failed(
    oracle_owner, oracle_feed, oracle_l1
):
    oracle_feed.setBurnsGas(True, sender=oracle_owner)
    with oracle_reverts("OracleCallFailed", feed=oracle_feed.address):
        oracle_l1.price()


@pytest.mark.parametrize("mode", (MALFORMED_SHORT, MALFORMED_DIRTY_ROUND_ID))
def test_price_feed_returning_malformed_data_reverts_oracle_call_failed(
    oracle_owner, oracle_feed, oracle_l1, mode
):
    oracle_feed.setMalformed(mode, sender=oracle_owner)
    with oracle_reverts("OracleCallFailed", feed=oracle_feed.address):
        oracle_l1.price()


def test_price_feed_recovering_returns_price(oracle_owner, oracle_feed, oracle_l1):
    oracle_feed.setReverts(True, sender=oracle_owner)
    with oracle_reverts("OracleCallFailed", feed=oracle_feed.address):
        oracle_l1.price()
    oracle_feed.setReverts(False, sender=oracle_owner)
    oracle_feed.setAnswer(ANSWER, sender=oracle_owner)
    assert oracle_l1.price() == _wad(ANSWER, 8)


# --------------------------------------------------------------------------------------------
# Feed decimals changing after deployment (a feed proxy moved to another aggregator)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", ("oracle_l1", "oracle_bounded"))
def test_price_feed_moving_from_8_to_18_decimals_reverts_feed_decimals_changed(
    request, oracle_owner, oracle_feed, config
):
    # Unchecked, the 18-decimal answer 3.0e21 would be scaled as 8 decimals: 3.0e31 WAD without
    # a band (instead of 3.0e21), PriceOutOfBounds forever with one.
    oracle = request.getfixturevalue(config)
    assert oracle.price() == _wad(ANSWER, 8)
    oracle_feed.setDecimals(18, sender=oracle_owner)
    oracle_feed.setAnswer(3_000 * WAD, sender=oracle_owner)
    with oracle_reverts("FeedDecimalsChanged", expected=8, actual=18):
        oracle.price()
    assert oracle.feedDecimals() == 8


@pytest.mark.parametrize("config", ("oracle_l1", "oracle_bounded"))
def test_price_feed_moving_back_to_8_decimals_returns_price(
    request, oracle_owner, oracle_feed, config
):
    oracle = request.getfixturevalue(config)
    oracle_feed.setDecimals(18, sender=oracle_owner)
    oracle_feed.setAnswer(3_000 * WAD, sender=oracle_owner)
    with oracle_reverts("FeedDecimalsChanged", expected=8, actual=18):
        oracle.price()
    oracle_feed.setDecimals(8, sender=oracle_owner)
    oracle_feed.setAnswer(3_000 * 10**8, sender=oracle_owner)
    assert oracle.price() == 3_000 * WAD


@pytest.mark.parametrize("decimals", (0, 6, 7, 9, 18, 36, 37, 255))
def test_price_feed_any_other_decimals_reverts_feed_decimals_changed(
    oracle_owner, oracle_feed, oracle_l1, decimals
):
    oracle_feed.setDecimals(decimals, sender=oracle_owner)
    with oracle_reverts("FeedDecimalsChanged", expected=8, actual=decimals):
        oracle_l1.price()


def test_price_feed_decimals_changed_and_answer_stale_reverts_feed_decimals_changed_first(
    chain, oracle_owner, oracle_feed, oracle_bounded
):
    # The answer's units are unknown: no check on it comes before the decimals check.
    updated_at = _later(chain)
    oracle_feed.setRoundData(4, 3_000 * WAD, updated_at, updated_at, 4, sender=oracle_owner)
    oracle_feed.setDecimals(18, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, updated_at + MAX_AGE + 1)
    with oracle_reverts("FeedDecimalsChanged", expected=8, actual=18):
        oracle_bounded.price()


def test_price_feed_decimals_reverting_reverts_oracle_call_failed(
    oracle_owner, oracle_feed, oracle_l1
):
    oracle_feed.setDecimalsReverts(True, sender=oracle_owner)
    with oracle_reverts("OracleCallFailed", feed=oracle_feed.address):
        oracle_l1.price()
    oracle_feed.setDecimalsReverts(False, sender=oracle_owner)
    assert oracle_l1.price() == _wad(ANSWER, 8)


def test_market_feed_decimals_changed_blocks_priced_actions_but_not_adding_margin(
    market, feed, owner, alice, keeper, protocol, usdc, open_vault
):
    vault = open_vault()
    feed.setDecimals(18, sender=owner)
    feed.setAnswer(3_000 * WAD, sender=owner)
    before = (int(usdc.balanceOf(alice)), int(usdc.balanceOf(vault)), int(usdc.balanceOf(market.pool)))
    with reverts("FeedDecimalsChanged", expected=8, actual=18):
        market.open(alice, is_long=False, size=ETH, margin=400 * USDC, nonce=1)
    with reverts("FeedDecimalsChanged", expected=8, actual=18):
        market.remove_margin(alice, vault, 1 * USDC)
    with reverts("FeedDecimalsChanged", expected=8, actual=18):
        market.close(alice, vault)
    with reverts("FeedDecimalsChanged", expected=8, actual=18):
        protocol.liquidate(keeper, vault)
    assert (int(usdc.balanceOf(alice)), int(usdc.balanceOf(vault)), int(usdc.balanceOf(market.pool))) == before
    market.add_margin(alice, vault, 10 * USDC)
    assert market.position(vault).margin == 410 * USDC
    feed.setDecimals(8, sender=owner)
    feed.setAnswer(feed_answer(3_000), sender=owner)
    market.close(alice, vault)
    assert not market.position(vault).is_open


# --------------------------------------------------------------------------------------------
# L2 sequencer uptime feed
# --------------------------------------------------------------------------------------------


def test_price_sequencer_down_reverts_sequencer_down(
    chain, oracle_owner, oracle_feed, oracle_sequencer, oracle_l2
):
    started_at = _later(chain)
    after_grace = started_at + 2 * GRACE_PERIOD
    _l2_at(chain, oracle_owner, oracle_feed, oracle_sequencer, started_at, after_grace)
    assert oracle_l2.price() == _wad(ANSWER, 8)
    oracle_sequencer.setStatus(True, sender=oracle_owner)
    with oracle_reverts("SequencerDown"):
        oracle_l2.price()


def test_price_sequencer_down_and_feed_reverting_reverts_sequencer_down_first(
    oracle_owner, oracle_feed, oracle_sequencer, oracle_l2
):
    oracle_sequencer.setStatus(True, sender=oracle_owner)
    oracle_feed.setReverts(True, sender=oracle_owner)
    with oracle_reverts("SequencerDown"):
        oracle_l2.price()


def test_price_sequencer_round_invalid_reverts_sequencer_down(
    chain, oracle_owner, oracle_feed, oracle_sequencer, oracle_l2
):
    # Chainlink: startedAt == 0 means the status round is invalid.
    when = _later(chain)
    _l2_at(chain, oracle_owner, oracle_feed, oracle_sequencer, 0, when)
    with oracle_reverts("SequencerDown"):
        oracle_l2.price()


@pytest.mark.parametrize("since_up", (0, 1, GRACE_PERIOD - 1, GRACE_PERIOD))
def test_price_sequencer_up_within_grace_period_reverts_sequencer_grace_period(
    chain, oracle_owner, oracle_feed, oracle_sequencer, oracle_l2, since_up
):
    started_at = _later(chain)
    _l2_at(chain, oracle_owner, oracle_feed, oracle_sequencer, started_at, started_at + since_up)
    with oracle_reverts("SequencerGracePeriod", upSince=started_at, gracePeriod=GRACE_PERIOD):
        oracle_l2.price()


@pytest.mark.parametrize("since_up", (GRACE_PERIOD + 1, GRACE_PERIOD + 2, 100 * GRACE_PERIOD))
def test_price_sequencer_up_after_grace_period_returns_price(
    chain, oracle_owner, oracle_feed, oracle_sequencer, oracle_l2, since_up
):
    started_at = _later(chain)
    _l2_at(chain, oracle_owner, oracle_feed, oracle_sequencer, started_at, started_at + since_up)
    assert oracle_l2.price() == _wad(ANSWER, 8)


def test_price_sequencer_up_since_future_reverts_sequencer_grace_period(
    chain, oracle_owner, oracle_feed, oracle_sequencer, oracle_l2
):
    when = _later(chain)
    _l2_at(chain, oracle_owner, oracle_feed, oracle_sequencer, when + 1, when)
    with oracle_reverts("SequencerGracePeriod", upSince=when + 1, gracePeriod=GRACE_PERIOD):
        oracle_l2.price()


def test_price_sequencer_just_restarted_reverts_sequencer_grace_period(
    chain, oracle_owner, oracle_feed, oracle_sequencer, oracle_l2
):
    started_at = _later(chain)
    after_grace = started_at + 2 * GRACE_PERIOD
    _l2_at(chain, oracle_owner, oracle_feed, oracle_sequencer, started_at, after_grace)
    assert oracle_l2.price() == _wad(ANSWER, 8)
    oracle_sequencer.setStatus(True, sender=oracle_owner)
    oracle_sequencer.setStatus(False, sender=oracle_owner)  # back up: startedAt = this block
    restarted = oracle_sequencer.startedAt()
    assert restarted == chain.blocks.head.timestamp
    with oracle_reverts("SequencerGracePeriod", upSince=restarted, gracePeriod=GRACE_PERIOD):
        oracle_l2.price()


def test_price_sequencer_up_with_stale_price_reverts_stale_price(
    chain, oracle_owner, oracle_feed, oracle_sequencer, oracle_l2
):
    started_at = _later(chain)
    oracle_sequencer.setStartedAt(started_at, sender=oracle_owner)
    oracle_feed.setRoundData(5, ANSWER, started_at, started_at, 5, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, started_at + MAX_AGE + 1)
    with oracle_reverts("StalePrice", updatedAt=started_at, maxAge=MAX_AGE):
        oracle_l2.price()


def test_price_sequencer_feed_reverting_reverts_oracle_call_failed(
    chain, project, oracle_owner, oracle_feed
):
    # A MockAggregator stands in for the uptime feed: answer 0 = up, startedAt = its round's.
    sequencer = oracle_owner.deploy(project.MockAggregator, 0, 0)
    oracle_l2 = oracle_owner.deploy(
        project.ChainlinkOracle, oracle_feed, MAX_AGE, 0, 0, sequencer, GRACE_PERIOD
    )
    started_at = _later(chain)
    sequencer.setRoundData(2, 0, started_at, started_at, 2, sender=oracle_owner)
    oracle_feed.setRoundData(5, ANSWER, started_at, started_at, 5, sender=oracle_owner)
    oracle_warp(chain, oracle_feed, started_at + GRACE_PERIOD + 1)
    assert oracle_l2.price() == _wad(ANSWER, 8)
    sequencer.setReverts(True, sender=oracle_owner)
    with oracle_reverts("OracleCallFailed", feed=sequencer.address):
        oracle_l2.price()


# --------------------------------------------------------------------------------------------
# Constructor and views
# --------------------------------------------------------------------------------------------


def test_views_deployed_oracle_return_configuration(
    oracle_feed, oracle_sequencer, oracle_l2, oracle_bounded
):
    assert oracle_l2.feed() == oracle_feed.address
    assert oracle_l2.sequencerFeed() == oracle_sequencer.address
    assert oracle_l2.gracePeriod() == GRACE_PERIOD
    assert oracle_l2.maxAge() == MAX_AGE
    assert oracle_l2.feedDecimals() == 8
    assert (oracle_l2.minAnswer(), oracle_l2.maxAnswer()) == (0, 0)
    assert (oracle_bounded.minAnswer(), oracle_bounded.maxAnswer()) == (MIN_ANSWER, MAX_ANSWER)
    assert oracle_bounded.sequencerFeed() == ZERO_ADDRESS
    assert oracle_bounded.gracePeriod() == 0


@pytest.mark.parametrize("decimals", SCALED_DECIMALS)
def test_views_any_supported_decimals_reports_feed_decimals(oracle_scaled, decimals):
    assert oracle_scaled[decimals][1].feedDecimals() == decimals


def test_deploy_zero_feed_reverts_zero_address(project, oracle_owner):
    with oracle_reverts("ZeroAddress"):
        oracle_owner.deploy(project.ChainlinkOracle, ZERO_ADDRESS, MAX_AGE, 0, 0, ZERO_ADDRESS, 0)


def test_deploy_zero_max_age_reverts_invalid_max_age(project, oracle_owner, oracle_feed):
    with oracle_reverts("InvalidMaxAge", maxAge=0):
        oracle_owner.deploy(project.ChainlinkOracle, oracle_feed, 0, 0, 0, ZERO_ADDRESS, 0)


@pytest.mark.parametrize(
    "min_answer, max_answer",
    [
        (-1, 0),
        (-1, MAX_ANSWER),
        (MAX_ANSWER, MAX_ANSWER),
        (MAX_ANSWER + 1, MAX_ANSWER),
        (0, -1),
        (-(2**255), -1),
    ],
)
def test_deploy_malformed_bounds_reverts_invalid_bounds(
    project, oracle_owner, oracle_feed, min_answer, max_answer
):
    with oracle_reverts("InvalidBounds", minAnswer=min_answer, maxAnswer=max_answer):
        oracle_owner.deploy(
            project.ChainlinkOracle, oracle_feed, MAX_AGE, min_answer, max_answer, ZERO_ADDRESS, 0
        )


@pytest.mark.parametrize(
    "decimals, min_answer, max_answer",
    [
        (24, 0, 10**6 - 1),  # every accepted answer would scale to 0
        (6, 0, _highest_answer(6) + 1),  # maxAnswer * 1e12 overflows uint256
        (6, _highest_answer(6) + 1, 0),  # no upper bound, but nothing at or above min fits
    ],
)
def test_deploy_bounds_accepting_no_representable_answer_reverts_invalid_bounds(
    project, oracle_owner, decimals, min_answer, max_answer
):
    feed = oracle_owner.deploy(project.MockAggregator, decimals, 10**decimals)
    with oracle_reverts("InvalidBounds", minAnswer=min_answer, maxAnswer=max_answer):
        oracle_owner.deploy(
            project.ChainlinkOracle, feed, MAX_AGE, min_answer, max_answer, ZERO_ADDRESS, 0
        )


@pytest.mark.parametrize("decimals", (37, 255))
def test_deploy_feed_over_36_decimals_reverts_unsupported_feed_decimals(
    project, oracle_owner, decimals
):
    feed = oracle_owner.deploy(project.MockAggregator, decimals, 1)
    with oracle_reverts("UnsupportedFeedDecimals", decimals=decimals):
        oracle_owner.deploy(project.ChainlinkOracle, feed, MAX_AGE, 0, 0, ZERO_ADDRESS, 0)


def test_deploy_feed_without_code_reverts_oracle_call_failed(project, accounts, oracle_owner):
    not_a_feed = accounts[1].address
    with oracle_reverts("OracleCallFailed", feed=not_a_feed):
        oracle_owner.deploy(project.ChainlinkOracle, not_a_feed, MAX_AGE, 0, 0, ZERO_ADDRESS, 0)


def test_deploy_bounds_at_limits_deploys(project, oracle_owner, oracle_feed):
    # min == 0 with max == 1 (the narrowest range), and the largest maxAnswer for 8 decimals.
    narrow = oracle_owner.deploy(project.ChainlinkOracle, oracle_feed, 1, 0, 1, ZERO_ADDRESS, 0)
    assert (narrow.minAnswer(), narrow.maxAnswer(), narrow.maxAge()) == (0, 1, 1)
    widest = oracle_owner.deploy(
        project.ChainlinkOracle, oracle_feed, MAX_AGE, 0, _highest_answer(8), ZERO_ADDRESS, 0
    )
    assert widest.maxAnswer() == _highest_answer(8)


# --------------------------------------------------------------------------------------------
# Gas
# --------------------------------------------------------------------------------------------


def test_price_read_costs_little_more_than_reading_the_feed(
    chain, oracle_owner, oracle_feed, oracle_l1, oracle_sequencer, oracle_l2
):
    # As transactions, so both backends report the same, exact gas (py-evm's eth_estimateGas pads).
    # The overhead over a direct latestRoundData() is the cold CALL to the feed (2,600), the
    # decimals() read at the then warm feed (about 600 with this mock) and the checks and scaling
    # on immutables; the sequencer check adds one more feed read.
    long_up = chain.blocks.head.timestamp - 2 * GRACE_PERIOD
    oracle_sequencer.setStartedAt(long_up, sender=oracle_owner)
    feed_read = oracle_feed.latestRoundData.transact(sender=oracle_owner).gas_used
    l1 = oracle_l1.price.transact(sender=oracle_owner).gas_used
    l2 = oracle_l2.price.transact(sender=oracle_owner).gas_used
    assert l1 - feed_read < 4_200
    assert l2 - l1 < 12_500


# --------------------------------------------------------------------------------------------
# The strict revert helper itself
# --------------------------------------------------------------------------------------------


def test_oracle_reverts_wrong_error_or_arguments_fails(oracle_owner, oracle_feed, oracle_l1):
    oracle_feed.setAnswer(0, sender=oracle_owner)
    with pytest.raises(AssertionError):
        with oracle_reverts("StalePrice", updatedAt=0, maxAge=MAX_AGE):
            oracle_l1.price()
    with pytest.raises(AssertionError):
        with oracle_reverts("NonPositivePrice", answer=1):
            oracle_l1.price()
    with pytest.raises(AssertionError):
        with oracle_reverts("NonPositivePrice"):  # arguments are compared in full
            oracle_l1.price()
    with oracle_reverts("NonPositivePrice", answer=0):
        oracle_l1.price()
