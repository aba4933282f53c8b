// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketParams} from "./IMarginPool.sol";

/// @notice One vault as a wallet or keeper sees it. Zeroes except `status` when it is not open.
struct VaultView {
    address vault;
    address owner;
    uint8 status; // PositionStatus: 0 none, 1 open, 2 closed
    bool isLong;
    uint256 size;
    uint256 entryPriceWad;
    uint256 margin;
    uint256 maxProfit;
    uint256 fees;
    int256 equity;
    uint256 health; // WAD
    uint256 liquidationPriceWad;
    bool liquidatable;
}

/// @notice One market as a wallet sees it, read in one call. The price-dependent figures are zero
/// when the oracle refuses the price (`priceOk` false; the oracle's `price()` names the reason).
struct MarketState {
    MarketParams params;
    address asset;
    address oracle;
    address vaultImplementation;
    uint256 priceScale;
    bool priceOk;
    uint256 priceWad;
    uint256 feeIndex;
    uint256 openInterestLong; // entry notional
    uint256 openInterestShort; // entry notional
    uint256 sizeLong; // the longs' total size, WAD
    uint256 sizeShort; // the shorts' total size, WAD
    uint256 liquidity;
    uint256 freeLiquidity;
    uint256 reserved;
    uint256 pendingDeposits;
    uint256 totalAssets; // marked to the oracle price; 0 when the price is refused
    bool paused;
}

/// @title ILens
/// @notice Batch reads for wallets and keepers: many vaults of one pool at one oracle price.
interface ILens {
    /// @notice The vaults' state at the pool's oracle price (read once). Never reverts on a closed or
    /// unknown vault; reverts with the oracle's error when there is no trustworthy price.
    function vaults(address pool, address[] calldata vaults) external view returns (VaultView[] memory views);

    /// @notice Which of `vaults` are liquidatable now (same order).
    function liquidatable(address pool, address[] calldata vaults) external view returns (bool[] memory flags);

    /// @notice The market's state (parameters, price, fee index, open interest, liquidity) and the
    /// vaults' state at its price, in one call. Never reverts on a refused price: `priceOk` is false and
    /// the vaults' views hold only their address and status then.
    function market(address pool, address[] calldata vaults)
        external
        view
        returns (MarketState memory state, VaultView[] memory views);
}
