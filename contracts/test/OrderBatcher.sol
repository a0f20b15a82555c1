// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IMarket, RequirementSpec} from "../interfaces/IMarket.sol";

/// @title Test helper: many real Market orders per transaction
/// @notice The provider benchmark needs 100,000 orders on chain; one `createOrder` per transaction would take far
/// longer to sign and send than to execute. The tenant approves this contract as its operator, and each call
/// creates `count` orders through `Market.createOrder`, so every order is a real one with its escrow lock and its
/// `OrderCreated` event. Test-only: never deployed by the deployment module.
contract OrderBatcher {
    IMarket private immutable _market;
    address private immutable _owner;

    error OrderBatcherUnauthorized(address caller);

    constructor(IMarket market) {
        _market = market;
        _owner = msg.sender;
    }

    /// @notice Creates `count` orders on `deploymentId` with `spec`, for the deployment's owner (who approved this
    /// contract as its operator). Only the deployer may call: the operator allowance is the tenant's money.
    /// @return firstOrderId the id of the first order created (the others follow it).
    function createOrders(uint256 deploymentId, RequirementSpec calldata spec, uint256 count)
        external
        returns (uint256 firstOrderId)
    {
        if (msg.sender != _owner) revert OrderBatcherUnauthorized(msg.sender);
        for (uint256 i = 0; i < count; ++i) {
            uint256 id = _market.createOrder(deploymentId, spec);
            if (i == 0) firstOrderId = id;
        }
    }
}
