// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {IPoolFactory} from "../interfaces/IPoolFactory.sol";
import {IMarginPool, MarketParams} from "../interfaces/IMarginPool.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginPoolDeployer} from "./MarginPoolDeployer.sol";
import {PositionVault} from "./PositionVault.sol";
import {InsuranceFund} from "./InsuranceFund.sol";

/// @title PoolFactory
/// @notice Creates Ringfence markets within hard bounds and holds the protocol's roles. Changes to a
/// market's parameters or price adapter take effect only `delay` seconds after they are queued. See
/// IPoolFactory.
contract PoolFactory is IPoolFactory, Ownable2Step {
    uint256 internal constant WAD = 1e18;
    uint256 public constant MIN_INITIAL_MARGIN = 0.01e18; // leverage <= 100x
    uint256 public constant MAX_FEE = 0.01e18; // open and close fees <= 1 %
    uint256 public constant MAX_BORROW_RATE = 1e18 / uint256(365 days); // <= 100 % a year
    uint256 public constant MIN_PROFIT_CAP = 1e18; // PnL cap >= 1x the margin
    uint256 public constant MAX_PROFIT_CAP = 10e18; // PnL cap <= 10x the margin
    uint256 public constant MAX_PRICE_AGE = 2 days;
    uint256 public constant MIN_DELAY = 1 hours; // owner delay bounds
    uint256 public constant MAX_DELAY = 30 days;
    uint256 public constant MAX_KEEPER_BONUS_MIN_TOKENS = 100; // bound on a market's bonus-floor cap, whole tokens
    uint256 internal constant MAX_ASSET_DECIMALS = 18; // as MarginPool (a margin is at most 2**88 - 1 units)

    /// @notice Creates the pools (MarginPool's creation code does not fit in this contract: EIP-170); bound
    /// to this factory in its own constructor.
    MarginPoolDeployer public immutable deployer;
    /// @inheritdoc IPoolFactory
    uint256 public immutable delay;
    /// @inheritdoc IPoolFactory
    address public guardian;
    /// @inheritdoc IPoolFactory
    address public liquidator;
    /// @inheritdoc IPoolFactory
    mapping(address => bool) public isPool;
    /// @inheritdoc IPoolFactory
    mapping(address pool => uint256) public maxKeeperBonusMin;
    address[] internal _pools;

    /// @dev A queued parameter change: `eta` 0 when none.
    struct QueuedParams {
        MarketParams params;
        uint256 eta;
    }

    /// @dev A queued move to a new price adapter: `eta` 0 when none.
    struct QueuedOracle {
        address oracle;
        uint96 eta;
    }

    mapping(address pool => QueuedParams) internal _queuedParams;
    mapping(address pool => QueuedOracle) internal _queuedOracle;

    /// @param owner_ The owner (a multisig, say): creates markets, queues and executes changes.
    /// @param guardian_ May pause and unpause opening, at once.
    /// @param deployer_ A MarginPoolDeployer created with this factory's address.
    /// @param delay_ Seconds between queueing a change and executing it, within [MIN_DELAY, MAX_DELAY].
    constructor(address owner_, address guardian_, MarginPoolDeployer deployer_, uint256 delay_) Ownable(owner_) {
        _within("delay", delay_, MIN_DELAY, MAX_DELAY);
        if (address(deployer_) == address(0)) revert ZeroAddress();
        address bound = deployer_.factory();
        if (bound != address(this)) revert DeployerNotBound(address(deployer_), bound);
        deployer = deployer_;
        delay = delay_;
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @notice Disabled: an ownerless factory would freeze every market's parameters and market creation.
    /// Ownership moves only by the two-step transfer.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    modifier onlyKnownPool(address pool) {
        if (!isPool[pool]) revert UnknownPool(pool);
        _;
    }

    /// @inheritdoc IPoolFactory
    function createPool(
        address asset,
        address oracle,
        MarketParams calldata params,
        uint256 maxKeeperBonusMin_,
        string calldata name,
        string calldata symbol
    ) external onlyOwner returns (address pool) {
        if (asset == address(0) || oracle == address(0)) revert ZeroAddress();
        if (liquidator == address(0)) revert LiquidatorNotSet();
        _checkParams(params);
        uint256 decimals = IERC20Metadata(asset).decimals();
        _within("assetDecimals", decimals, 0, MAX_ASSET_DECIMALS);
        _within("maxKeeperBonusMin", maxKeeperBonusMin_, 0, MAX_KEEPER_BONUS_MIN_TOKENS * 10 ** decimals);
        _within("keeperBonusMin", params.keeperBonusMin, 0, maxKeeperBonusMin_);
        _checkMaxAge(oracle);
        address next = deployer.nextPool();
        address vaultImplementation = address(new PositionVault(next));
        address fund = address(new InsuranceFund(asset, next));
        pool = deployer.deploy(liquidator, vaultImplementation, fund, asset, oracle, params, name, symbol);
        assert(pool == next);
        isPool[pool] = true;
        maxKeeperBonusMin[pool] = maxKeeperBonusMin_;
        _pools.push(pool);
        emit PoolCreated(pool, asset, oracle, fund);
        emit PoolParamsSet(pool, params);
        emit MaxKeeperBonusMinSet(pool, maxKeeperBonusMin_);
    }

    // ================================================================ delayed: parameters

    /// @inheritdoc IPoolFactory
    function queueParams(address pool, MarketParams calldata params) external onlyOwner onlyKnownPool(pool) {
        _checkPoolParams(pool, params);
        if (keccak256(abi.encode(IMarginPool(pool).params())) == keccak256(abi.encode(params))) {
            revert ParamsUnchanged();
        }
        uint256 eta = block.timestamp + delay;
        _queuedParams[pool] = QueuedParams(params, eta);
        emit ParamsQueued(pool, params, eta);
    }

    /// @inheritdoc IPoolFactory
    function executeParams(address pool) external onlyOwner {
        QueuedParams memory queued = _queuedParams[pool];
        _due(pool, queued.eta);
        _checkPoolParams(pool, queued.params);
        delete _queuedParams[pool];
        IMarginPool(pool).setParams(queued.params);
        emit PoolParamsSet(pool, queued.params);
    }

    /// @inheritdoc IPoolFactory
    function cancelParams(address pool) external onlyOwner {
        if (_queuedParams[pool].eta == 0) revert NothingPending(pool);
        delete _queuedParams[pool];
        emit ParamsCancelled(pool);
    }

    /// @inheritdoc IPoolFactory
    function pendingParams(address pool) external view returns (MarketParams memory params, uint256 eta) {
        QueuedParams storage queued = _queuedParams[pool];
        return (queued.params, queued.eta);
    }

    // ================================================================ delayed: price adapter

    /// @inheritdoc IPoolFactory
    function queueOracle(address pool, address oracle) external onlyOwner onlyKnownPool(pool) {
        if (oracle == address(0)) revert ZeroAddress();
        if (oracle == IMarginPool(pool).oracle()) revert OracleUnchanged(oracle);
        _checkMaxAge(oracle);
        _checkAnswers(oracle);
        uint256 eta = block.timestamp + delay;
        _queuedOracle[pool] = QueuedOracle(oracle, uint96(eta));
        emit OracleQueued(pool, oracle, eta);
    }

    /// @inheritdoc IPoolFactory
    function executeOracle(address pool) external onlyOwner {
        QueuedOracle memory queued = _queuedOracle[pool];
        _due(pool, queued.eta);
        _checkMaxAge(queued.oracle);
        _checkAnswers(queued.oracle);
        delete _queuedOracle[pool];
        IMarginPool(pool).setOracle(queued.oracle);
        emit PoolOracleSet(pool, queued.oracle);
    }

    /// @inheritdoc IPoolFactory
    function cancelOracle(address pool) external onlyOwner {
        QueuedOracle memory queued = _queuedOracle[pool];
        if (queued.eta == 0) revert NothingPending(pool);
        delete _queuedOracle[pool];
        emit OracleCancelled(pool, queued.oracle);
    }

    /// @inheritdoc IPoolFactory
    function pendingOracle(address pool) external view returns (address oracle, uint256 eta) {
        QueuedOracle storage queued = _queuedOracle[pool];
        return (queued.oracle, queued.eta);
    }

    // ================================================================ immediate

    /// @inheritdoc IPoolFactory
    function setPaused(address pool, bool paused) external onlyKnownPool(pool) {
        if (msg.sender != guardian && msg.sender != owner()) revert NotGuardian(msg.sender);
        if (IMarginPool(pool).paused() == paused) revert PausedUnchanged(paused);
        IMarginPool(pool).setPaused(paused);
        emit PoolPausedSet(pool, paused, msg.sender);
    }

    /// @inheritdoc IPoolFactory
    function setGuardian(address guardian_) external onlyOwner {
        if (guardian_ == guardian) revert GuardianUnchanged(guardian_);
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @inheritdoc IPoolFactory
    function setLiquidator(address liquidator_) external onlyOwner {
        if (liquidator_ == address(0)) revert ZeroAddress();
        if (liquidator != address(0)) revert LiquidatorAlreadySet(liquidator);
        liquidator = liquidator_;
        emit LiquidatorSet(liquidator_);
    }

    // ================================================================ bounds

    /// @inheritdoc IPoolFactory
    function checkParams(MarketParams calldata params) external pure {
        _checkParams(params);
    }

    /// @inheritdoc IPoolFactory
    function checkPoolParams(address pool, MarketParams calldata params) external view {
        _checkPoolParams(pool, params);
    }

    function _checkParams(MarketParams memory p) private pure {
        _within("initialMarginWad", p.initialMarginWad, MIN_INITIAL_MARGIN, WAD);
        _within("maintenanceMarginWad", p.maintenanceMarginWad, 1, p.initialMarginWad - 1);
        _within("liquidationTargetWad", p.liquidationTargetWad, uint256(p.maintenanceMarginWad) + 1, p.initialMarginWad);
        _within("keeperBonusWad", p.keeperBonusWad, 0, p.maintenanceMarginWad);
        _within("liquidationPenaltyWad", p.liquidationPenaltyWad, 0, p.maintenanceMarginWad - p.keeperBonusWad);
        _within("openFeeWad", p.openFeeWad, 0, MAX_FEE);
        _within("closeFeeWad", p.closeFeeWad, 0, MAX_FEE);
        _within("borrowRateWad", p.borrowRateWad, 0, MAX_BORROW_RATE);
        _within("maxProfitWad", p.maxProfitWad, MIN_PROFIT_CAP, MAX_PROFIT_CAP);
        _within("minMargin", p.minMargin, 1, type(uint88).max); // a position's margin is 88 bits
        _within("minNotional", p.minNotional, 1, type(uint96).max);
        _within("maxPositionNotional", p.maxPositionNotional, p.minNotional, type(uint128).max);
        _within("maxOpenInterest", p.maxOpenInterest, p.maxPositionNotional, type(uint128).max);
        // A minimum position's equity at the maintenance line pays the floor and the penalty.
        uint256 floorRoom = (uint256(p.maintenanceMarginWad) - p.liquidationPenaltyWad) * p.minNotional / WAD;
        _within("keeperBonusMin", p.keeperBonusMin, 0, floorRoom);
        _within("keeperBonusMax", p.keeperBonusMax, p.keeperBonusMin, type(uint128).max);
    }

    function _checkPoolParams(address pool, MarketParams memory params) private view onlyKnownPool(pool) {
        _checkParams(params);
        _within("keeperBonusMin", params.keeperBonusMin, 0, maxKeeperBonusMin[pool]);
    }

    // ================================================================ registry

    /// @inheritdoc IPoolFactory
    function pools() external view returns (address[] memory) {
        return _pools;
    }

    /// @inheritdoc IPoolFactory
    function poolCount() external view returns (uint256) {
        return _pools.length;
    }

    // ================================================================ internal

    function _within(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    function _due(address pool, uint256 eta) private view {
        if (eta == 0) revert NothingPending(pool);
        if (block.timestamp < eta) revert TooEarly(pool, eta, block.timestamp);
    }

    function _checkMaxAge(address oracle) private view {
        uint256 maxAge = IPriceOracle(oracle).maxAge();
        if (maxAge == 0 || maxAge > MAX_PRICE_AGE) revert ParameterOutOfBounds("maxPriceAge", maxAge, 1, MAX_PRICE_AGE);
    }

    function _checkAnswers(address oracle) private view {
        try IPriceOracle(oracle).price() returns (uint256 priceWad) {
            if (priceWad == 0) revert OracleNotAnswering(oracle, "");
        } catch (bytes memory reason) {
            revert OracleNotAnswering(oracle, reason);
        }
    }
}
