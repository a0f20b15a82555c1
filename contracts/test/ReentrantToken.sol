// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Test-only ERC-20 that calls back into a target while moving tokens
/// @notice Once armed, the next transfer or transferFrom (after the balances move) calls `target` with `data` and
/// bubbles up its revert, so a test sees exactly why the reentrant call was refused. Anyone can mint: tests also use
/// it as a token with more than 2^96 wei in circulation. Never deploy outside tests.
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _data;
    bool private _armed;

    constructor() ERC20("Reentrant", "REENTER") {}

    /// @notice Mint `amount` to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Make the next token movement call `target` with `data`, once.
    function arm(address target, bytes calldata data) external {
        _target = target;
        _data = data;
        _armed = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (_armed) {
            _armed = false;
            // A raw call on purpose: the test chooses any function of the target.
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory returned) = _target.call(_data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(returned, 0x20), mload(returned))
                }
            }
        }
    }
}
