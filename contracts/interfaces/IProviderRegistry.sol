// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Provider registry: directory, staking, reputation and stake-weighted votes
/// @notice Providers register an endpoint and self-declared attributes, stake TOM3 (which is also their voting
/// power in governance, via ERC-5805 checkpoints), and build a reputation from stake and delivery history that
/// the Market records. Reputation formula: see docs/reputation.md.
interface IProviderRegistry {
    // ------------------------------------------------------------------ events

    /// @notice A provider registered.
    event ProviderRegistered(address indexed provider, string endpoint, bytes32[] attributes);
    /// @notice A provider replaced its endpoint and attributes.
    event ProviderUpdated(address indexed provider, string endpoint, bytes32[] attributes);
    /// @notice `amount` was added to the provider's active stake; `stake` is the new active stake.
    event Staked(address indexed provider, uint256 amount, uint256 stake);
    /// @notice `amount` moved from active stake to unbonding; all unbonding stake is released at `releaseAt`.
    event UnstakeRequested(address indexed provider, uint256 amount, uint256 unbonding, uint64 releaseAt);
    /// @notice Unbonded stake was returned to the provider.
    event UnstakeWithdrawn(address indexed provider, uint256 amount);
    /// @notice Stake was slashed (active first, then unbonding) and sent to `treasury`.
    event Slashed(address indexed provider, uint256 amount, address indexed treasury);
    /// @notice The Market recorded the outcome of a charter.
    event DeliveryRecorded(address indexed provider, bool completed, uint32 completedCount, uint32 failedCount);
    /// @notice Governance changed the unbonding period.
    event UnbondingPeriodChanged(uint64 unbondingPeriod);
    /// @notice Governance set the Market allowed to record deliveries and slash.
    event MarketChanged(address indexed market);

    // ------------------------------------------------------------------ errors

    error ProviderRegistryAlreadyRegistered(address provider);
    error ProviderRegistryNotRegistered(address account);
    error ProviderRegistryEmptyEndpoint();
    error ProviderRegistryEndpointTooLong(uint256 length, uint256 maxLength);
    error ProviderRegistryTooManyAttributes(uint256 count, uint256 maxCount);
    error ProviderRegistryZeroAmount();
    error ProviderRegistryInsufficientStake(uint256 stake, uint256 requested);
    error ProviderRegistryNothingUnbonding(address provider);
    error ProviderRegistryUnbondingNotOver(uint64 releaseAt, uint64 now_);
    error ProviderRegistryUnauthorized(address caller);
    error ProviderRegistryStakeOverflow(uint256 stake);
    error ProviderRegistryInvalidParameter(uint256 value);
    error ProviderRegistryDuplicateAttribute(bytes32 attribute);

    // ------------------------------------------------------------------ directory

    /// @notice Register the caller as a provider.
    /// @param endpoint How peers reach the provider: space-separated libp2p multiaddrs and/or an https URL
    ///        (1..512 bytes).
    /// @param attributes keccak256("key=value") of each self-declared attribute (at most 32, no duplicates).
    function register(string calldata endpoint, bytes32[] calldata attributes) external;

    /// @notice Replace the caller's endpoint and attributes.
    function update(string calldata endpoint, bytes32[] calldata attributes) external;

    /// @notice Whether `account` registered.
    function isProvider(address account) external view returns (bool);

    /// @notice The provider's endpoint ("" when not registered).
    function endpointOf(address provider) external view returns (string memory);

    /// @notice The provider's current attributes.
    function attributesOf(address provider) external view returns (bytes32[] memory);

    /// @notice Whether the provider holds every attribute in `attributes`.
    function hasAttributes(address provider, bytes32[] calldata attributes) external view returns (bool);

    // ------------------------------------------------------------------ staking

    /// @notice Stake `amount` TOM3 (pulled with transferFrom; the caller must be registered). The stake votes
    /// for the caller's delegate (the caller itself unless it delegated).
    function stake(uint256 amount) external;

    /// @notice Move `amount` of active stake to unbonding. The whole unbonding balance is released
    /// `unbondingPeriod()` after this call; it can still be slashed until withdrawn.
    function requestUnstake(uint256 amount) external;

    /// @notice Withdraw all unbonded stake once the unbonding period is over.
    function withdrawUnstaked() external;

    /// @notice Active (voting) stake of `provider`.
    function stakeOf(address provider) external view returns (uint256);

    /// @notice Stake of `provider` that is unbonding and when it is released.
    function unbondingOf(address provider) external view returns (uint256 amount, uint64 releaseAt);

    /// @notice Active plus unbonding stake: what a slash can take.
    function slashableStakeOf(address provider) external view returns (uint256);

    /// @notice The token that is staked (TOM3).
    function token() external view returns (IERC20);

    /// @notice Sum of every provider's active stake.
    function totalStaked() external view returns (uint256);

    /// @notice Take up to `amount` of the provider's stake (active first, then unbonding) and send it to the
    /// Market's treasury. Governance (owner) or the Market only. Returns what was actually taken.
    function slash(address provider, uint256 amount) external returns (uint256 slashed);

    // ------------------------------------------------------------------ reputation

    /// @notice Record a charter's outcome. The Market only.
    function recordDelivery(address provider, bool completed) external;

    /// @notice Charters completed and failed by `provider`.
    function deliveryOf(address provider) external view returns (uint32 completed, uint32 failed);

    /// @notice Reputation 0..10000, O(1): 70% delivery history, 30% stake share (see docs/reputation.md).
    function reputationOf(address provider) external view returns (uint16);

    /// @notice The reputation formula itself, for off-chain use and tests: `reputationOf(p)` is
    /// `reputationFormula(stakeOf(p), totalStaked(), completed, failed)`. A `stake` above `total` counts as `total`.
    function reputationFormula(uint256 stake, uint256 total, uint32 completed, uint32 failed)
        external
        pure
        returns (uint16);

    /// @notice Everything `Market.placeBid` asks of the registry in one call: registered, reputation and
    /// whether every attribute is held (and, if not, the first missing one).
    function bidderStatus(address provider, bytes32[] calldata attributes)
        external
        view
        returns (bool registered, uint16 reputation, bool hasAll, bytes32 missing);

    // ------------------------------------------------------------------ parameters

    /// @notice Seconds between `requestUnstake` and `withdrawUnstaked`.
    function unbondingPeriod() external view returns (uint64);

    /// @notice Owner only. At most 365 days.
    function setUnbondingPeriod(uint64 period) external;

    /// @notice The Market allowed to record deliveries and slash.
    function market() external view returns (address);

    /// @notice Owner only.
    function setMarket(address market_) external;
}
