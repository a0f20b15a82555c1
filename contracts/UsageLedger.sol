// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IMarket} from "./interfaces/IMarket.sol";
import {IUsageLedger} from "./interfaces/IUsageLedger.sol";

/// @title TOM3 usage ledger
/// @notice Commitments to usage summaries encrypted under the tenant's homomorphic key (see IUsageLedger).
contract UsageLedger is IUsageLedger {
    struct Report {
        uint64 periodEnd;
        uint64 count;
        bytes32 ciphertextHash;
    }

    IMarket private immutable _market;
    mapping(uint256 charterId => Report) private _reports;

    constructor(IMarket market_) {
        _market = market_;
    }

    /// @inheritdoc IUsageLedger
    function reportUsage(uint256 charterId, uint64 periodEnd, bytes32 ciphertextHash) external {
        IMarket.Charter memory c = _market.charter(charterId);
        if (c.state == IMarket.CharterState.None) revert UsageLedgerUnknownCharter(charterId);
        if (msg.sender != c.provider) revert UsageLedgerNotProvider(charterId, msg.sender);
        if (c.acknowledgedAt == 0) revert UsageLedgerNotAcknowledged(charterId);
        if (ciphertextHash == bytes32(0)) revert UsageLedgerEmptyCiphertext();
        Report storage last = _reports[charterId];
        if (periodEnd <= last.periodEnd || periodEnd <= c.acknowledgedAt) {
            revert UsageLedgerPeriodNotIncreasing(periodEnd, last.periodEnd == 0 ? c.acknowledgedAt : last.periodEnd);
        }
        if (periodEnd > block.timestamp) revert UsageLedgerPeriodInFuture(periodEnd, uint64(block.timestamp));
        last.periodEnd = periodEnd;
        last.ciphertextHash = ciphertextHash;
        ++last.count;
        emit UsageReported(charterId, msg.sender, periodEnd, ciphertextHash);
    }

    /// @inheritdoc IUsageLedger
    function lastReport(uint256 charterId) external view returns (uint64 periodEnd, bytes32 ciphertextHash) {
        Report storage r = _reports[charterId];
        return (r.periodEnd, r.ciphertextHash);
    }

    /// @inheritdoc IUsageLedger
    function reportCount(uint256 charterId) external view returns (uint256) {
        return _reports[charterId].count;
    }

    /// @notice The Market whose charters this ledger records.
    function market() external view returns (address) {
        return address(_market);
    }
}
