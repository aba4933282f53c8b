// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IPoolFactory} from "../interfaces/IPoolFactory.sol";
import {IMarginPool, MarketParams} from "../interfaces/IMarginPool.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginPoolDeployer} from "./MarginPoolDeployer.sol";
import {PositionVault} from "./PositionVault.sol";
import {InsuranceFund} from "./InsuranceFund.sol";

/// @title PoolFactory
/// @notice Creates Ringfence markets within hard bounds and holds the protocol's roles. See IPoolFactory.
contract PoolFactory is IPoolFactory, Ownable2Step {
    uint256 internal constant WAD = 1e18;
    uint256 public constant MIN_INITIAL_MARGIN = 0.01e18; // leverage <= 100x
    uint256 public constant MAX_FEE = 0.01e18; // open and close fees <= 1 %
    uint256 public constant MAX_BORROW_RATE = 1e18 / uint256(365 days); // <= 100 % a year
    uint256 public constant MIN_PROFIT_CAP = 1e18; // PnL cap >= 1x the margin
    uint256 public constant MAX_PROFIT_CAP = 10e18; // PnL cap <= 10x the margin
    uint256 public constant MAX_PRICE_AGE = 2 days;

    /// @notice Creates the pools (MarginPool's creation code does not fit in this contract: EIP-170); bound
    /// to this factory in its own constructor.
    MarginPoolDeployer public immutable deployer;
    /// @inheritdoc IPoolFactory
    address public guardian;
    /// @inheritdoc IPoolFactory
    address public liquidator;
    /// @inheritdoc IPoolFactory
    mapping(address => bool) public isPool;
    address[] internal _pools;

    constructor(address owner_, address guardian_, MarginPoolDeployer deployer_) Ownable(owner_) {
        if (address(deployer_) == address(0)) revert ZeroAddress();
        address bound = deployer_.factory();
        if (bound != address(this)) revert DeployerNotBound(address(deployer_), bound);
        deployer = deployer_;
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
        string calldata name,
        string calldata symbol
    ) external onlyOwner returns (address pool) {
        if (asset == address(0) || oracle == address(0)) revert ZeroAddress();
        if (liquidator == address(0)) revert LiquidatorNotSet();
        checkParams(params);
        uint256 maxAge = IPriceOracle(oracle).maxAge();
        if (maxAge == 0 || maxAge > MAX_PRICE_AGE) revert ParameterOutOfBounds("maxPriceAge", maxAge, 1, MAX_PRICE_AGE);
        address next = deployer.nextPool();
        address vaultImplementation = address(new PositionVault(next));
        address fund = address(new InsuranceFund(asset, next));
        pool = deployer.deploy(liquidator, vaultImplementation, fund, asset, oracle, params, name, symbol);
        assert(pool == next);
        isPool[pool] = true;
        _pools.push(pool);
        emit PoolCreated(pool, asset, oracle, fund);
        emit PoolParamsSet(pool, params);
    }

    /// @inheritdoc IPoolFactory
    function setParams(address pool, MarketParams calldata params) external onlyOwner onlyKnownPool(pool) {
        checkParams(params);
        if (keccak256(abi.encode(IMarginPool(pool).params())) == keccak256(abi.encode(params))) {
            revert ParamsUnchanged();
        }
        IMarginPool(pool).setParams(params);
        emit PoolParamsSet(pool, params);
    }

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

    /// @inheritdoc IPoolFactory
    function checkParams(MarketParams calldata p) public pure {
        _within("initialMarginWad", p.initialMarginWad, MIN_INITIAL_MARGIN, WAD);
        _within("maintenanceMarginWad", p.maintenanceMarginWad, 1, p.initialMarginWad - 1);
        _within("liquidationTargetWad", p.liquidationTargetWad, uint256(p.maintenanceMarginWad) + 1, p.initialMarginWad);
        _within("keeperBonusWad", p.keeperBonusWad, 0, p.maintenanceMarginWad);
        _within("liquidationPenaltyWad", p.liquidationPenaltyWad, 0, p.maintenanceMarginWad - p.keeperBonusWad);
        _within("openFeeWad", p.openFeeWad, 0, MAX_FEE);
        _within("closeFeeWad", p.closeFeeWad, 0, MAX_FEE);
        _within("borrowRateWad", p.borrowRateWad, 0, MAX_BORROW_RATE);
        _within("maxProfitWad", p.maxProfitWad, MIN_PROFIT_CAP, MAX_PROFIT_CAP);
        _within("minMargin", p.minMargin, 1, type(uint96).max);
        _within("minNotional", p.minNotional, 1, type(uint96).max);
        _within("maxPositionNotional", p.maxPositionNotional, p.minNotional, type(uint128).max);
        _within("maxOpenInterest", p.maxOpenInterest, p.maxPositionNotional, type(uint128).max);
        _within("keeperBonusMin", p.keeperBonusMin, 0, p.minMargin / 2);
        _within("keeperBonusMax", p.keeperBonusMax, p.keeperBonusMin, type(uint128).max);
    }

    /// @inheritdoc IPoolFactory
    function pools() external view returns (address[] memory) {
        return _pools;
    }

    /// @inheritdoc IPoolFactory
    function poolCount() external view returns (uint256) {
        return _pools.length;
    }

    function _within(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }
}
