// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IMarginPool, LiquidationResult, MarketParams, Position, PositionStatus} from "../interfaces/IMarginPool.sol";
import {IPositionVault} from "../interfaces/IPositionVault.sol";
import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginMath} from "./libraries/MarginMath.sol";

/// @title MarginPool
/// @notice One Ringfence market. See IMarginPool.
/// @dev Accounting: `_liquidity` is what the LPs hold realized (deposits, realized trader losses and fees,
/// minus realized trader profits and withdrawals); tokens sent to the pool by anyone else are not counted.
/// `reserved` is the sum of the open positions' maximum payouts; LP withdrawals and new positions only
/// use `_liquidity - reserved`, so every winner can always be paid. The LPs' share price is marked to
/// market (`totalAssets`: `_liquidity` plus the fees the open positions owe minus their unrealized PnL,
/// which is at most the reserve), so closing or liquidating a position does not move it; and once the
/// pool has shares, LPs enter and leave by requests settled on a later oracle round at the worse of the
/// request's and the settlement's share price (see `requestDeposit`).
contract MarginPool is IMarginPool, ERC4626, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev Fee index at the pool's creation; the open fee is folded in below it, so it must exceed any open fee.
    uint256 internal constant INITIAL_FEE_INDEX = 1e18;
    /// @dev Assets added to a partial liquidation's shortfall so that its roundings cannot leave it short.
    uint256 internal constant PARTIAL_SLACK = 3;

    /// @dev MarketParams as stored (the borrow rate is in `FeeAccrual`): the same fields grouped by the
    /// operations that read them, so that an operation reads few cold slots (close one, remove margin two,
    /// open three, a full liquidation three).
    struct StoredParams {
        // slot 0: open, remove margin, close, partial liquidation
        uint64 initialMarginWad;
        uint64 openFeeWad;
        uint64 closeFeeWad;
        uint64 maxProfitWad;
        // slot 1: open, remove margin, liquidation (the factory bounds both amounts to 96 bits)
        uint96 minMargin;
        uint96 minNotional;
        uint64 maintenanceMarginWad;
        // slot 2: open
        uint128 maxPositionNotional;
        uint128 maxOpenInterest;
        // slots 3 and 4: liquidation
        uint64 liquidationTargetWad;
        uint64 keeperBonusWad;
        uint64 liquidationPenaltyWad;
        uint128 keeperBonusMin;
        uint128 keeperBonusMax;
    }

    /// @dev The fee index is a line in time, `indexWad + borrowRateWad * (now - time)`, which bends only where
    /// the rate changes (`setParams` moves the checkpoint there): operations read it and never write it.
    struct FeeAccrual {
        uint128 indexWad;
        uint64 time;
        uint64 borrowRateWad;
    }

    /// @dev A position as stored: two slots (the `Position` of the views adds the owner, which is not stored:
    /// it is in the vault's address (the CREATE2 salt) and in the vault's code (its clone argument)).
    /// The fields are narrower than `Position`'s: a size or price past 120 bits and a margin past 88 bits
    /// revert by name (SafeCast) when opened or added; a profit cap is at most 10x the margin (96 bits);
    /// the fee index, growing at most 1e18 a year, stays under 72 bits for over 4,000 years. Closing or
    /// liquidating a position fully writes slot 0 only: its status and the owner's credit.
    struct StoredPosition {
        // slot 0: read by every operation on the position
        // Open: the size. Closed: what a full liquidation left the owner, held by the pool until claimed
        // (at most the margin plus its cap: under 93 bits).
        uint120 size;
        uint120 entryPriceWad;
        bool isLong;
        PositionStatus status;
        // slot 1 (left as it was when the position closes: read only while it is open)
        uint88 margin;
        uint96 maxProfit; // the PnL cap, reserved in the pool
        uint72 feeBaseWad;
    }

    /// @dev Open interest of one side.
    struct Side {
        uint128 size;
        uint128 entryNotional;
    }

    /// @inheritdoc IMarginPool
    address public immutable factory;
    /// @inheritdoc IMarginPool
    address public immutable insuranceFund;
    /// @inheritdoc IMarginPool
    address public immutable vaultImplementation;
    /// @inheritdoc IMarginPool
    address public immutable liquidator;
    /// @inheritdoc IMarginPool
    uint256 public immutable creationNonce;
    /// @dev 10**(36 - asset decimals): size (WAD) * price (WAD) / SCALE = assets.
    uint256 internal immutable SCALE;

    StoredParams internal _params;
    /// @dev One slot, read by every priced operation.
    FeeAccrual internal _accrual;
    // One slot, read by every priced operation: the price adapter (replaceable by the factory's owner
    // through its delay) and the pause flag.
    /// @inheritdoc IMarginPool
    address public oracle;
    /// @inheritdoc IMarginPool
    bool public paused;
    // One slot, written once by every operation that moves the pool's money: the reserve and the liquidity.
    uint128 internal _reserved;
    uint128 internal _liquidity;
    Side internal _longs;
    Side internal _shorts;
    mapping(address vault => StoredPosition) internal _positions;
    /// @inheritdoc IMarginPool
    uint256 public totalClaimable;

    /// @dev Σ entryNotional_i * feeBase_i over the open positions (entry notionals as in `Side`): with the fee
    /// index, the fees all open positions owe are `(feeIndex * Σ entryNotional - _feeWeight) / WAD`.
    uint256 internal _feeWeight;

    /// @dev An LP's pending request: assets to deposit (or shares to redeem), what they were worth when
    /// requested (shares, or assets), and when.
    struct Request {
        uint128 amount;
        uint128 quote;
        uint64 time;
    }

    /// @inheritdoc IMarginPool
    uint256 public pendingDeposits;
    mapping(address controller => Request) internal _depositRequests;
    mapping(address controller => Request) internal _redeemRequests;

    /// @dev What a batch of liquidations owes the keeper and the insurance fund, paid once at its end.
    struct Payments {
        uint256 keeperFromEquity; // out of the liquidated vaults' equity (already in the pool)
        uint256 keeperUnfunded; // bonus the equity could not pay: from the fund, then the pool
        uint256 penalties; // to the insurance fund
    }

    /// @param factory_ The PoolFactory that created this market (through MarginPoolDeployer).
    /// @param liquidator_ The only caller of `liquidate`.
    /// @param vaultImplementation_ The PositionVault implementation made for this pool (its `pool` is this).
    /// @param insuranceFund_ The InsuranceFund made for this pool (its `pool` is this).
    /// @param asset_ Settlement token (at most 18 decimals, no fee on transfer, no rebasing).
    /// @param oracle_ Price of the index asset in the settlement token (IPriceOracle).
    /// @param params_ Checked by the factory against its hard bounds.
    /// @param creationNonce_ The deployer's nonce that creates this pool (its address is the deployer's CREATE
    /// address at it: `PoolProof`).
    constructor(
        address factory_,
        address liquidator_,
        address vaultImplementation_,
        address insuranceFund_,
        address asset_,
        address oracle_,
        MarketParams memory params_,
        string memory name_,
        string memory symbol_,
        uint256 creationNonce_
    )
        ERC4626(IERC20(asset_))
        ERC20(name_, symbol_)
    {
        uint8 assetDecimals = IERC20Metadata(asset_).decimals();
        if (assetDecimals > 18) revert UnsupportedAssetDecimals(assetDecimals);
        SCALE = 10 ** (36 - uint256(assetDecimals));
        factory = factory_;
        liquidator = liquidator_;
        creationNonce = creationNonce_;
        oracle = oracle_;
        _accrual.indexWad = uint128(INITIAL_FEE_INDEX);
        _storeParams(params_);
        vaultImplementation = vaultImplementation_;
        insuranceFund = insuranceFund_;
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
        vault = _vaultAddress(msg.sender, salt);
        StoredPosition storage p = _positions[vault];
        PositionStatus status = p.status;
        if (status == PositionStatus.Open) revert PositionAlreadyOpen(vault);
        // A credit left by the vault's last liquidation is the owner's: paid out before the slot is reused.
        uint256 credit = _credit(p);
        if (credit != 0) _claimCredit(p, vault, msg.sender, msg.sender, credit);

        uint256 feeIndex = _currentFeeIndex();
        uint256 priceWad = _price();
        _checkSlippage(isLong, priceWad, acceptablePriceWad);
        _open(vault, isLong, size, margin, priceWad, feeIndex);
        // The first position of this vault creates it, in the same transaction. The vault stores nothing:
        // its owner is its clone argument (in its code) and part of its address.
        if (status == PositionStatus.None) _createVault(msg.sender, salt);
        _pullInto(vault, msg.sender, margin);
    }

    /// @inheritdoc IMarginPool
    function addMargin(address vault, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        StoredPosition storage p = _requireOpen(vault);
        uint256 marginAfter = p.margin + amount;
        p.margin = marginAfter.toUint88();
        emit MarginAdded(vault, msg.sender, amount, marginAfter);
        _pullInto(vault, msg.sender, amount);
    }

    /// @inheritdoc IMarginPool
    function removeMargin(address vault, uint256 amount, address receiver) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        StoredPosition storage p = _requireOpen(vault);
        _requireVaultOwner(vault);
        uint256 feeIndex = _currentFeeIndex();
        uint256 priceWad = _price();

        uint256 margin = p.margin;
        uint256 marginAfter = amount > margin ? 0 : margin - amount;
        if (marginAfter < _params.minMargin || amount > margin) {
            revert MarginBelowMinimum(marginAfter, _params.minMargin);
        }
        p.margin = uint88(marginAfter);
        _lowerProfitCap(p, marginAfter, p.size);
        Position memory updated = _load(p);
        (int256 available, uint256 required) = MarginMath.initialMarginTest(
            updated, priceWad, MarginMath.positionFeesUp(updated, feeIndex, SCALE), SCALE, _params.initialMarginWad
        );
        if (available < int256(required)) revert InsufficientMargin(available, required);

        emit MarginRemoved(vault, receiver, amount, marginAfter);
        IPositionVault(vault).transferOut(asset(), receiver, amount);
    }

    /// @inheritdoc IMarginPool
    function closePosition(address vault, address receiver, uint256 acceptablePriceWad)
        external
        nonReentrant
        returns (uint256 payout)
    {
        StoredPosition storage p = _requireOpen(vault);
        address owner = _requireVaultOwner(vault);
        uint256 feeIndex = _currentFeeIndex();
        uint256 priceWad = _price();
        _checkSlippage(!p.isLong, priceWad, acceptablePriceWad);

        Position memory closing = _load(p);
        uint256 entryNotional = MarginMath.entryNotionalUp(closing, SCALE);
        uint256 fees = MarginMath.closingFeesUp(closing, feeIndex, priceWad, _params.closeFeeWad, SCALE);
        int256 pnl = MarginMath.pnlDown(closing.isLong, closing.size, closing.entryPriceWad, priceWad, SCALE, closing.maxProfit);
        _release(p, entryNotional, 0);
        payout = _settle(vault, owner, receiver, closing.margin, pnl, fees, priceWad);
    }

    /// @inheritdoc IMarginPool
    function recoverDonation(address vault, address token, address receiver)
        external
        nonReentrant
        returns (uint256 amount)
    {
        StoredPosition storage p = _positions[vault];
        if (p.status == PositionStatus.None) revert UnknownVault(vault);
        _requireVaultOwner(vault);
        amount = IERC20(token).balanceOf(vault);
        if (token == asset() && p.status == PositionStatus.Open) amount -= p.margin;
        if (amount == 0) revert ZeroAmount();
        emit DonationRecovered(vault, token, receiver, amount);
        IPositionVault(vault).transferOut(token, receiver, amount);
    }

    /// @inheritdoc IMarginPool
    function claim(address vault, address receiver) external nonReentrant returns (uint256 amount) {
        StoredPosition storage p = _positions[vault];
        amount = _credit(p);
        if (amount == 0) revert NothingToClaim(vault);
        _claimCredit(p, vault, _requireVaultOwner(vault), receiver, amount);
    }

    /// @inheritdoc IMarginPool
    function sweep() external nonReentrant returns (uint256 amount) {
        IERC20 token = IERC20(asset());
        uint256 counted = _liquidity + totalClaimable + pendingDeposits;
        uint256 balance = token.balanceOf(address(this));
        amount = balance > counted ? balance - counted : 0;
        if (amount == 0) revert ZeroAmount();
        emit Swept(insuranceFund, amount);
        token.safeTransfer(insuranceFund, amount);
    }

    // ================================================================ LP requests

    /// @inheritdoc IMarginPool
    function requestDeposit(uint256 assets, address controller) external nonReentrant returns (uint256 quoteShares) {
        if (assets == 0) revert ZeroAmount();
        if (controller == address(0)) revert ERC20InvalidReceiver(address(0)); // it could never be settled
        Request storage q = _depositRequests[controller];
        if (q.amount != 0) revert RequestPending(controller);
        quoteShares = _convertToShares(assets, Math.Rounding.Floor);
        if (quoteShares == 0) revert ZeroAmount(); // dust: it would buy nothing
        _depositRequests[controller] = Request(assets.toUint128(), quoteShares.toUint128(), uint64(block.timestamp));
        pendingDeposits += assets;
        emit DepositRequested(controller, msg.sender, assets, quoteShares);
        _pullInto(address(this), msg.sender, assets);
    }

    /// @inheritdoc IMarginPool
    function requestRedeem(uint256 shares, address controller, address owner)
        external
        nonReentrant
        returns (uint256 quoteAssets)
    {
        if (shares == 0) revert ZeroAmount();
        if (controller == address(0)) revert ERC20InvalidReceiver(address(0));
        Request storage q = _redeemRequests[controller];
        if (q.amount != 0) revert RequestPending(controller);
        if (msg.sender != owner) _spendAllowance(owner, msg.sender, shares);
        quoteAssets = _convertToAssets(shares, Math.Rounding.Floor);
        if (quoteAssets == 0) revert ZeroAmount(); // dust: it would pay nothing
        _redeemRequests[controller] = Request(shares.toUint128(), quoteAssets.toUint128(), uint64(block.timestamp));
        emit RedeemRequested(controller, owner, shares, quoteAssets);
        _transfer(owner, address(this), shares); // held by the pool until settled
    }

    /// @inheritdoc IMarginPool
    function settleDeposit(address controller) external nonReentrant returns (uint256 shares) {
        (Request memory q, uint256 marked) = _takeReadyRequest(_depositRequests, controller);
        shares = Math.min(q.quote, _sharesAt(q.amount, marked));
        delete _depositRequests[controller];
        pendingDeposits -= q.amount;
        _liquidity += q.amount;
        emit DepositSettled(controller, q.amount, shares);
        _mint(controller, shares);
    }

    /// @inheritdoc IMarginPool
    function settleRedeem(address controller) external nonReentrant returns (uint256 assets) {
        (Request memory q, uint256 marked) = _takeReadyRequest(_redeemRequests, controller);
        assets = Math.min(q.quote, _assetsAt(q.amount, marked));
        uint256 free = freeLiquidity();
        if (assets > free) revert InsufficientLiquidity(free, assets);
        delete _redeemRequests[controller];
        _liquidity -= uint128(assets); // at most the free liquidity
        emit RedeemSettled(controller, q.amount, assets);
        _burn(address(this), q.amount);
        IERC20(asset()).safeTransfer(controller, assets);
    }

    // ================================================================ liquidation

    /// @inheritdoc IMarginPool
    function liquidate(address[] calldata vaults, address keeper, bool strict)
        external
        nonReentrant
        returns (uint256 liquidated)
    {
        if (keeper != msg.sender && msg.sender != liquidator) revert NotLiquidator(msg.sender);
        uint256 feeIndex = _currentFeeIndex();
        uint256 priceWad = _price();
        Payments memory payments;
        for (uint256 i; i < vaults.length; ++i) {
            address vault = vaults[i];
            StoredPosition storage p = _positions[vault];
            if (p.status != PositionStatus.Open) {
                if (strict) _requireOpen(vault); // reverts with UnknownVault or PositionNotOpen
                continue;
            }
            Position memory pos = _load(p);
            (bool liquidatable, uint256 liqPrice, uint256 fees) =
                MarginMath.liquidationTest(pos, priceWad, feeIndex, SCALE, _params.maintenanceMarginWad);
            if (!liquidatable) {
                if (strict) revert HealthyPosition(vault, priceWad, liqPrice);
                continue;
            }
            LiquidationResult memory r = _liquidateOne(p, pos, vault, priceWad, fees, feeIndex, payments);
            emit Liquidated(
                vault, _ownerOf(vault), keeper, r.full, r.closedSize, priceWad, r.equityBefore,
                r.keeperBonus, r.penalty, r.ownerCredit, r.badDebt
            );
            ++liquidated;
        }
        _payKeeperAndFund(keeper, payments);
    }

    // ================================================================ admin

    /// @inheritdoc IMarginPool
    function setParams(MarketParams memory params_) external onlyFactory {
        _storeParams(params_);
        emit ParamsUpdated(params_);
    }

    /// @inheritdoc IMarginPool
    function setOracle(address oracle_) external onlyFactory {
        oracle = oracle_;
        emit OracleUpdated(oracle_);
    }

    /// @inheritdoc IMarginPool
    function setPaused(bool paused_) external onlyFactory {
        paused = paused_;
        emit PausedSet(paused_);
    }

    // ================================================================ views

    /// @inheritdoc IMarginPool
    function params() external view returns (MarketParams memory) {
        StoredParams storage s = _params;
        return MarketParams({
            initialMarginWad: s.initialMarginWad,
            maintenanceMarginWad: s.maintenanceMarginWad,
            liquidationTargetWad: s.liquidationTargetWad,
            keeperBonusWad: s.keeperBonusWad,
            liquidationPenaltyWad: s.liquidationPenaltyWad,
            openFeeWad: s.openFeeWad,
            closeFeeWad: s.closeFeeWad,
            borrowRateWad: _accrual.borrowRateWad,
            maxProfitWad: s.maxProfitWad,
            minMargin: s.minMargin,
            minNotional: s.minNotional,
            maxPositionNotional: s.maxPositionNotional,
            maxOpenInterest: s.maxOpenInterest,
            keeperBonusMin: s.keeperBonusMin,
            keeperBonusMax: s.keeperBonusMax
        });
    }

    /// @inheritdoc IMarginPool
    function vaultAddress(address owner, uint96 nonce) external view returns (address) {
        return _vaultAddress(owner, _salt(owner, nonce));
    }

    /// @inheritdoc IMarginPool
    function position(address vault) external view nonReentrantView returns (Position memory pos) {
        StoredPosition storage p = _positions[vault];
        pos = _load(p);
        if (p.status == PositionStatus.None) return pos;
        pos.owner = _ownerOf(vault);
        if (p.status == PositionStatus.Closed) (pos.size, pos.margin, pos.maxProfit) = (0, p.size, 0);
    }

    /// @inheritdoc IMarginPool
    function claimable(address vault) external view returns (uint256) {
        return _credit(_positions[vault]);
    }

    /// @inheritdoc IMarginPool
    function currentFeeIndex() external view nonReentrantView returns (uint256) {
        return _currentFeeIndex();
    }

    /// @inheritdoc IMarginPool
    function priceScale() external view returns (uint256) {
        return SCALE;
    }

    /// @inheritdoc IMarginPool
    function totalAssets() public view override(ERC4626, IMarginPool) returns (uint256) {
        return _markedAssets(_price());
    }

    /// @inheritdoc IMarginPool
    function liquidity() external view returns (uint256) {
        return _liquidity;
    }

    /// @inheritdoc IMarginPool
    function reserved() external view returns (uint256) {
        return _reserved;
    }

    /// @inheritdoc IMarginPool
    function freeLiquidity() public view returns (uint256) {
        uint256 liquidity = _liquidity;
        uint256 reserve = _reserved;
        return liquidity > reserve ? liquidity - reserve : 0;
    }

    /// @inheritdoc IMarginPool
    function openInterest(bool isLong) external view returns (uint256 size, uint256 entryNotional) {
        Side storage side = isLong ? _longs : _shorts;
        return (side.size, side.entryNotional);
    }

    /// @notice Unlimited while the pool has no shares (nobody to take value from); 0 after: use `requestDeposit`.
    function maxDeposit(address) public view override(ERC4626, IERC4626) returns (uint256) {
        return totalSupply() == 0 ? type(uint256).max : 0;
    }

    /// @notice Unlimited while the pool has no shares; 0 after: use `requestDeposit`.
    function maxMint(address) public view override(ERC4626, IERC4626) returns (uint256) {
        return totalSupply() == 0 ? type(uint256).max : 0;
    }

    /// @notice Always 0: LPs leave through `requestRedeem`.
    function maxWithdraw(address) public pure override(ERC4626, IERC4626) returns (uint256) {
        return 0;
    }

    /// @notice Always 0: LPs leave through `requestRedeem`.
    function maxRedeem(address) public pure override(ERC4626, IERC4626) returns (uint256) {
        return 0;
    }

    /// @notice Always reverts: LPs leave through `requestRedeem`.
    function withdraw(uint256 assets, address, address owner) public override(ERC4626, IERC4626) returns (uint256) {
        revert ERC4626ExceededMaxWithdraw(owner, assets, 0);
    }

    /// @notice Always reverts: LPs leave through `requestRedeem`.
    function redeem(uint256 shares, address, address owner) public override(ERC4626, IERC4626) returns (uint256) {
        revert ERC4626ExceededMaxRedeem(owner, shares, 0);
    }

    /// @inheritdoc IMarginPool
    function depositRequest(address controller) external view returns (uint256 assets, uint256 quoteShares, uint256 time) {
        Request storage q = _depositRequests[controller];
        return (q.amount, q.quote, q.time);
    }

    /// @inheritdoc IMarginPool
    function redeemRequest(address controller) external view returns (uint256 shares, uint256 quoteAssets, uint256 time) {
        Request storage q = _redeemRequests[controller];
        return (q.amount, q.quote, q.time);
    }

    /// @inheritdoc IMarginPool
    function previewSettleDeposit(address controller) public view returns (uint256 shares) {
        Request storage q = _depositRequests[controller];
        return Math.min(q.quote, _sharesAt(q.amount, totalAssets()));
    }

    /// @inheritdoc IMarginPool
    function previewSettleRedeem(address controller) public view returns (uint256 assets) {
        Request storage q = _redeemRequests[controller];
        return Math.min(q.quote, _assetsAt(q.amount, totalAssets()));
    }

    // ================================================================ internal: positions

    /// @dev Checks and books a new position of `msg.sender` (its two slots written once each); the caller
    /// creates the vault if needed and pulls the margin.
    function _open(address vault, bool isLong, uint256 size, uint256 margin, uint256 priceWad, uint256 feeIndex)
        internal
    {
        if (size == 0) revert ZeroSize();
        uint256 notional = MarginMath.notionalUp(size, priceWad, SCALE);
        (uint256 openFee, uint256 maxProfit) = _checkOpen(isLong, size, margin, priceWad, notional);

        _reserved += maxProfit.toUint128();
        Side storage side = isLong ? _longs : _shorts;
        side.size = (side.size + size).toUint128();
        side.entryNotional = (side.entryNotional + notional).toUint128();
        uint256 feeBase = feeIndex - _params.openFeeWad;
        _feeWeight += notional * feeBase;
        _positions[vault] = StoredPosition({
            size: size.toUint120(),
            entryPriceWad: priceWad.toUint120(),
            isLong: isLong,
            status: PositionStatus.Open,
            margin: margin.toUint88(),
            maxProfit: uint96(maxProfit), // at most 10x the margin, which fits 88 bits
            feeBaseWad: feeBase.toUint72()
        });
        emit PositionOpened(vault, msg.sender, isLong, size, priceWad, margin, openFee, maxProfit, feeBase);
    }

    /// @dev The checks of a new position of `size` at `priceWad` (`notional` in assets, rounded up) with
    /// `margin`: dust, caps, leverage (`margin - openFee >= IM * notional`) and room in the pool for its
    /// maximum payout.
    function _checkOpen(bool isLong, uint256 size, uint256 margin, uint256 priceWad, uint256 notional)
        internal
        view
        returns (uint256 openFee, uint256 maxProfit)
    {
        StoredParams storage mp = _params;
        if (margin < mp.minMargin) revert MarginBelowMinimum(margin, mp.minMargin);
        if (notional < mp.minNotional) revert NotionalBelowMinimum(notional, mp.minNotional);
        if (notional > mp.maxPositionNotional) revert PositionTooLarge(notional, mp.maxPositionNotional);
        uint256 openInterestAfter = (isLong ? _longs : _shorts).entryNotional + notional;
        if (openInterestAfter > mp.maxOpenInterest) {
            revert OpenInterestCapExceeded(openInterestAfter, mp.maxOpenInterest);
        }
        openFee = MarginMath.notionalRatioUp(size, priceWad, mp.openFeeWad, SCALE);
        uint256 required = MarginMath.notionalRatioUp(size, priceWad, mp.initialMarginWad, SCALE);
        int256 available = int256(margin) - int256(openFee);
        if (available < int256(required)) revert LeverageTooHigh(available, required);
        maxProfit = MarginMath.profitCapDown(margin, size, priceWad, SCALE, mp.maxProfitWad);
        uint256 free = freeLiquidity();
        if (maxProfit > free) revert InsufficientLiquidity(free, maxProfit);
    }

    /// @dev Takes a closed or liquidated position off the books; `credit` (a full liquidation's remains for
    /// the owner) stays in the record's size field until claimed. Writes the record's slot 0 only.
    function _release(StoredPosition storage p, uint256 entryNotional, uint256 credit) internal {
        _reserved -= p.maxProfit;
        _feeWeight -= entryNotional * p.feeBaseWad;
        Side storage side = p.isLong ? _longs : _shorts;
        side.size -= p.size;
        side.entryNotional -= uint128(entryNotional);
        p.status = PositionStatus.Closed;
        p.size = uint120(credit); // at most the margin plus its cap: under 93 bits
        if (credit != 0) totalClaimable += credit;
    }

    /// @dev Lowers the position's profit cap (and the pool's reserve with it) to what the cap rule allows for
    /// `margin` and `size` now: removing margin or a partial liquidation cannot leave a reserve that the
    /// position as it stands could not have reserved at open. The cap never rises.
    function _lowerProfitCap(StoredPosition storage p, uint256 margin, uint256 size) internal {
        uint256 cap = MarginMath.profitCapDown(margin, size, p.entryPriceWad, SCALE, _params.maxProfitWad);
        uint256 current = p.maxProfit;
        if (cap < current) {
            p.maxProfit = uint96(cap);
            _reserved -= uint128(current - cap);
        }
    }

    /// @dev What a full liquidation left the owner of a closed position and is not claimed yet.
    function _credit(StoredPosition storage p) internal view returns (uint256) {
        return p.status == PositionStatus.Closed ? p.size : 0;
    }

    /// @dev Pays a liquidation's credit out of the pool to `receiver`, as a claim of `owner` (the tokens never
    /// left the pool: see `_liquidateFully`).
    function _claimCredit(StoredPosition storage p, address vault, address owner, address receiver, uint256 amount)
        internal
    {
        p.size = 0;
        totalClaimable -= amount;
        emit Claimed(vault, owner, receiver, amount);
        IERC20(asset()).safeTransfer(receiver, amount);
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
            _liquidity += margin.toUint128();
            emit PositionClosed(vault, owner, priceWad, pnl, fees, 0, shortfall);
            if (margin != 0) IPositionVault(vault).transferOut(token, address(this), margin);
            _coverBadDebt(vault, shortfall);
            return 0;
        }
        payout = uint256(result);
        uint256 fromVault = Math.min(payout, margin);
        uint256 toPool = margin - fromVault;
        uint256 fromPool = payout - fromVault;
        _liquidity = (_liquidity + toPool - fromPool).toUint128();
        emit PositionClosed(vault, owner, priceWad, pnl, fees, payout, 0);
        if (fromVault != 0) IPositionVault(vault).transferOut(token, receiver, fromVault);
        if (toPool != 0) IPositionVault(vault).transferOut(token, address(this), toPool);
        if (fromPool != 0) IERC20(token).safeTransfer(receiver, fromPool);
    }

    /// @dev Liquidates one liquidatable position at `priceWad`: partially where the smallest fraction that
    /// restores `equity >= T * notional` leaves a position above the minimums, else fully.
    function _liquidateOne(
        StoredPosition storage p,
        Position memory pos,
        address vault,
        uint256 priceWad,
        uint256 fees,
        uint256 feeIndex,
        Payments memory payments
    ) internal returns (LiquidationResult memory r) {
        r.vault = vault;
        r.priceWad = priceWad;
        r.equityBefore = MarginMath.equityDown(pos, priceWad, fees, SCALE);
        uint256 closedSize = _partialSize(pos, priceWad, r.equityBefore);
        if (closedSize != 0 && _liquidatePartially(p, pos, vault, priceWad, fees, feeIndex, closedSize, r, payments)) {
            return r;
        }
        _liquidateFully(p, pos, vault, priceWad, fees, r, payments);
    }

    /// @dev The size to close so that `equity' >= T * notional'`: `phi = (T*N - e) / (N*(T - b - q))`, rounded
    /// up (against the liquidated position), with `PARTIAL_SLACK` assets added to `T*N - e` to absorb the
    /// other roundings (penalty, notionals and the split loss each round against the position); 0 when only
    /// a full liquidation will do. `_liquidatePartially` checks the target exactly afterwards.
    function _partialSize(Position memory pos, uint256 priceWad, int256 equity) internal view returns (uint256) {
        if (equity <= 0) return 0;
        StoredParams storage mp = _params;
        uint256 notional = MarginMath.notionalUp(pos.size, priceWad, SCALE);
        uint256 targetWad = mp.liquidationTargetWad;
        uint256 equityScaled = uint256(equity) * MarginMath.WAD;
        uint256 target = notional * targetWad;
        if (target <= equityScaled) return 0; // cannot happen for a liquidatable position; be safe
        uint256 closed = MarginMath.mulDivUp(
            pos.size,
            target - equityScaled + PARTIAL_SLACK * MarginMath.WAD,
            notional * (targetWad - mp.keeperBonusWad - mp.liquidationPenaltyWad)
        );
        return closed < pos.size ? closed : 0;
    }

    /// @dev Closes `closedSize` of the position; false (nothing done) if what would remain is below the
    /// market's minimum position or minimum margin, or would miss the target `equity' >= T * notional'`
    /// (the keeper bonus floor can cost more than `b * closed notional`): then the position is closed fully.
    function _liquidatePartially(
        StoredPosition storage p,
        Position memory pos,
        address vault,
        uint256 priceWad,
        uint256 fees,
        uint256 feeIndex,
        uint256 closedSize,
        LiquidationResult memory r,
        Payments memory payments
    ) internal returns (bool) {
        StoredParams storage mp = _params;
        uint256 remaining = pos.size - closedSize;
        if (MarginMath.notionalUp(remaining, priceWad, SCALE) < mp.minNotional) return false;
        uint256 profitCapClosed = MarginMath.mulDivDown(pos.maxProfit, closedSize, pos.size);
        int256 pnlClosed =
            MarginMath.pnlDown(pos.isLong, closedSize, pos.entryPriceWad, priceWad, SCALE, profitCapClosed);
        r.keeperBonus = _keeperBonus(closedSize, priceWad);
        r.penalty = MarginMath.notionalRatioUp(closedSize, priceWad, mp.liquidationPenaltyWad, SCALE);
        int256 marginAfter = int256(uint256(pos.margin)) + pnlClosed - int256(fees + r.keeperBonus + r.penalty);
        // A margin below the minimum is closed fully, and so is one past what the record holds: the closed
        // part's profit would have to exceed the fees, which for a liquidatable position needs fees above
        // its notional (years at the highest borrow rate) and a margin near 2**88 units.
        if (marginAfter < int256(uint256(mp.minMargin)) || marginAfter > int256(uint256(type(uint88).max))) {
            return false;
        }
        // The rest keeps the smaller of its share of the cap and what the cap rule allows for its margin now.
        uint256 capAfter = Math.min(
            pos.maxProfit - profitCapClosed,
            MarginMath.profitCapDown(uint256(marginAfter), remaining, pos.entryPriceWad, SCALE, mp.maxProfitWad)
        );
        int256 equityAfter =
            marginAfter + MarginMath.pnlDown(pos.isLong, remaining, pos.entryPriceWad, priceWad, SCALE, capAfter);
        if (
            equityAfter <= 0
                || uint256(equityAfter)
                    < MarginMath.notionalRatioUp(remaining, priceWad, mp.liquidationTargetWad, SCALE)
        ) {
            return false;
        }

        r.closedSize = closedSize;
        uint256 entryNotionalBefore = MarginMath.notionalUp(pos.size, pos.entryPriceWad, SCALE);
        uint256 entryNotionalAfter = MarginMath.notionalUp(remaining, pos.entryPriceWad, SCALE);
        Side storage side = pos.isLong ? _longs : _shorts;
        side.size -= uint128(closedSize);
        side.entryNotional -= uint128(entryNotionalBefore - entryNotionalAfter);
        _feeWeight = _feeWeight - entryNotionalBefore * pos.feeBaseWad + entryNotionalAfter * feeIndex;
        _reserved -= uint128(pos.maxProfit - capAfter);
        p.size = uint120(remaining);
        p.margin = uint88(uint256(marginAfter));
        p.maxProfit = uint96(capAfter);
        p.feeBaseWad = feeIndex.toUint72(); // every fee owed so far is settled now

        payments.keeperFromEquity += r.keeperBonus;
        payments.penalties += r.penalty;
        // The pool keeps the fees and the closed part's loss (or pays its profit).
        _liquidity = (int256(uint256(_liquidity)) + int256(fees) - pnlClosed).toUint256().toUint128();
        uint256 marginBefore = pos.margin;
        if (uint256(marginAfter) < marginBefore) {
            IPositionVault(vault).transferOut(asset(), address(this), marginBefore - uint256(marginAfter));
        } else if (uint256(marginAfter) > marginBefore) {
            IERC20(asset()).safeTransfer(vault, uint256(marginAfter) - marginBefore);
        }
        return true;
    }

    /// @dev Closes the whole position: the margin goes to the pool, which pays the keeper, then the
    /// penalty, and credits the owner with the rest; a negative equity is bad debt.
    function _liquidateFully(
        StoredPosition storage p,
        Position memory pos,
        address vault,
        uint256 priceWad,
        uint256 fees,
        LiquidationResult memory r,
        Payments memory payments
    ) internal {
        r.full = true;
        r.closedSize = pos.size;
        uint256 bonus = _keeperBonus(pos.size, priceWad);
        uint256 penaltyDue = MarginMath.notionalRatioUp(pos.size, priceWad, _params.liquidationPenaltyWad, SCALE);
        uint256 available = r.equityBefore > 0 ? uint256(r.equityBefore) : 0;
        uint256 fromEquity = Math.min(bonus, available);
        available -= fromEquity;
        r.penalty = Math.min(penaltyDue, available);
        r.ownerCredit = available - r.penalty;
        r.badDebt = r.equityBefore < 0 ? uint256(-r.equityBefore) : 0;
        // What the equity cannot pay, the fund and then the LPs pay only up to the floor (a keeper's gas)
        // and never more than the fees the position was charged: liquidating a bankrupt vault, one's own
        // included, returns at most what that position paid the pool, and at most the floor.
        uint256 floor = Math.min(Math.min(bonus, _params.keeperBonusMin), fees);
        uint256 unfunded = floor > fromEquity ? floor - fromEquity : 0;
        r.keeperBonus = fromEquity + unfunded;

        _release(p, MarginMath.entryNotionalUp(pos, SCALE), r.ownerCredit);
        payments.keeperFromEquity += fromEquity;
        payments.keeperUnfunded += unfunded;
        payments.penalties += r.penalty;
        _liquidity = (_liquidity + pos.margin - fromEquity - r.penalty - r.ownerCredit).toUint128();
        if (pos.margin != 0) IPositionVault(vault).transferOut(asset(), address(this), pos.margin);
        if (r.badDebt != 0) _coverBadDebt(vault, r.badDebt);
    }

    /// @dev The keeper bonus on a closed size: `b * size * price`, rounded down, within [floor, cap].
    function _keeperBonus(uint256 closedSize, uint256 priceWad) internal view returns (uint256) {
        StoredParams storage mp = _params;
        uint256 bonus = MarginMath.notionalRatioDown(closedSize, priceWad, mp.keeperBonusWad, SCALE);
        return Math.min(Math.max(bonus, mp.keeperBonusMin), mp.keeperBonusMax);
    }

    /// @dev Pays a batch's penalties to the insurance fund and its bonus to the keeper: what the vaults'
    /// equity paid, then what the fund can add (`coverKeeperBonus`), then the pool's free liquidity.
    function _payKeeperAndFund(address keeper, Payments memory payments) internal {
        IERC20 token = IERC20(asset());
        uint256 fromFund;
        uint256 fromPool;
        if (payments.keeperUnfunded != 0) {
            fromFund = IInsuranceFund(insuranceFund).coverKeeperBonus(keeper, payments.keeperUnfunded);
            fromPool = Math.min(payments.keeperUnfunded - fromFund, freeLiquidity());
            _liquidity -= uint128(fromPool); // at most the free liquidity
        }
        if (payments.keeperFromEquity + fromFund + fromPool != 0) {
            emit KeeperPaid(keeper, payments.keeperFromEquity, fromFund, fromPool);
        }
        if (payments.penalties != 0) token.safeTransfer(insuranceFund, payments.penalties);
        if (payments.keeperFromEquity + fromPool != 0) token.safeTransfer(keeper, payments.keeperFromEquity + fromPool);
    }

    /// @dev The waterfall of a shortfall: the insurance fund pays what it can to the pool; the LPs bear the rest
    /// (the pool receives less than the position lost).
    function _coverBadDebt(address vault, uint256 shortfall) internal {
        uint256 covered = IInsuranceFund(insuranceFund).cover(shortfall);
        _liquidity += covered.toUint128();
        emit BadDebtCovered(vault, shortfall, covered, shortfall - covered);
    }

    /// @dev The record of `vault`, which must hold an open position (else UnknownVault or PositionNotOpen).
    function _requireOpen(address vault) internal view returns (StoredPosition storage p) {
        p = _positions[vault];
        if (p.status != PositionStatus.Open) {
            if (p.status == PositionStatus.None) revert UnknownVault(vault);
            revert PositionNotOpen(vault);
        }
    }

    function _requireVaultOwner(address vault) internal view returns (address owner) {
        owner = _ownerOf(vault);
        if (owner != msg.sender) revert NotVaultOwner(msg.sender, owner);
    }

    /// @dev The owner of one of this pool's vaults: the clone argument in its code, after the 45 bytes of the
    /// EIP-1167 proxy (set at its creation from the opener's address, which is also part of its salt).
    /// Reading the code warms the vault's account for the transfer that follows.
    function _ownerOf(address vault) internal view returns (address owner) {
        assembly ("memory-safe") {
            mstore(0x00, 0)
            extcodecopy(vault, 0x0c, 0x2d, 0x14)
            owner := mload(0x00)
        }
    }

    /// @dev The stored position as the maths and the views take it (the owner left zero).
    function _load(StoredPosition storage p) internal view returns (Position memory) {
        return Position({
            size: p.size,
            entryPriceWad: p.entryPriceWad,
            margin: p.margin,
            maxProfit: p.maxProfit,
            feeBaseWad: p.feeBaseWad,
            isLong: p.isLong,
            status: p.status,
            owner: address(0)
        });
    }

    // ================================================================ internal: fees, price, tokens

    /// @dev Stores the parameters; the fee index's checkpoint moves to now, at the old rate, before the new
    /// rate applies.
    function _storeParams(MarketParams memory p) internal {
        _accrual = FeeAccrual({
            indexWad: _currentFeeIndex().toUint128(),
            time: uint64(block.timestamp),
            borrowRateWad: p.borrowRateWad
        });
        _params = StoredParams({
            initialMarginWad: p.initialMarginWad,
            openFeeWad: p.openFeeWad,
            closeFeeWad: p.closeFeeWad,
            maxProfitWad: p.maxProfitWad,
            minMargin: uint256(p.minMargin).toUint96(),
            minNotional: uint256(p.minNotional).toUint96(),
            maintenanceMarginWad: p.maintenanceMarginWad,
            maxPositionNotional: p.maxPositionNotional,
            maxOpenInterest: p.maxOpenInterest,
            liquidationTargetWad: p.liquidationTargetWad,
            keeperBonusWad: p.keeperBonusWad,
            liquidationPenaltyWad: p.liquidationPenaltyWad,
            keeperBonusMin: p.keeperBonusMin,
            keeperBonusMax: p.keeperBonusMax
        });
    }

    /// @dev The fee index now: it only grows, by the borrow rate each second.
    function _currentFeeIndex() internal view returns (uint256) {
        FeeAccrual memory a = _accrual;
        return a.indexWad + uint256(a.borrowRateWad) * (block.timestamp - a.time);
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

    /// @dev The address of `owner`'s vault with `salt`: the CREATE2 address of an EIP-1167 clone of the vault
    /// implementation with the owner as its immutable argument (the code of OpenZeppelin's and Solady's clones
    /// with immutable arguments). The creation code is written past the free memory pointer and hashed in the
    /// same block, as in `_createVault`: at `m + 0x0c`, 75 bytes: `61 0041 3d81600a3d39f3` (returns the 65-byte
    /// runtime), `363d3d373d3d3d363d73 <implementation> 5af43d82803e903d91602b57fd5bf3` (EIP-1167), the owner.
    function _vaultAddress(address owner, bytes32 salt) internal view returns (address vault) {
        address implementation = vaultImplementation;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(add(m, 0x43), shl(96, owner))
            mstore(add(m, 0x23), 0x5af43d82803e903d91602b57fd5bf3)
            mstore(add(m, 0x14), implementation)
            mstore(m, 0x6100413d81600a3d39f3363d3d373d3d3d363d73)
            let codeHash := keccak256(add(m, 0x0c), 0x4b)
            mstore8(0x00, 0xff)
            mstore(0x35, codeHash)
            mstore(0x01, shl(96, address()))
            mstore(0x15, salt)
            vault := and(keccak256(0x00, 0x55), 0xffffffffffffffffffffffffffffffffffffffff)
            mstore(0x35, 0) // restores the free memory pointer's upper bytes
        }
    }

    /// @dev Creates `owner`'s vault with `salt` (at `_vaultAddress(owner, salt)`, the same creation code).
    function _createVault(address owner, bytes32 salt) internal {
        address implementation = vaultImplementation;
        address vault;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(add(m, 0x43), shl(96, owner))
            mstore(add(m, 0x23), 0x5af43d82803e903d91602b57fd5bf3)
            mstore(add(m, 0x14), implementation)
            mstore(m, 0x6100413d81600a3d39f3363d3d373d3d3d363d73)
            vault := create2(0, add(m, 0x0c), 0x4b, salt)
        }
        if (vault == address(0)) revert VaultCreationFailed();
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

    // ================================================================ internal: LP value and requests

    /// @dev What the LPs own at `priceWad`: the realized liquidity, plus the fees the open positions owe,
    /// minus the open positions' PnL (at most the reserve, the sum of their caps). Trader gains round up.
    function _markedAssets(uint256 priceWad) internal view returns (uint256) {
        Side memory longs = _longs;
        Side memory shorts = _shorts;
        uint256 feesOwed =
            (_currentFeeIndex() * (uint256(longs.entryNotional) + shorts.entryNotional) - _feeWeight) / MarginMath.WAD;
        int256 traderGain = int256(MarginMath.mulDivUp(longs.size, priceWad, SCALE)) - int256(uint256(longs.entryNotional))
            + int256(uint256(shorts.entryNotional)) - int256(MarginMath.mulDivDown(shorts.size, priceWad, SCALE))
            - int256(feesOwed);
        int256 reserve = int256(uint256(_reserved));
        if (traderGain > reserve) traderGain = reserve;
        int256 assets = int256(uint256(_liquidity)) - traderGain;
        return assets > 0 ? uint256(assets) : 0;
    }

    /// @dev The pending request of `controller`, once the oracle has published a round after it, and the
    /// LPs' marked assets at that round's price (one oracle read; a refused price reverts by name).
    function _takeReadyRequest(mapping(address => Request) storage requests, address controller)
        internal
        view
        returns (Request memory q, uint256 marked)
    {
        q = requests[controller];
        if (q.amount == 0) revert NoRequest(controller);
        (uint256 priceWad, uint256 updatedAt) = IPriceOracle(oracle).latestPrice();
        if (updatedAt <= q.time) revert RequestNotReady(q.time, updatedAt);
        marked = _markedAssets(priceWad);
    }

    /// @dev Shares bought by `assets` when the LPs own `marked`, rounded down (OpenZeppelin's formula).
    function _sharesAt(uint256 assets, uint256 marked) internal view returns (uint256) {
        return Math.mulDiv(assets, totalSupply() + 10 ** _decimalsOffset(), marked + 1);
    }

    /// @dev Assets paid for `shares` when the LPs own `marked`, rounded down (OpenZeppelin's formula).
    function _assetsAt(uint256 shares, uint256 marked) internal view returns (uint256) {
        return Math.mulDiv(shares, marked + 1, totalSupply() + 10 ** _decimalsOffset());
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

    function _transferIn(address from, uint256 assets) internal override {
        _pullInto(address(this), from, assets);
        _liquidity += assets.toUint128();
    }
}
