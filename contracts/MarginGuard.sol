// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMarginGuard, Policy, Reserve} from "../interfaces/IMarginGuard.sol";
import {IMarginPool, Position, PositionStatus} from "../interfaces/IMarginPool.sol";
import {PoolProof} from "./libraries/PoolProof.sol";
import {IPositionVault} from "../interfaces/IPositionVault.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginMath} from "./libraries/MarginMath.sol";

/// @title MarginGuard
/// @notice Automated margin top-ups: a vault's owner sets a policy, anyone executes it for a fixed fee.
/// The margin always goes into the vault through `pool.addMargin`, from the owner's wallet or from a
/// reserve the owner earmarked to that vault, never from another vault. See IMarginGuard.
contract MarginGuard is IMarginGuard, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IMarginGuard
    uint256 public constant MAX_FEE_BPS = 1_000;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant WAD = 1e18;

    /// @inheritdoc IMarginGuard
    address public immutable factory;
    /// @dev The factory's pool deployer and its first pool nonce (`PoolProof`), read once here.
    address internal immutable _poolDeployer;
    uint256 internal immutable _firstPoolNonce;
    /// @inheritdoc IMarginGuard
    uint256 public reserveCount;

    mapping(address owner => mapping(address vault => Policy)) internal _policies;
    mapping(uint256 reserveId => Reserve) internal _reserves;
    mapping(uint256 reserveId => mapping(address vault => bool)) internal _earmarked;

    /// @dev What a top-up reads of its vault: the pool, the position and the amounts it computes.
    struct Plan {
        IMarginPool pool;
        address owner;
        uint256 amount;
        uint256 fee;
        uint256 healthWad;
        uint256 healthAfterWad;
    }

    /// @param factory_ The PoolFactory whose pools' vaults this serves (created before this contract).
    constructor(address factory_) {
        factory = factory_;
        (_poolDeployer, _firstPoolNonce) = PoolProof.source(factory_);
    }

    // ---------------------------------------------------------------- owner: policies

    /// @inheritdoc IMarginGuard
    function setPolicy(address vault, Policy calldata p) external {
        if (p.targetHealthWad <= p.triggerHealthWad) revert TargetNotAboveTrigger(p.triggerHealthWad, p.targetHealthWad);
        if (p.maxPerTopUp == 0) revert ZeroMaxPerTopUp();
        uint256 maxFee = uint256(p.maxPerTopUp) * MAX_FEE_BPS / BPS;
        if (p.fee > maxFee) revert FeeTooHigh(p.fee, maxFee);
        if (p.expiry != 0 && p.expiry <= block.timestamp) revert ExpiryInPast(p.expiry);
        _policies[msg.sender][vault] = p;
        emit PolicySet(msg.sender, vault, p);
    }

    /// @inheritdoc IMarginGuard
    function cancelPolicy(address vault) external {
        delete _policies[msg.sender][vault];
        emit PolicyCancelled(msg.sender, vault);
    }

    // ---------------------------------------------------------------- owner: reserves

    /// @inheritdoc IMarginGuard
    function openReserve(address token, address[] calldata vaults) external returns (uint256 reserveId) {
        reserveId = ++reserveCount;
        _reserves[reserveId] = Reserve({owner: msg.sender, balance: 0, token: token});
        emit ReserveOpened(reserveId, msg.sender, token);
        _earmark(reserveId, vaults, true);
    }

    /// @inheritdoc IMarginGuard
    function earmark(uint256 reserveId, address[] calldata vaults, bool earmarked) external {
        _requireReserveOwner(reserveId);
        _earmark(reserveId, vaults, earmarked);
    }

    /// @inheritdoc IMarginGuard
    function depositReserve(uint256 reserveId, uint256 amount) external nonReentrant {
        Reserve storage r = _requireReserveOwner(reserveId);
        if (amount == 0) revert ZeroAmount();
        uint256 balanceAfter = r.balance + amount;
        if (balanceAfter > type(uint96).max) revert AmountTooLarge(balanceAfter);
        r.balance = uint96(balanceAfter);
        emit ReserveDeposited(reserveId, amount, balanceAfter);
        _pull(IERC20(r.token), msg.sender, amount);
    }

    /// @inheritdoc IMarginGuard
    function withdrawReserve(uint256 reserveId, uint256 amount, address receiver) external nonReentrant {
        Reserve storage r = _requireReserveOwner(reserveId);
        if (amount == 0) revert ZeroAmount();
        uint256 balance = r.balance;
        if (amount > balance) revert ReserveTooLow(reserveId, balance, amount);
        r.balance = uint96(balance - amount);
        emit ReserveWithdrawn(reserveId, receiver, amount, balance - amount);
        IERC20(r.token).safeTransfer(receiver, amount);
    }

    // ---------------------------------------------------------------- anyone: top-ups

    /// @inheritdoc IMarginGuard
    function topUp(address vault) external nonReentrant returns (uint256 amount, uint256 fee) {
        return _topUp(vault, msg.sender);
    }

    /// @inheritdoc IMarginGuard
    function topUpBatch(address[] calldata vaults) external nonReentrant returns (uint256 done) {
        if (vaults.length == 0) revert NoVaults();
        for (uint256 i; i < vaults.length; ++i) {
            try this.topUpFor(vaults[i], msg.sender) {
                ++done;
            } catch {}
        }
        emit BatchToppedUp(msg.sender, vaults.length, done);
    }

    /// @inheritdoc IMarginGuard
    function topUpFor(address vault, address executor) external returns (uint256 amount, uint256 fee) {
        if (msg.sender != address(this)) revert OnlySelf();
        return _topUp(vault, executor);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMarginGuard
    function policy(address owner, address vault) external view returns (Policy memory) {
        return _policies[owner][vault];
    }

    /// @inheritdoc IMarginGuard
    function reserve(uint256 reserveId) external view returns (Reserve memory) {
        return _reserves[reserveId];
    }

    /// @inheritdoc IMarginGuard
    function isEarmarked(uint256 reserveId, address vault) external view returns (bool) {
        return _earmarked[reserveId][vault];
    }

    /// @inheritdoc IMarginGuard
    function quote(address vault) external view returns (uint256 amount, uint256 fee, uint256 healthWad) {
        (Plan memory plan,) = _plan(vault);
        return (plan.amount, plan.fee, plan.healthWad);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Checks, plans and executes one top-up of `vault` for `executor`.
    function _topUp(address vault, address executor) internal returns (uint256, uint256) {
        (Plan memory plan, Policy storage p) = _plan(vault);
        uint256 reserveId = p.reserveId;
        uint256 budgetAfter = p.budget - plan.amount - plan.fee;
        p.budget = uint96(budgetAfter);
        IERC20 token = IERC20(plan.pool.asset());
        if (reserveId == 0) {
            _pullFromWallet(token, plan.owner, plan.amount + plan.fee);
        } else {
            _spendReserve(reserveId, vault, plan.owner, address(token), plan.amount + plan.fee);
        }
        emit ToppedUp(vault, plan.owner, executor, plan.amount, plan.fee, reserveId, plan.healthAfterWad, budgetAfter);
        token.forceApprove(address(plan.pool), plan.amount);
        plan.pool.addMargin(vault, plan.amount);
        if (plan.fee != 0) token.safeTransfer(executor, plan.fee);
        return (plan.amount, plan.fee);
    }

    /// @dev The vault's pool (one of the factory's), its owner's policy (present, unexpired) and what a
    /// top-up adds now: the least margin that brings health to the target, capped by the most per top-up
    /// and the budget left after the fee. Reverts by name when the vault is healthy or nothing can be paid.
    function _plan(address vault) internal view returns (Plan memory plan, Policy storage p) {
        Position memory pos;
        (plan.pool, pos) = _openPosition(vault);
        plan.owner = pos.owner;
        p = _policies[pos.owner][vault];
        if (p.targetHealthWad == 0) revert NoPolicy(pos.owner, vault);
        if (p.expiry != 0 && block.timestamp >= p.expiry) revert PolicyExpired(vault, p.expiry);
        (int256 equity, uint256 requirement) = _equityAndRequirement(plan.pool, pos);
        plan.healthWad = _health(equity, requirement);
        if (plan.healthWad >= p.triggerHealthWad) revert VaultHealthy(vault, plan.healthWad, p.triggerHealthWad);
        plan.fee = p.fee;
        uint256 budget = p.budget;
        if (budget <= plan.fee) revert BudgetExhausted(budget, plan.fee);
        // health' = floor((e + x) * WAD / R) >= target  <=>  e + x >= ceil(target * R / WAD)
        uint256 needed = uint256(int256(MarginMath.mulDivUp(requirement, p.targetHealthWad, WAD)) - equity);
        uint256 amount = needed < p.maxPerTopUp ? needed : p.maxPerTopUp;
        plan.amount = amount < budget - plan.fee ? amount : budget - plan.fee;
        plan.healthAfterWad = _health(equity + int256(plan.amount), requirement);
    }

    /// @dev The factory's pool of `vault` and its open position.
    function _openPosition(address vault) internal view returns (IMarginPool pool, Position memory pos) {
        (bool ok, bytes memory data) = vault.staticcall(abi.encodeCall(IPositionVault.pool, ()));
        if (!ok || data.length != 32) revert NotAVault(vault);
        pool = IMarginPool(abi.decode(data, (address)));
        if (!PoolProof.isPool(_poolDeployer, _firstPoolNonce, address(pool))) revert UnknownPool(address(pool));
        pos = pool.position(vault);
        if (pos.status != PositionStatus.Open) revert PositionNotOpen(vault);
    }

    /// @dev The position's equity and maintenance requirement `MM * notional` at the oracle price, as the
    /// vault's `health()` computes them (MarginMath, fees accrued now).
    function _equityAndRequirement(IMarginPool pool, Position memory pos)
        internal
        view
        returns (int256 equity, uint256 requirement)
    {
        uint256 scale = pool.priceScale();
        uint256 priceWad = IPriceOracle(pool.oracle()).price();
        uint256 fees = MarginMath.positionFeesUp(pos, pool.currentFeeIndex(), scale);
        requirement = MarginMath.notionalRatioUp(pos.size, priceWad, pool.params().maintenanceMarginWad, scale);
        equity = MarginMath.equityDown(pos, priceWad, fees, scale);
    }

    /// @dev `MarginMath.healthDown` from its two parts.
    function _health(int256 equity, uint256 requirement) internal pure returns (uint256) {
        if (requirement == 0) return type(uint256).max;
        return equity <= 0 ? 0 : MarginMath.mulDivDown(uint256(equity), WAD, requirement);
    }

    /// @dev Pulls `total` from `owner`'s wallet, refusing by name a short allowance or balance.
    function _pullFromWallet(IERC20 token, address owner, uint256 total) internal {
        uint256 allowance = token.allowance(owner, address(this));
        if (allowance < total) revert AllowanceTooLow(owner, allowance, total);
        uint256 balance = token.balanceOf(owner);
        if (balance < total) revert WalletBalanceTooLow(owner, balance, total);
        _pull(token, owner, total);
    }

    /// @dev Takes `total` out of reserve `reserveId`, which must be `owner`'s, in `token` and earmarked to `vault`.
    function _spendReserve(uint256 reserveId, address vault, address owner, address token, uint256 total) internal {
        Reserve storage r = _reserves[reserveId];
        if (r.owner != owner) revert NotReserveOwner(reserveId, owner);
        if (!_earmarked[reserveId][vault]) revert ReserveNotEarmarked(reserveId, vault);
        if (r.token != token) revert ReserveTokenMismatch(reserveId, r.token, token);
        uint256 balance = r.balance;
        if (balance < total) revert ReserveTooLow(reserveId, balance, total);
        r.balance = uint96(balance - total);
    }

    /// @dev Pulls `amount` of `token` from `from` into the guard, checked by balance delta.
    function _pull(IERC20 token, address from, uint256 amount) internal {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }

    function _requireReserveOwner(uint256 reserveId) internal view returns (Reserve storage r) {
        r = _reserves[reserveId];
        if (r.owner == address(0)) revert UnknownReserve(reserveId);
        if (r.owner != msg.sender) revert NotReserveOwner(reserveId, msg.sender);
    }

    function _earmark(uint256 reserveId, address[] calldata vaults, bool earmarked) internal {
        for (uint256 i; i < vaults.length; ++i) {
            _earmarked[reserveId][vaults[i]] = earmarked;
            emit ReserveEarmarked(reserveId, vaults[i], earmarked);
        }
    }
}
