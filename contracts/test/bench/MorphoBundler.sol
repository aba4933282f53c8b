// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title IMorphoBlue
/// @notice BENCH ONLY. The part of Morpho Blue 1.0.0's `IMorpho` that `MorphoBundler` calls: Morpho's
/// `MarketParams` field for field and its functions' exact signatures (Morpho's `Id` is a `bytes32`).
interface IMorphoBlue {
    /// @notice Morpho Blue's market parameters; their ABI encoding hashed is the market's id.
    struct MarketParams {
        address loanToken;
        address collateralToken;
        address oracle;
        address irm;
        uint256 lltv;
    }

    /// @notice Pulls `assets` of collateral from the caller for `onBehalf`.
    function supplyCollateral(MarketParams memory marketParams, uint256 assets, address onBehalf, bytes memory data)
        external;

    /// @notice Sends `assets` of `onBehalf`'s collateral to `receiver` (caller authorised by `onBehalf`).
    function withdrawCollateral(MarketParams memory marketParams, uint256 assets, address onBehalf, address receiver)
        external;

    /// @notice Borrows for `onBehalf` (caller authorised by `onBehalf`), paid to `receiver`.
    function borrow(
        MarketParams memory marketParams,
        uint256 assets,
        uint256 shares,
        address onBehalf,
        address receiver
    ) external returns (uint256 assetsBorrowed, uint256 sharesBorrowed);

    /// @notice Repays `onBehalf`'s debt, pulling the assets from the caller (after `onMorphoRepay` if `data`).
    function repay(
        MarketParams memory marketParams,
        uint256 assets,
        uint256 shares,
        address onBehalf,
        bytes memory data
    ) external returns (uint256 assetsRepaid, uint256 sharesRepaid);

    /// @notice Liquidates `borrower`: the caller repays and receives the seized collateral.
    function liquidate(
        MarketParams memory marketParams,
        address borrower,
        uint256 seizedAssets,
        uint256 repaidShares,
        bytes memory data
    ) external returns (uint256, uint256);

    /// @notice `user`'s position in the market `id`.
    function position(bytes32 id, address user)
        external
        view
        returns (uint256 supplyShares, uint128 borrowShares, uint128 collateral);
}

/// @title MorphoBundler
/// @notice BENCH ONLY, not part of the protocol: a stand-in for Morpho's bundlers and their multicall, so
/// the gas bench can put Morpho Blue's one-transaction flows next to Ringfence's. As with Morpho's own
/// bundlers, a user authorises it once on Morpho (`setAuthorization(bundler, true)`) and approves it for
/// the tokens, and `approveMorpho` lets Morpho pull a token from the bundler (once per token): set-up.
/// `liquidateBatch` is a keeper's own contract: it uses the USDC the bundler holds and keeps the seized
/// collateral, and only its deployer may call it.
contract MorphoBundler {
    using SafeERC20 for IERC20;

    /// @notice `onMorphoRepay` was called by `caller`, not Morpho.
    error NotMorpho(address caller);

    /// @notice `liquidateBatch` was called by `caller`, not the bundler's deployer.
    error NotOwner(address caller);

    /// @notice The Morpho Blue instance.
    IMorphoBlue public immutable morpho;

    /// @notice The deployer: the keeper whose USDC the bundler holds.
    address public immutable owner;

    /// @param morpho_ The Morpho Blue instance.
    constructor(IMorphoBlue morpho_) {
        morpho = morpho_;
        owner = msg.sender;
    }

    /// @notice Lets Morpho pull `token` from the bundler (set-up, once per token).
    /// @param token The token.
    function approveMorpho(IERC20 token) external {
        token.forceApprove(address(morpho), type(uint256).max);
    }

    /// @notice Opens a borrow in one transaction: pulls `collateral` from the caller, supplies it for the
    /// caller, borrows `borrowAssets` for the caller and sends them to the caller.
    /// @param params The market.
    /// @param collateral The collateral to supply, in collateral-token units.
    /// @param borrowAssets The loan to take, in loan-token units.
    function open(IMorphoBlue.MarketParams calldata params, uint256 collateral, uint256 borrowAssets) external {
        IERC20(params.collateralToken).safeTransferFrom(msg.sender, address(this), collateral);
        morpho.supplyCollateral(params, collateral, msg.sender, "");
        morpho.borrow(params, borrowAssets, 0, msg.sender, msg.sender);
    }

    /// @notice Closes the caller's borrow in one transaction: repays all its borrow shares (the repaid
    /// assets pulled from the caller in `onMorphoRepay`), then sends all its collateral to it.
    /// @param params The market.
    function close(IMorphoBlue.MarketParams calldata params) external {
        (, uint128 borrowShares, uint128 collateral) = morpho.position(_id(params), msg.sender);
        if (borrowShares != 0) {
            morpho.repay(params, 0, borrowShares, msg.sender, abi.encode(params.loanToken, msg.sender));
        }
        morpho.withdrawCollateral(params, collateral, msg.sender, msg.sender);
    }

    /// @notice Morpho's repay callback: pulls exactly the repaid `assets` from the user being closed.
    /// @param assets The assets Morpho is about to pull from the bundler.
    /// @param data The loan token and the user, from `close`.
    function onMorphoRepay(uint256 assets, bytes calldata data) external {
        if (msg.sender != address(morpho)) revert NotMorpho(msg.sender);
        (address token, address user) = abi.decode(data, (address, address));
        IERC20(token).safeTransferFrom(user, address(this), assets);
    }

    /// @notice Liquidates each borrower's whole debt (all its borrow shares), one Morpho call each.
    /// @param params The market.
    /// @param borrowers The borrowers to liquidate.
    function liquidateBatch(IMorphoBlue.MarketParams calldata params, address[] calldata borrowers) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        bytes32 id = _id(params);
        for (uint256 i; i < borrowers.length; ++i) {
            (, uint128 borrowShares,) = morpho.position(id, borrowers[i]);
            if (borrowShares != 0) morpho.liquidate(params, borrowers[i], 0, borrowShares, "");
        }
    }

    function _id(IMorphoBlue.MarketParams calldata params) private pure returns (bytes32) {
        return keccak256(abi.encode(params));
    }
}
