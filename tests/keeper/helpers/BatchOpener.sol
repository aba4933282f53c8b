// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// TEST ONLY (tests/keeper): opens many positions of one pool in one transaction, so a test can set
/// up hundreds of vaults quickly. The opener owns every vault it opens (nonce = a running counter).
/// Fund it by minting the settlement token to it; it approves the pool on first use.
interface IPoolLike {
    function openPosition(uint96 nonce, bool isLong, uint256 size, uint256 margin, uint256 acceptablePriceWad)
        external
        returns (address vault);
    function asset() external view returns (address);
}

interface IERC20Like {
    function approve(address spender, uint256 amount) external returns (bool);
}

contract BatchOpener {
    struct Open {
        bool isLong;
        uint256 size;
        uint256 margin;
    }

    uint96 public nextNonce;
    mapping(address pool => bool) public approved;

    function open(address pool, Open[] calldata opens) external returns (address[] memory vaults) {
        if (!approved[pool]) {
            IERC20Like(IPoolLike(pool).asset()).approve(pool, type(uint256).max);
            approved[pool] = true;
        }
        vaults = new address[](opens.length);
        uint96 nonce = nextNonce;
        for (uint256 i; i < opens.length; ++i) {
            vaults[i] = IPoolLike(pool).openPosition(nonce++, opens[i].isLong, opens[i].size, opens[i].margin, 0);
        }
        nextNonce = nonce;
    }
}
