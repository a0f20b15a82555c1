// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";

/// @dev The one thing the registry asks of the Market: where slashed stake goes. Kept minimal so the registry does
/// not depend on the whole Market interface.
interface IMarketTreasury {
    function treasury() external view returns (address);
}

/// @title Provider registry: directory, staking, reputation and stake-weighted votes
/// @notice See {IProviderRegistry}. Active stake is the voting unit of OpenZeppelin {Votes} (ERC-5805, block-number
/// clock), so a Governor reads provider stake as voting power; unbonding stake no longer votes but can still be
/// slashed. Reputation formula: docs/reputation.md.
/// @dev Storage layout, chosen for `bidderStatus` (called by `Market.placeBid` on every bid):
/// - one slot per provider with everything reputation and registration need (`Provider`);
/// - attributes as `attribute => epoch` with a per-provider epoch bumped on every register/update: an attribute is
///   held iff its epoch is the provider's current one, so replacing attributes never deletes old entries and a
///   lookup is one SLOAD per requested attribute.
contract ProviderRegistry is IProviderRegistry, Ownable2Step, Votes, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @dev Hot per-provider data, packed in one slot (200 bits).
    struct Provider {
        uint96 stake; // active stake: votes, counts for reputation and totalStaked
        uint32 completed; // charters completed (recorded by the Market)
        uint32 failed; // charters failed (recorded by the Market)
        uint32 directoryEpoch; // 0: never registered; bumped by every register/update
        bool delegationInitialized; // set on the first stake, when a provider without delegate votes for itself
    }

    /// @dev Stake on its way out, one slot. Each requestUnstake adds less than 2^96, so 2^192 is out of reach.
    struct Unbonding {
        uint192 amount;
        uint64 releaseAt;
    }

    uint256 private constant BPS = 10_000;
    uint256 private constant MAX_ENDPOINT_LENGTH = 512;
    uint256 private constant MAX_ATTRIBUTES = 32;
    uint64 private constant MAX_UNBONDING_PERIOD = 365 days;

    IERC20 private immutable _token;

    mapping(address provider => Provider) private _providers;
    mapping(address provider => Unbonding) private _unbonding;
    mapping(address provider => string) private _endpoints;
    mapping(address provider => bytes32[]) private _attributeLists;
    mapping(address provider => mapping(bytes32 attribute => uint32 epoch)) private _attributeEpochs;

    uint256 private _totalStaked;
    address private _market;
    uint64 private _unbondingPeriod;

    /// @param stakingToken The TOM3 token.
    /// @param initialOwner Owner of the parameters (a TimelockController on a governed deployment).
    /// @param unbondingPeriod_ Initial unbonding period in seconds (at most 365 days).
    constructor(IERC20 stakingToken, address initialOwner, uint64 unbondingPeriod_)
        Ownable(initialOwner)
        EIP712("TOM3 ProviderRegistry", "1")
    {
        _token = stakingToken;
        _setUnbondingPeriod(unbondingPeriod_);
    }

    // ------------------------------------------------------------------ directory

    /// @inheritdoc IProviderRegistry
    function register(string calldata endpoint, bytes32[] calldata attributes) external {
        Provider storage p = _providers[msg.sender];
        if (p.directoryEpoch != 0) revert ProviderRegistryAlreadyRegistered(msg.sender);
        _setDirectory(msg.sender, p, endpoint, attributes);
        emit ProviderRegistered(msg.sender, endpoint, attributes);
    }

    /// @inheritdoc IProviderRegistry
    function update(string calldata endpoint, bytes32[] calldata attributes) external {
        Provider storage p = _providers[msg.sender];
        if (p.directoryEpoch == 0) revert ProviderRegistryNotRegistered(msg.sender);
        _setDirectory(msg.sender, p, endpoint, attributes);
        emit ProviderUpdated(msg.sender, endpoint, attributes);
    }

    /// @inheritdoc IProviderRegistry
    function isProvider(address account) external view returns (bool) {
        return _providers[account].directoryEpoch != 0;
    }

    /// @inheritdoc IProviderRegistry
    function endpointOf(address provider) external view returns (string memory) {
        return _endpoints[provider];
    }

    /// @inheritdoc IProviderRegistry
    function attributesOf(address provider) external view returns (bytes32[] memory) {
        return _attributeLists[provider];
    }

    /// @inheritdoc IProviderRegistry
    function hasAttributes(address provider, bytes32[] calldata attributes) external view returns (bool hasAll) {
        (hasAll, ) = _firstMissing(provider, _providers[provider].directoryEpoch, attributes);
    }

    // ------------------------------------------------------------------ staking

    /// @inheritdoc IProviderRegistry
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IProviderRegistry
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        Provider storage p = _providers[msg.sender];
        if (p.directoryEpoch == 0) revert ProviderRegistryNotRegistered(msg.sender);
        uint256 newStake = Math.saturatingAdd(p.stake, amount);
        if (newStake > type(uint96).max) revert ProviderRegistryStakeOverflow(newStake);

        if (!p.delegationInitialized) {
            // Only on the first stake: a provider that later delegates to address(0) on purpose stays undelegated.
            p.delegationInitialized = true;
            // Runs before the stake grows, so _delegate moves the old voting units (zero) and the new ones
            // arrive below through _transferVotingUnits: votes stay equal to the delegated active stake.
            if (delegates(msg.sender) == address(0)) _delegate(msg.sender, msg.sender);
        }
        p.stake = uint96(newStake); // newStake <= type(uint96).max, checked above
        unchecked {
            // _totalStaked equals the Votes total supply, which is below 2^208 (checked in _transferVotingUnits
            // right after, reverting the whole call), and amount is below 2^96.
            _totalStaked += amount;
        }
        _transferVotingUnits(address(0), msg.sender, amount);
        emit Staked(msg.sender, amount, newStake);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IProviderRegistry
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        Provider storage p = _providers[msg.sender];
        uint256 active = p.stake;
        if (amount > active) revert ProviderRegistryInsufficientStake(active, amount);

        Unbonding storage u = _unbonding[msg.sender];
        uint64 releaseAt = uint64(block.timestamp) + _unbondingPeriod;
        uint256 unbonding;
        unchecked {
            // amount <= active, checked above; _totalStaked is the sum of all active stakes, so it holds `active`.
            p.stake = uint96(active - amount);
            _totalStaked -= amount;
            // Each call adds at most 2^96 - 1 (a uint96 stake): passing 2^192 would take 2^96 calls.
            unbonding = u.amount + amount;
        }
        u.amount = uint192(unbonding);
        u.releaseAt = releaseAt;
        _transferVotingUnits(msg.sender, address(0), amount);
        emit UnstakeRequested(msg.sender, amount, unbonding, releaseAt);
    }

    /// @inheritdoc IProviderRegistry
    function withdrawUnstaked() external nonReentrant {
        Unbonding memory u = _unbonding[msg.sender];
        if (u.amount == 0) revert ProviderRegistryNothingUnbonding(msg.sender);
        if (block.timestamp < u.releaseAt) {
            revert ProviderRegistryUnbondingNotOver(u.releaseAt, uint64(block.timestamp));
        }
        delete _unbonding[msg.sender];
        emit UnstakeWithdrawn(msg.sender, u.amount);

        _token.safeTransfer(msg.sender, u.amount);
    }

    /// @inheritdoc IProviderRegistry
    function stakeOf(address provider) external view returns (uint256) {
        return _providers[provider].stake;
    }

    /// @inheritdoc IProviderRegistry
    function unbondingOf(address provider) external view returns (uint256 amount, uint64 releaseAt) {
        Unbonding memory u = _unbonding[provider];
        return (u.amount, u.releaseAt);
    }

    /// @inheritdoc IProviderRegistry
    function slashableStakeOf(address provider) external view returns (uint256) {
        return uint256(_providers[provider].stake) + _unbonding[provider].amount;
    }

    /// @inheritdoc IProviderRegistry
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @inheritdoc IProviderRegistry
    /// @dev Never reverts for lack of stake (the Market slashes providers that may hold none): it takes what there
    /// is and returns it. Nothing taken means no transfer and no event. The treasury is the Market's; while no
    /// Market is set, or the Market names none, it is the owner (governance).
    function slash(address provider, uint256 amount) external nonReentrant returns (uint256 slashed) {
        if (msg.sender != owner() && msg.sender != _market) revert ProviderRegistryUnauthorized(msg.sender);

        Provider storage p = _providers[provider];
        Unbonding storage u = _unbonding[provider];
        uint256 fromActive = Math.min(amount, p.stake);
        uint256 fromUnbonding;
        unchecked {
            // fromActive <= amount
            fromUnbonding = Math.min(amount - fromActive, u.amount);
            // both terms are bounded by stored stake (uint96 + uint192)
            slashed = fromActive + fromUnbonding;
        }
        if (slashed == 0) return 0;

        if (fromActive != 0) {
            unchecked {
                // fromActive <= p.stake <= _totalStaked
                p.stake -= uint96(fromActive);
                _totalStaked -= fromActive;
            }
            _transferVotingUnits(provider, address(0), fromActive);
        }
        if (fromUnbonding != 0) {
            unchecked {
                // fromUnbonding <= u.amount
                u.amount -= uint192(fromUnbonding);
            }
        }
        address treasury = _treasury();
        emit Slashed(provider, slashed, treasury);

        _token.safeTransfer(treasury, slashed);
    }

    // ------------------------------------------------------------------ reputation

    /// @inheritdoc IProviderRegistry
    function recordDelivery(address provider, bool completed) external {
        if (msg.sender != _market) revert ProviderRegistryUnauthorized(msg.sender);
        Provider storage p = _providers[provider];
        // Checked: a counter wrapping would rewrite history; 2^32 charters for one provider is out of reach.
        uint32 completedCount = p.completed;
        uint32 failedCount = p.failed;
        if (completed) {
            p.completed = ++completedCount;
        } else {
            p.failed = ++failedCount;
        }
        emit DeliveryRecorded(provider, completed, completedCount, failedCount);
    }

    /// @inheritdoc IProviderRegistry
    function deliveryOf(address provider) external view returns (uint32 completed, uint32 failed) {
        Provider memory p = _providers[provider];
        return (p.completed, p.failed);
    }

    /// @inheritdoc IProviderRegistry
    function reputationOf(address provider) external view returns (uint16) {
        Provider memory p = _providers[provider];
        return reputationFormula(p.stake, _totalStaked, p.completed, p.failed);
    }

    /// @inheritdoc IProviderRegistry
    function reputationFormula(uint256 activeStake, uint256 total, uint32 completed, uint32 failed)
        public
        pure
        returns (uint16)
    {
        // History: (completed + 5) / (completed + 3 * failed + 10), in bps. 5000 with no history, below 10000
        // always (numerator < denominator), rising with completed charters, falling with failures (weighted x3).
        uint256 history = ((uint256(completed) + 5) * BPS) / (uint256(completed) + 3 * uint256(failed) + 10);
        // Stake: share of total active stake in bps, mapped onto a concave curve: 10% -> 5500, 100% -> 10000.
        uint256 shareBps = total == 0 ? 0 : Math.mulDiv(Math.min(activeStake, total), BPS, total);
        uint256 stakeScore = (shareBps * 11_000) / (shareBps + 1_000);
        // history < 10000 and stakeScore <= 10000, so the result is at most 10000 and fits uint16.
        return uint16((7 * history + 3 * stakeScore) / 10);
    }

    /// @inheritdoc IProviderRegistry
    function bidderStatus(address provider, bytes32[] calldata attributes)
        external
        view
        returns (bool registered, uint16 reputation, bool hasAll, bytes32 missing)
    {
        Provider memory p = _providers[provider];
        registered = p.directoryEpoch != 0;
        reputation = reputationFormula(p.stake, _totalStaked, p.completed, p.failed);
        (hasAll, missing) = _firstMissing(provider, p.directoryEpoch, attributes);
    }

    // ------------------------------------------------------------------ parameters

    /// @inheritdoc IProviderRegistry
    function unbondingPeriod() external view returns (uint64) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IProviderRegistry
    /// @dev Not retroactive: stake already unbonding keeps its release time.
    function setUnbondingPeriod(uint64 period) external onlyOwner {
        _setUnbondingPeriod(period);
    }

    /// @inheritdoc IProviderRegistry
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc IProviderRegistry
    /// @dev address(0) detaches the Market: then only the owner can slash and nobody records deliveries.
    function setMarket(address market_) external onlyOwner {
        _market = market_;
        emit MarketChanged(market_);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Votes counts active stake only: unbonding stake stops voting as soon as it is requested.
    function _getVotingUnits(address account) internal view override returns (uint256) {
        return _providers[account].stake;
    }

    function _setUnbondingPeriod(uint64 period) private {
        if (period > MAX_UNBONDING_PERIOD) revert ProviderRegistryInvalidParameter(period);
        _unbondingPeriod = period;
        emit UnbondingPeriodChanged(period);
    }

    /// @dev Validates and stores endpoint and attributes under a new epoch. Work is O(new attributes): old
    /// attribute entries are left in place and simply stop matching the epoch. The list behind `attributesOf` is
    /// overwritten in place (bounded by MAX_ATTRIBUTES), which costs less than writing fresh slots per epoch.
    function _setDirectory(
        address provider,
        Provider storage p,
        string calldata endpoint,
        bytes32[] calldata attributes
    ) private {
        uint256 endpointLength = bytes(endpoint).length;
        if (endpointLength == 0) revert ProviderRegistryEmptyEndpoint();
        if (endpointLength > MAX_ENDPOINT_LENGTH) {
            revert ProviderRegistryEndpointTooLong(endpointLength, MAX_ENDPOINT_LENGTH);
        }
        uint256 count = attributes.length;
        if (count > MAX_ATTRIBUTES) revert ProviderRegistryTooManyAttributes(count, MAX_ATTRIBUTES);

        // Checked: 2^32 updates by one provider is out of reach; reverting beats wrapping to "unregistered".
        uint32 epoch = p.directoryEpoch + 1;
        p.directoryEpoch = epoch;
        mapping(bytes32 attribute => uint32 epoch) storage epochs = _attributeEpochs[provider];
        for (uint256 i; i < count; ++i) {
            bytes32 attribute = attributes[i];
            if (epochs[attribute] == epoch) revert ProviderRegistryDuplicateAttribute(attribute);
            epochs[attribute] = epoch;
        }
        _endpoints[provider] = endpoint;
        _attributeLists[provider] = attributes;
    }

    /// @dev (true, 0) if the provider holds every attribute, else (false, first missing one). A provider that never
    /// registered (epoch 0) holds none, although its unset entries also read 0.
    function _firstMissing(address provider, uint32 epoch, bytes32[] calldata attributes)
        private
        view
        returns (bool hasAll, bytes32 missing)
    {
        mapping(bytes32 attribute => uint32 epoch) storage epochs = _attributeEpochs[provider];
        uint256 count = attributes.length;
        for (uint256 i; i < count; ++i) {
            bytes32 attribute = attributes[i];
            if (epoch == 0 || epochs[attribute] != epoch) return (false, attribute);
        }
        return (true, bytes32(0));
    }

    /// @dev Where slashed stake goes: the Market's treasury, else the owner.
    function _treasury() private view returns (address treasury) {
        address market_ = _market;
        if (market_ != address(0)) treasury = IMarketTreasury(market_).treasury();
        if (treasury == address(0)) treasury = owner();
    }
}
