// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IMarginPool, MarketParams, Position, PositionStatus} from "../interfaces/IMarginPool.sol";
import {IPositionVault} from "../interfaces/IPositionVault.sol";
import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginMath} from "./libraries/MarginMath.sol";
import {PositionVault} from "./PositionVault.sol";
import {InsuranceFund} from "./InsuranceFund.sol";

/// @title MarginPool
/// @notice One Ringfence market. See IMarginPool.
/// @dev Accounting: `_liquidity` is what the LPs own (deposits, realized trader losses and fees, minus
/// realized trader profits and withdrawals); tokens sent to the pool by anyone else are not counted.
/// `reserved` is the sum of the open positions' maximum payouts; LP withdrawals and new positions only
/// use `_liquidity - reserved`, so every winner can always be paid.
contract MarginPool is IMarginPool, ERC4626, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev Fee index at the pool's creation; the open fee is folded in below it, so it must exceed any open fee.
    uint256 internal constant INITIAL_FEE_INDEX = 1e18;

    /// @dev Open interest of one side.
    struct Side {
        uint128 size;
        uint128 entryNotional;
    }

    /// @inheritdoc IMarginPool
    address public immutable factory;
    /// @inheritdoc IMarginPool
    address public immutable oracle;
    /// @inheritdoc IMarginPool
    address public immutable insuranceFund;
    /// @inheritdoc IMarginPool
    address public immutable vaultImplementation;
    /// @dev 10**(36 - asset decimals): size (WAD) * price (WAD) / SCALE = assets.
    uint256 internal immutable SCALE;

    MarketParams internal _params;
    uint128 internal _feeIndex;
    uint64 internal _lastAccrual;
    /// @inheritdoc IMarginPool
    bool public paused;
    uint256 internal _liquidity;
    /// @inheritdoc IMarginPool
    uint256 public reserved;
    Side internal _longs;
    Side internal _shorts;
    mapping(address vault => Position) internal _positions;

    /// @param factory_ The PoolFactory that created this market (through MarginPoolDeployer).
    /// @param asset_ Settlement token (6 to 36 decimals, no fee on transfer, no rebasing).
    /// @param oracle_ Price of the index asset in the settlement token (IPriceOracle).
    /// @param params_ Checked by the factory against its hard bounds.
    constructor(
        address factory_,
        address asset_,
        address oracle_,
        MarketParams memory params_,
        string memory name_,
        string memory symbol_
    )
        ERC4626(IERC20(asset_))
        ERC20(name_, symbol_)
    {
        uint8 assetDecimals = IERC20Metadata(asset_).decimals();
        if (assetDecimals > 36) revert UnsupportedAssetDecimals(assetDecimals);
        SCALE = 10 ** (36 - uint256(assetDecimals));
        factory = factory_;
        oracle = oracle_;
        _params = params_;
        _feeIndex = uint128(INITIAL_FEE_INDEX);
        _lastAccrual = uint64(block.timestamp);
        insuranceFund = address(new InsuranceFund(asset_));
        vaultImplementation = address(new PositionVault());
    }

    modifier onlyFactory() {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        _;
    }

    // ================================================================ trader

    /// @inheritdoc IMarginPool
    function openPosition(uint96 nonce, bool isLong, uint256 size, uint256 margin, uint256 acceptablePriceWad)
        external
        nonReentrant
        returns (address vault)
    {
        if (paused) revert MarketPaused();
        bytes32 salt = _salt(msg.sender, nonce);
        vault = Clones.predictDeterministicAddress(vaultImplementation, salt);
        Position storage p = _positions[vault];
        if (p.status == PositionStatus.Open) revert PositionAlreadyOpen(vault);

        uint256 feeIndex = _accrue();
        uint256 priceWad = _price();
        _checkSlippage(isLong, priceWad, acceptablePriceWad);
        _open(p, vault, isLong, size, margin, priceWad, feeIndex);

        if (p.status == PositionStatus.None) {
            // First position of this vault: the vault is created here, in the same transaction.
            Clones.cloneDeterministic(vaultImplementation, salt);
            IPositionVault(vault).initialize(msg.sender);
        }
        p.status = PositionStatus.Open;
        _pullInto(vault, msg.sender, margin);
    }

    /// @inheritdoc IMarginPool
    function addMargin(address vault, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _openPosition(vault);
        uint256 marginAfter = p.margin + amount;
        p.margin = marginAfter.toUint128();
        emit MarginAdded(vault, msg.sender, amount, marginAfter);
        _pullInto(vault, msg.sender, amount);
    }

    /// @inheritdoc IMarginPool
    function removeMargin(address vault, uint256 amount, address receiver) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _openPosition(vault);
        _requireVaultOwner(vault);
        uint256 feeIndex = _accrue();
        uint256 priceWad = _price();

        uint256 margin = p.margin;
        uint256 marginAfter = amount > margin ? 0 : margin - amount;
        if (marginAfter < _params.minMargin || amount > margin) {
            revert MarginBelowMinimum(marginAfter, _params.minMargin);
        }
        p.margin = uint128(marginAfter);
        Position memory updated = p;
        (int256 available, uint256 required) = MarginMath.initialMarginTest(
            updated, priceWad, MarginMath.positionFeesUp(updated, feeIndex, SCALE), SCALE, _params.initialMarginWad
        );
        if (available < int256(required)) revert InsufficientMargin(available, required);

        emit MarginRemoved(vault, receiver, amount, marginAfter);
        IPositionVault(vault).pay(asset(), receiver, amount);
    }

    /// @inheritdoc IMarginPool
    function closePosition(address vault, address receiver, uint256 acceptablePriceWad)
        external
        nonReentrant
        returns (uint256 payout)
    {
        Position storage p = _openPosition(vault);
        address owner = _requireVaultOwner(vault);
        uint256 feeIndex = _accrue();
        uint256 priceWad = _price();
        _checkSlippage(!p.isLong, priceWad, acceptablePriceWad);

        Position memory closing = p;
        uint256 entryNotional = MarginMath.entryNotionalUp(closing, SCALE);
        uint256 fees = MarginMath.feesUp(entryNotional, feeIndex, closing.feeBaseWad)
            + MarginMath.requirementUp(MarginMath.notionalUp(closing.size, priceWad, SCALE), _params.closeFeeWad);
        int256 pnl = MarginMath.pnlDown(closing.isLong, closing.size, closing.entryPriceWad, priceWad, SCALE, closing.maxProfit);
        _release(p, entryNotional);
        payout = _settle(vault, owner, receiver, closing.margin, pnl, fees, priceWad);
    }

    /// @inheritdoc IMarginPool
    function recoverDonation(address vault, address token, address receiver)
        external
        nonReentrant
        returns (uint256 amount)
    {
        Position storage p = _positions[vault];
        if (p.status == PositionStatus.None) revert UnknownVault(vault);
        _requireVaultOwner(vault);
        amount = IERC20(token).balanceOf(vault);
        if (token == asset() && p.status == PositionStatus.Open) amount -= p.margin;
        if (amount == 0) revert ZeroAmount();
        emit DonationRecovered(vault, token, receiver, amount);
        IPositionVault(vault).pay(token, receiver, amount);
    }

    // ================================================================ admin

    /// @inheritdoc IMarginPool
    function setParams(MarketParams calldata params_) external onlyFactory {
        _accrue();
        _params = params_;
        emit ParamsUpdated(params_);
    }

    /// @inheritdoc IMarginPool
    function setPaused(bool paused_) external onlyFactory {
        paused = paused_;
        emit PausedSet(paused_);
    }

    // ================================================================ views

    /// @inheritdoc IMarginPool
    function params() external view returns (MarketParams memory) {
        return _params;
    }

    /// @inheritdoc IMarginPool
    function vaultAddress(address owner, uint96 nonce) external view returns (address) {
        return Clones.predictDeterministicAddress(vaultImplementation, _salt(owner, nonce));
    }

    /// @inheritdoc IMarginPool
    function position(address vault) external view nonReentrantView returns (Position memory) {
        return _positions[vault];
    }

    /// @inheritdoc IMarginPool
    function currentFeeIndex() public view nonReentrantView returns (uint256) {
        return _feeIndex + uint256(_params.borrowRateWad) * (block.timestamp - _lastAccrual);
    }

    /// @inheritdoc IMarginPool
    function priceScale() external view returns (uint256) {
        return SCALE;
    }

    /// @inheritdoc IMarginPool
    function totalAssets() public view override(ERC4626, IMarginPool) returns (uint256) {
        return _liquidity;
    }

    /// @inheritdoc IMarginPool
    function freeLiquidity() public view returns (uint256) {
        uint256 liquidity = _liquidity;
        return liquidity > reserved ? liquidity - reserved : 0;
    }

    /// @inheritdoc IMarginPool
    function openInterest(bool isLong) external view returns (uint256 size, uint256 entryNotional) {
        Side storage side = isLong ? _longs : _shorts;
        return (side.size, side.entryNotional);
    }

    /// @notice At most the owner's assets and never more than the free liquidity (the reserve stays).
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        return Math.min(super.maxWithdraw(owner), freeLiquidity());
    }

    /// @notice At most the owner's shares and never more than the free liquidity's worth (rounded down).
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        return Math.min(super.maxRedeem(owner), _convertToShares(freeLiquidity(), Math.Rounding.Floor));
    }

    // ================================================================ internal: positions

    /// @dev Checks and books a new position; the caller writes its status and pulls the margin.
    function _open(
        Position storage p,
        address vault,
        bool isLong,
        uint256 size,
        uint256 margin,
        uint256 priceWad,
        uint256 feeIndex
    ) internal {
        if (size == 0) revert ZeroSize();
        uint256 notional = MarginMath.notionalUp(size, priceWad, SCALE);
        (uint256 openFee, uint256 maxProfit) = _checkOpen(isLong, margin, notional);

        reserved += maxProfit;
        Side storage side = isLong ? _longs : _shorts;
        side.size = (side.size + size).toUint128();
        side.entryNotional = (side.entryNotional + notional).toUint128();
        uint256 feeBase = feeIndex - _params.openFeeWad;
        p.size = size.toUint128();
        p.entryPriceWad = priceWad.toUint128();
        p.margin = margin.toUint128();
        p.maxProfit = maxProfit.toUint128();
        p.feeBaseWad = uint128(feeBase);
        p.isLong = isLong;
        emit PositionOpened(vault, msg.sender, isLong, size, priceWad, margin, openFee, maxProfit, feeBase);
    }

    /// @dev The checks of a new position of `notional` (assets, rounded up) with `margin`: dust, caps,
    /// leverage (`margin - openFee >= IM * notional`) and room in the pool for its maximum payout.
    function _checkOpen(bool isLong, uint256 margin, uint256 notional)
        internal
        view
        returns (uint256 openFee, uint256 maxProfit)
    {
        MarketParams storage mp = _params;
        if (margin < mp.minMargin) revert MarginBelowMinimum(margin, mp.minMargin);
        if (notional < mp.minNotional) revert NotionalBelowMinimum(notional, mp.minNotional);
        if (notional > mp.maxPositionNotional) revert PositionTooLarge(notional, mp.maxPositionNotional);
        uint256 openInterestAfter = (isLong ? _longs : _shorts).entryNotional + notional;
        if (openInterestAfter > mp.maxOpenInterest) {
            revert OpenInterestCapExceeded(openInterestAfter, mp.maxOpenInterest);
        }
        openFee = MarginMath.requirementUp(notional, mp.openFeeWad);
        uint256 required = MarginMath.requirementUp(notional, mp.initialMarginWad);
        int256 available = int256(margin) - int256(openFee);
        if (available < int256(required)) revert LeverageTooHigh(available, required);
        maxProfit = MarginMath.mulDivDown(margin, mp.maxProfitWad, MarginMath.WAD);
        uint256 free = freeLiquidity();
        if (maxProfit > free) revert InsufficientLiquidity(free, maxProfit);
    }

    /// @dev Takes a closed or liquidated position off the books.
    function _release(Position storage p, uint256 entryNotional) internal {
        reserved -= p.maxProfit;
        Side storage side = p.isLong ? _longs : _shorts;
        side.size -= p.size;
        side.entryNotional -= uint128(entryNotional);
        p.status = PositionStatus.Closed;
        p.margin = 0;
    }

    /// @dev Moves the tokens of a closed position: `margin + pnl - fees` to `receiver` (the vault pays first,
    /// the pool the profit beyond the margin), the rest of the margin to the pool; a negative result is bad debt.
    function _settle(
        address vault,
        address owner,
        address receiver,
        uint256 margin,
        int256 pnl,
        uint256 fees,
        uint256 priceWad
    ) internal returns (uint256 payout) {
        int256 result = int256(margin) + pnl - int256(fees);
        address token = asset();
        if (result < 0) {
            uint256 shortfall = uint256(-result);
            _liquidity += margin;
            emit PositionClosed(vault, owner, priceWad, pnl, fees, 0, shortfall);
            if (margin != 0) IPositionVault(vault).pay(token, address(this), margin);
            _coverBadDebt(vault, shortfall);
            return 0;
        }
        payout = uint256(result);
        uint256 fromVault = Math.min(payout, margin);
        uint256 toPool = margin - fromVault;
        uint256 fromPool = payout - fromVault;
        _liquidity = _liquidity + toPool - fromPool;
        emit PositionClosed(vault, owner, priceWad, pnl, fees, payout, 0);
        if (fromVault != 0) IPositionVault(vault).pay(token, receiver, fromVault);
        if (toPool != 0) IPositionVault(vault).pay(token, address(this), toPool);
        if (fromPool != 0) IERC20(token).safeTransfer(receiver, fromPool);
    }

    /// @dev The waterfall of a shortfall: the insurance fund pays what it can to the pool; the LPs bear the rest
    /// (the pool receives less than the position lost).
    function _coverBadDebt(address vault, uint256 shortfall) internal {
        uint256 covered = IInsuranceFund(insuranceFund).cover(shortfall);
        _liquidity += covered;
        emit BadDebtCovered(vault, shortfall, covered, shortfall - covered);
    }

    function _openPosition(address vault) internal view returns (Position storage p) {
        p = _positions[vault];
        if (p.status != PositionStatus.Open) {
            if (p.status == PositionStatus.None) revert UnknownVault(vault);
            revert PositionNotOpen(vault);
        }
    }

    function _requireVaultOwner(address vault) internal view returns (address owner) {
        owner = IPositionVault(vault).owner();
        if (owner != msg.sender) revert NotVaultOwner(msg.sender, owner);
    }

    // ================================================================ internal: fees, price, tokens

    /// @dev Writes the fee index up to now and returns it. The index only grows: rate * elapsed seconds.
    function _accrue() internal returns (uint256 feeIndex) {
        uint256 last = _lastAccrual;
        if (last == block.timestamp) return _feeIndex;
        feeIndex = _feeIndex + uint256(_params.borrowRateWad) * (block.timestamp - last);
        _feeIndex = feeIndex.toUint128();
        _lastAccrual = uint64(block.timestamp);
    }

    /// @dev Buying (open long, close short) reverts above a non-zero bound; selling reverts below the bound.
    function _checkSlippage(bool buying, uint256 priceWad, uint256 acceptablePriceWad) internal pure {
        if (buying ? (acceptablePriceWad != 0 && priceWad > acceptablePriceWad) : priceWad < acceptablePriceWad) {
            revert PriceSlippage(priceWad, acceptablePriceWad);
        }
    }

    function _price() internal view returns (uint256) {
        return IPriceOracle(oracle).price();
    }

    function _salt(address owner, uint96 nonce) internal pure returns (bytes32) {
        return bytes32((uint256(uint160(owner)) << 96) | nonce);
    }

    /// @dev Pulls exactly `amount` from `from` into `to`, checked by balance delta (fee-on-transfer and
    /// rebasing tokens revert with TransferAmountMismatch).
    function _pullInto(address to, address from, uint256 amount) internal {
        IERC20 token = IERC20(asset());
        uint256 before = token.balanceOf(to);
        token.safeTransferFrom(from, to, amount);
        uint256 received = token.balanceOf(to) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }

    // ================================================================ internal: ERC-4626

    /// @dev Shares carry 6 more decimals than the asset: with `_liquidity` ignoring donations, the
    /// first-depositor inflation attack has nothing to inflate, and the offset makes rounding theft dust.
    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    function _deposit(address caller, address receiver, uint256 assets, uint256 shares)
        internal
        override
        nonReentrant
    {
        super._deposit(caller, receiver, assets, shares);
    }

    function _withdraw(address caller, address receiver, address owner, uint256 assets, uint256 shares)
        internal
        override
        nonReentrant
    {
        super._withdraw(caller, receiver, owner, assets, shares);
    }

    function _transferIn(address from, uint256 assets) internal override {
        _pullInto(address(this), from, assets);
        _liquidity += assets;
    }

    function _transferOut(address to, uint256 assets) internal override {
        _liquidity -= assets;
        IERC20(asset()).safeTransfer(to, assets);
    }
}
