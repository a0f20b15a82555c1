// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title TOM3 token
/// @notice ERC-20 with EIP-2612 permit; a fixed supply minted once at deployment. 18 decimals.
interface ITOM3Token is IERC20, IERC20Permit {
    /// @notice The supply is minted once; a zero holder or zero supply is refused.
    error TOM3TokenInvalidInitialMint(address holder, uint256 supply);
}
