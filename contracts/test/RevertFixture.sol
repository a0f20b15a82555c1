// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IMarket} from "../interfaces/IMarket.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";

/// @title Test fixture: reverts the way TOM3 contracts do
/// @notice Lets the off-chain error decoder be tested against real reverts (eth_call, eth_estimateGas and
/// eth_sendTransaction) before the implementations exist. Every function writes storage first, so it is a real
/// transaction target and not a view. Test-only: never deployed by the deployment module.
contract RevertFixture {
    uint256 private _calls;

    /// @notice Reverts with `IMarket.MarketPriceAboveLimit(price, limit)`.
    function priceAboveLimit(uint128 price, uint128 limit) external {
        ++_calls;
        revert IMarket.MarketPriceAboveLimit(price, limit);
    }

    /// @notice Reverts with `IMarket.MarketOrderNotOpen(orderId, state)` (an enum argument).
    function orderNotOpen(uint256 orderId, IMarket.OrderState state) external {
        ++_calls;
        revert IMarket.MarketOrderNotOpen(orderId, state);
    }

    /// @notice Reverts with `IMarket.MarketInvalidSpec(field)` (a string argument).
    function invalidSpec(string calldata field) external {
        ++_calls;
        revert IMarket.MarketInvalidSpec(field);
    }

    /// @notice Reverts with `IProviderRegistry.ProviderRegistryUnbondingNotOver(releaseAt, now)`.
    function unbondingNotOver(uint64 releaseAt) external {
        ++_calls;
        revert IProviderRegistry.ProviderRegistryUnbondingNotOver(releaseAt, uint64(block.timestamp));
    }

    /// @notice Reverts with OpenZeppelin's `ERC20InsufficientBalance(sender, balance, needed)`.
    function insufficientBalance(uint256 balance, uint256 needed) external {
        ++_calls;
        revert IERC20Errors.ERC20InsufficientBalance(msg.sender, balance, needed);
    }

    /// @notice Reverts with OpenZeppelin's `GovernorUnexpectedProposalState(proposalId, current, expectedStates)`.
    function unexpectedProposalState(uint256 proposalId, IGovernor.ProposalState current, bytes32 expectedStates)
        external
    {
        ++_calls;
        revert IGovernor.GovernorUnexpectedProposalState(proposalId, current, expectedStates);
    }

    /// @notice Reverts with exactly `data` as the revert data (any selector, or none).
    function revertWith(bytes calldata data) external {
        ++_calls;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, data.offset, data.length)
            revert(ptr, data.length)
        }
    }

    /// @notice Any other call (say, a Market function) reverts with `IMarket.MarketUnauthorized(caller)`: the
    /// fixture stands in for a TOM3 contract that refuses everything, for tests of the tasks' error path.
    fallback() external {
        revert IMarket.MarketUnauthorized(msg.sender);
    }

    /// @notice Number of calls that did not revert (always 0: every function reverts).
    function calls() external view returns (uint256) {
        return _calls;
    }
}
