// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockERC20
/// @notice TEST ONLY. An OpenZeppelin ERC20 with configurable decimals that anyone can mint.
contract MockERC20 is ERC20 {
    uint8 private immutable _decimals;

    /// @param name_ The token's name.
    /// @param symbol_ The token's symbol.
    /// @param decimals_ The token's decimals().
    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    /// @notice Mints `amount` tokens to `to`; open to anyone (test token).
    /// @param to The recipient.
    /// @param amount The amount, in the token's smallest unit.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
