// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title TOM3 timelock
/// @notice OpenZeppelin's TimelockController under a TOM3 name, so deployment tooling (Ignition, TypeChain) can
/// deploy it by name from this project's artifacts. It owns every protocol parameter on a governed deployment; the
/// TOM3Governor is its proposer.
contract TOM3Timelock is TimelockController {
    /// @param minDelay Seconds between queueing and executing an operation.
    /// @param proposers Accounts allowed to propose and cancel (the governor).
    /// @param executors Accounts allowed to execute (address(0) for anyone).
    /// @param admin Optional temporary admin for set-up (address(0) for none).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
