// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IMarginPool} from "../../interfaces/IMarginPool.sol";
import {IPriceOracle} from "../../interfaces/IPriceOracle.sol";
import {ILens, VaultView} from "../../interfaces/ILens.sol";
import {ILiquidator, Batch} from "../../interfaces/ILiquidator.sol";

/// @title FuzzReader
/// @notice TEST ONLY. Everything the stateful fuzzer checks after a step, in one `eth_call`: token balances,
/// each pool's aggregates (realized liquidity, pending deposits, the marked `totalAssets` with what it is
/// computed from: fee index and oracle price), the LP actors' shares and requests, each vault's position
/// (through the Lens, at one oracle price per pool, plus its fee base), and dry runs of liquidations
/// (liveness and safety) that undo themselves.
/// @dev `read` is not a view: it runs each liquidation probe in a self-call that always reverts, so no probe
/// sees another's effects and nothing persists. Call it with `eth_call` only.
contract FuzzReader {
    struct Query {
        address token;
        address lens;
        address liquidator;
        address[] lps; // the LP actors whose pool shares and requests are read
        bool probe; // run the liquidation dry runs
        address[] holders; // token holders outside vaults (actors, pools, funds)
        address[] pools;
        address[][] vaults; // per pool
    }

    struct LpRow {
        uint256 shares; // the LP's pool shares (escrowed ones excluded)
        uint256 depositAssets; // its pending deposit request: assets paid, quote (shares), time
        uint256 depositQuote;
        uint256 depositTime;
        uint256 redeemShares; // its pending redemption: shares escrowed, quote (assets), time
        uint256 redeemQuote;
        uint256 redeemTime;
    }

    struct PoolRow {
        uint256 balance; // the pool's token balance
        uint256 liquidity; // realized LP liquidity (`liquidity()`, the old `totalAssets`)
        uint256 totalClaimable;
        uint256 pendingDeposits;
        uint256 reserved;
        uint256 longSize;
        uint256 longNotional;
        uint256 shortSize;
        uint256 shortNotional;
        uint256 freeLiquidity;
        uint256 totalSupply; // pool shares, the escrowed ones of pending redemptions included
        uint256 escrowed; // pool shares held by the pool itself (pending redemptions)
        uint256 feeIndex; // currentFeeIndex()
        // The oracle price and the marked `totalAssets()` (both read with try/catch: false when refused).
        bool priced;
        uint256 priceWad;
        bool marked;
        uint256 totalAssets;
        LpRow[] lps; // per q.lps
        // Dry run of one Liquidator.liquidateBatch over the pool's liquidatable open vaults (when any).
        bool batchProbed;
        bool batchReverted;
        uint256 batchLiquidated;
        bytes batchError;
    }

    struct VaultRow {
        uint8 status;
        bool isLong;
        uint256 size;
        uint256 entryPriceWad;
        uint256 margin;
        uint256 maxProfit;
        uint256 feeBaseWad; // the position record's fee base (open positions: fees are owed from it)
        uint256 balance; // the vault's token balance (margin plus donations)
        bool liquidatable; // the Lens' verdict at the pool's oracle price
        // Dry run of Liquidator.liquidate(vault) alone (open vaults only).
        bool probed;
        bool liquidated;
        bytes probeError;
    }

    struct Snapshot {
        uint256 timestamp; // the block time the read saw (the fee index and the marked value depend on it)
        uint256[] balances; // of q.holders
        PoolRow[] pools;
        VaultRow[][] vaults;
    }

    /// @notice How a probe reports success: the self-call reverts with it so its effects are undone.
    error Probed(uint256 liquidated);

    /// @notice The snapshot of `q` (see the structs), liquidation dry runs included when `q.probe`.
    function read(Query calldata q) external returns (Snapshot memory s) {
        IERC20 token = IERC20(q.token);
        s.timestamp = block.timestamp;
        s.balances = new uint256[](q.holders.length);
        for (uint256 i; i < q.holders.length; ++i) {
            s.balances[i] = token.balanceOf(q.holders[i]);
        }
        s.pools = new PoolRow[](q.pools.length);
        s.vaults = new VaultRow[][](q.pools.length);
        for (uint256 i; i < q.pools.length; ++i) {
            s.pools[i] = _pool(token, IMarginPool(q.pools[i]), q.lps);
            s.vaults[i] = _vaults(token, q.lens, q.pools[i], q.vaults[i]);
        }
        if (!q.probe) return s;
        for (uint256 i; i < q.pools.length; ++i) {
            _probe(q.liquidator, q.pools[i], q.vaults[i], s.pools[i], s.vaults[i]);
        }
    }

    /// @notice Probe: liquidates one vault through the liquidator, then undoes it by reverting with Probed(1).
    function probeOne(address liquidator, address vault) external {
        ILiquidator(liquidator).liquidate(vault);
        revert Probed(1);
    }

    /// @notice Probe: one batch through the liquidator, then undoes it by reverting with Probed(count).
    function probeBatch(address liquidator, address pool, address[] calldata vaults) external {
        Batch[] memory batches = new Batch[](1);
        batches[0] = Batch(pool, vaults);
        uint256 liquidated = ILiquidator(liquidator).liquidateBatch(batches);
        revert Probed(liquidated);
    }

    function _pool(IERC20 token, IMarginPool pool, address[] calldata lps)
        internal
        view
        returns (PoolRow memory r)
    {
        r.balance = token.balanceOf(address(pool));
        r.liquidity = pool.liquidity();
        r.totalClaimable = pool.totalClaimable();
        r.pendingDeposits = pool.pendingDeposits();
        r.reserved = pool.reserved();
        (r.longSize, r.longNotional) = pool.openInterest(true);
        (r.shortSize, r.shortNotional) = pool.openInterest(false);
        r.freeLiquidity = pool.freeLiquidity();
        r.totalSupply = pool.totalSupply();
        r.escrowed = pool.balanceOf(address(pool));
        r.feeIndex = pool.currentFeeIndex();
        try IPriceOracle(pool.oracle()).price() returns (uint256 priceWad) {
            (r.priced, r.priceWad) = (true, priceWad);
        } catch {}
        try pool.totalAssets() returns (uint256 assets) {
            (r.marked, r.totalAssets) = (true, assets);
        } catch {}
        r.lps = new LpRow[](lps.length);
        for (uint256 k; k < lps.length; ++k) {
            LpRow memory l = r.lps[k];
            l.shares = pool.balanceOf(lps[k]);
            (l.depositAssets, l.depositQuote, l.depositTime) = pool.depositRequest(lps[k]);
            (l.redeemShares, l.redeemQuote, l.redeemTime) = pool.redeemRequest(lps[k]);
        }
    }

    function _vaults(IERC20 token, address lens, address pool, address[] calldata list)
        internal
        view
        returns (VaultRow[] memory rows)
    {
        rows = new VaultRow[](list.length);
        if (list.length == 0) return rows; // no oracle read for a pool without vaults
        VaultView[] memory views = ILens(lens).vaults(pool, list);
        for (uint256 j; j < list.length; ++j) {
            VaultView memory v = views[j];
            VaultRow memory r = rows[j];
            r.status = v.status;
            r.isLong = v.isLong;
            r.size = v.size;
            r.entryPriceWad = v.entryPriceWad;
            // open: the accounted margin; closed: the liquidation credit kept in the record
            r.margin = v.status == 1 ? v.margin : IMarginPool(pool).claimable(list[j]);
            r.maxProfit = v.maxProfit;
            r.feeBaseWad = IMarginPool(pool).position(list[j]).feeBaseWad;
            r.balance = token.balanceOf(list[j]);
            r.liquidatable = v.liquidatable;
        }
    }

    /// @dev Every open vault alone (liquidatable ones must go, healthy ones must not), then one batch of the
    /// liquidatable ones (all must go).
    function _probe(
        address liquidator,
        address pool,
        address[] calldata list,
        PoolRow memory poolRow,
        VaultRow[] memory rows
    ) internal {
        uint256 bad;
        for (uint256 j; j < list.length; ++j) {
            VaultRow memory r = rows[j];
            if (r.status != 1) continue;
            r.probed = true;
            (bool probed, uint256 liquidated, bytes memory reason) =
                _selfCall(abi.encodeCall(this.probeOne, (liquidator, list[j])));
            r.liquidated = probed && liquidated == 1;
            r.probeError = reason;
            if (r.liquidatable) ++bad;
        }
        if (bad == 0) return;
        address[] memory batch = new address[](bad);
        uint256 k;
        for (uint256 j; j < list.length; ++j) {
            if (rows[j].status == 1 && rows[j].liquidatable) batch[k++] = list[j];
        }
        poolRow.batchProbed = true;
        (bool ok, uint256 count, bytes memory error) =
            _selfCall(abi.encodeCall(this.probeBatch, (liquidator, pool, batch)));
        poolRow.batchReverted = !ok;
        poolRow.batchLiquidated = count;
        poolRow.batchError = error;
    }

    /// @dev A probe's outcome: (true, count, "") when it reverted with Probed(count), else (false, 0, reason).
    function _selfCall(bytes memory data) internal returns (bool probed, uint256 count, bytes memory reason) {
        (bool success, bytes memory ret) = address(this).call(data);
        if (!success && ret.length == 36 && bytes4(ret) == Probed.selector) {
            assembly ("memory-safe") {
                count := mload(add(ret, 36))
            }
            return (true, count, "");
        }
        return (false, 0, ret);
    }
}
