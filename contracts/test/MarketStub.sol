// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";

/// @title Test-only stand-in for the Market
/// @notice Set as the registry's Market, it forwards recordDelivery and slash, and names a settable treasury, so
/// registry tests do not depend on the real Market. Never deploy outside tests.
contract MarketStub {
    IProviderRegistry private immutable _registry;
    address private _treasury;

    constructor(IProviderRegistry registry, address treasury_) {
        _registry = registry;
        _treasury = treasury_;
    }

    /// @notice Where the registry sends slashed stake.
    function treasury() external view returns (address) {
        return _treasury;
    }

    function setTreasury(address treasury_) external {
        _treasury = treasury_;
    }

    function recordDelivery(address provider, bool completed) external {
        _registry.recordDelivery(provider, completed);
    }

    function slash(address provider, uint256 amount) external returns (uint256) {
        return _registry.slash(provider, amount);
    }
}
