// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

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

/// @title ILens
/// @notice Batch reads for wallets and keepers: many vaults of one pool at one oracle price.
interface ILens {
    /// @notice The vaults' state at the pool's oracle price (read once). Never reverts on a closed or
    /// unknown vault; reverts with the oracle's error when there is no trustworthy price.
    function vaults(address pool, address[] calldata vaults) external view returns (VaultView[] memory views);

    /// @notice Which of `vaults` are liquidatable now (same order).
    function liquidatable(address pool, address[] calldata vaults) external view returns (bool[] memory flags);
}
