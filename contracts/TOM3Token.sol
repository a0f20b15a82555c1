// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ITOM3Token} from "./interfaces/ITOM3Token.sol";

/// @title TOM3 token
/// @notice ERC-20 with EIP-2612 permit and a fixed supply: everything is minted once, here, to `holder`; there is
/// no mint or burn function afterwards.
/// @dev The interface comes last: OpenZeppelin's ERC20Permit derives IERC20Permit after ERC20, so listing
/// ITOM3Token (which derives IERC20Permit) before ERC20 makes the inheritance graph impossible to linearize.
contract TOM3Token is ERC20, ERC20Permit, ITOM3Token {
    /// @param holder Receives the whole supply.
    /// @param supply Total supply in wei (18 decimals).
    constructor(address holder, uint256 supply) ERC20("TOM3", "TOM3") ERC20Permit("TOM3") {
        if (holder == address(0) || supply == 0) revert TOM3TokenInvalidInitialMint(holder, supply);
        _mint(holder, supply);
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) public view override(ERC20Permit, IERC20Permit) returns (uint256) {
        return super.nonces(owner);
    }
}
