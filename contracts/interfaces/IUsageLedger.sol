// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Ledger of encrypted usage reports
/// @notice A charter's provider commits, period after period, to the hash of a usage summary encrypted under the
/// tenant's homomorphic public key. The ciphertext itself is served off chain.
interface IUsageLedger {
    event UsageReported(uint256 indexed charterId, address indexed provider, uint64 periodEnd, bytes32 ciphertextHash);

    error UsageLedgerUnknownCharter(uint256 charterId);
    error UsageLedgerNotProvider(uint256 charterId, address caller);
    error UsageLedgerNotAcknowledged(uint256 charterId);
    error UsageLedgerPeriodNotIncreasing(uint64 periodEnd, uint64 lastPeriodEnd);
    error UsageLedgerPeriodInFuture(uint64 periodEnd, uint64 now_);
    error UsageLedgerEmptyCiphertext();

    /// @notice Report usage of `charterId` up to `periodEnd`. The charter's provider only; the charter must be
    /// acknowledged; `periodEnd` strictly increases per charter and is not in the future.
    function reportUsage(uint256 charterId, uint64 periodEnd, bytes32 ciphertextHash) external;

    /// @notice The last report of a charter (zeroes if none).
    function lastReport(uint256 charterId) external view returns (uint64 periodEnd, bytes32 ciphertextHash);

    /// @notice Number of reports made for a charter.
    function reportCount(uint256 charterId) external view returns (uint256);
}
