// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IMarket, Resources, RequirementSpec} from "./interfaces/IMarket.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";

/// @title TOM3 Market
/// @notice Escrow accounts, deployments, orders, bids, charters and operators (see IMarket and docs/PROTOCOL.md).
/// @dev Layout and gas: an order and its charter share an id, so a charter only adds two slots to its order's
/// storage. The bid book keeps the best bid (lowest price, earliest on a tie) in the order as bids arrive, which
/// makes `matchOrder` constant-gas. Balances are an internal ledger (`_accounts`) with one helper per movement
/// (lock, unlock, pay, seize); tokens enter only in `deposit` and leave only in `withdraw`.
contract Market is IMarket, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    // ------------------------------------------------------------------ storage types

    struct Account {
        uint128 available;
        uint128 locked;
    }

    struct DeploymentData {
        address owner;
        uint48 createdAt;
        uint48 closedAt;
        bytes32 version;
    }

    /// @dev Four slots plus the attribute array, laid out for the hot paths: placeBid reads slots 0-3 and writes
    /// only slot 2, matchOrder reads slots 0-2, settling a charter reads slots 0 and 2. Resources is spelled out
    /// field by field because a struct member always takes a slot of its own.
    struct OrderData {
        // slot 0: read by every call on the order
        address tenant;
        uint64 deploymentId;
        OrderState state;
        uint16 minReputation;
        uint8 attributeCount; // attributes.length (at most 32): bids on orders without attributes skip that slot
        // slot 1: the limit and the bidding window
        uint128 maxPricePerSecond;
        uint64 closesAt;
        uint64 createdAt;
        // slot 2: the price and term of the charter-to-be. Written by every improving bid, so it sits next to a
        // field that is never zero (duration).
        uint64 bestBidId;
        uint64 duration;
        uint128 bestPrice;
        // slot 3: what else a bid is checked against
        uint32 cpuMillis;
        uint32 memoryMiB;
        uint32 storageMiB;
        uint32 bandwidthMbps;
        uint128 bidBond;
        // slot 4..
        bytes32[] attributes;
    }

    struct CharterData {
        // slot 0
        address provider;
        uint64 acknowledgedAt;
        uint16 feeBps;
        CharterState state;
        CloseReason closeReason;
        // slot 1
        uint64 acknowledgeBy;
        uint64 endsAt;
        uint128 claimed;
    }

    struct BidData {
        address provider;
        uint64 orderId;
        bool released;
    }

    struct Counters {
        uint64 deployments;
        uint64 orders;
        uint64 bids;
    }

    struct Parameters {
        uint128 bidBond;
        uint64 startTimeout;
        uint16 slashBps;
        uint16 protocolFeeBps;
    }

    uint256 private constant _BPS = 10_000;
    uint16 private constant _MAX_FEE_BPS = 1_000;
    uint64 private constant _MIN_START_TIMEOUT = 60;
    uint64 private constant _MAX_START_TIMEOUT = 7 days;
    uint64 private constant _MAX_DURATION = 10 * 365 days;
    uint64 private constant _MAX_BIDDING_WINDOW = 30 days;
    uint256 private constant _MAX_ATTRIBUTES = 32;
    uint16 private constant _MAX_REPUTATION = 10_000;

    IERC20 private immutable _token;
    IProviderRegistry private immutable _registry;

    Parameters private _params;
    address private _treasury;
    Counters private _counters;

    mapping(address account => Account) private _accounts;
    mapping(uint256 deploymentId => DeploymentData) private _deployments;
    mapping(uint256 orderId => OrderData) private _orders;
    mapping(uint256 charterId => CharterData) private _charters;
    /// @dev Seconds added by `extendCharter`; the charter's paid duration is the order's plus these.
    mapping(uint256 charterId => uint64) private _extensions;
    mapping(uint256 bidId => BidData) private _bids;
    /// @dev (bidId << 128 | price) of a provider's bid on an order: the one-bid-per-provider check and the price.
    mapping(uint256 orderId => mapping(address provider => uint256 bidIdAndPrice)) private _bidOf;
    mapping(address owner => mapping(address operator => OperatorApproval)) private _operators;

    constructor(IERC20 token_, IProviderRegistry registry_, address initialOwner, address treasury_)
        Ownable(initialOwner)
    {
        if (treasury_ == address(0)) revert MarketInvalidParameter("treasury", 0);
        _token = token_;
        _registry = registry_;
        _treasury = treasury_;
        _params = Parameters({bidBond: 0, startTimeout: 600, slashBps: 500, protocolFeeBps: 0});
    }

    // ================================================================== accounts

    /// @inheritdoc IMarket
    function deposit(uint256 amount) external nonReentrant {
        _deposit(amount);
    }

    /// @inheritdoc IMarket
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        // A permit can be front-run (its signature is public once in the mempool); if it was, the allowance is
        // already there and the deposit must still go through.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(amount);
    }

    /// @inheritdoc IMarket
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert MarketZeroAmount();
        Account storage account = _accounts[msg.sender];
        if (account.available < amount) revert MarketInsufficientBalance(msg.sender, account.available, amount);
        // Checked above: available >= amount.
        unchecked {
            account.available -= uint128(amount);
        }
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IMarket
    function balanceOf(address account) external view returns (uint256 available, uint256 locked) {
        Account storage a = _accounts[account];
        return (a.available, a.locked);
    }

    // ================================================================== deployments

    /// @inheritdoc IMarket
    function createDeployment(bytes32 version) external returns (uint256 deploymentId) {
        if (version == bytes32(0)) revert MarketZeroVersion();
        deploymentId = ++_counters.deployments;
        _deployments[deploymentId] =
            DeploymentData({owner: msg.sender, createdAt: uint48(block.timestamp), closedAt: 0, version: version});
        emit DeploymentCreated(deploymentId, msg.sender, version);
    }

    /// @inheritdoc IMarket
    function updateDeployment(uint256 deploymentId, bytes32 version) external {
        DeploymentData storage d = _openDeployment(deploymentId);
        _authorizeOwnerOrOperator(d.owner);
        if (version == bytes32(0)) revert MarketZeroVersion();
        if (version == d.version) revert MarketSameVersion(version);
        d.version = version;
        emit DeploymentUpdated(deploymentId, version);
    }

    /// @inheritdoc IMarket
    function closeDeployment(uint256 deploymentId) external {
        DeploymentData storage d = _openDeployment(deploymentId);
        if (msg.sender != d.owner) revert MarketUnauthorized(msg.sender);
        d.closedAt = uint48(block.timestamp);
        emit DeploymentClosed(deploymentId);
    }

    /// @inheritdoc IMarket
    function deployment(uint256 deploymentId) external view returns (Deployment memory) {
        DeploymentData storage d = _deployments[deploymentId];
        return Deployment({owner: d.owner, createdAt: d.createdAt, closedAt: d.closedAt, version: d.version});
    }

    // ================================================================== orders

    /// @inheritdoc IMarket
    function createOrder(uint256 deploymentId, RequirementSpec calldata spec) external returns (uint256 orderId) {
        DeploymentData storage d = _openDeployment(deploymentId);
        address tenant = d.owner;
        bool viaOperator = _authorizeOwnerOrOperator(tenant);
        _validateSpec(spec);

        // maxPricePerSecond < 2^128 and duration < 2^64: the product fits in 256 bits; _lock bounds it to 128.
        _lock(tenant, uint256(spec.maxPricePerSecond) * spec.duration, viaOperator);

        orderId = ++_counters.orders;
        uint64 closesAt = uint64(block.timestamp) + spec.biddingWindow;
        OrderData storage o = _orders[orderId];
        o.tenant = tenant;
        o.deploymentId = uint64(deploymentId);
        o.state = OrderState.Open;
        o.minReputation = spec.minReputation;
        o.cpuMillis = spec.resources.cpuMillis;
        o.memoryMiB = spec.resources.memoryMiB;
        o.storageMiB = spec.resources.storageMiB;
        o.bandwidthMbps = spec.resources.bandwidthMbps;
        o.maxPricePerSecond = spec.maxPricePerSecond;
        o.closesAt = closesAt;
        o.duration = spec.duration;
        o.createdAt = uint64(block.timestamp);
        o.bidBond = _params.bidBond;
        if (spec.attributes.length != 0) {
            // At most _MAX_ATTRIBUTES (32), checked by _validateSpec: fits in uint8.
            o.attributeCount = uint8(spec.attributes.length);
            o.attributes = spec.attributes;
        }
        emit OrderCreated(orderId, deploymentId, tenant, spec, closesAt);
    }

    /// @inheritdoc IMarket
    function cancelOrder(uint256 orderId) external {
        OrderData storage o = _existingOrder(orderId);
        if (o.state != OrderState.Open) revert MarketOrderNotOpen(orderId, o.state);
        // Orders of a closed deployment are dead: anyone may release their escrow.
        if (_deployments[o.deploymentId].closedAt == 0) _authorizeOwnerOrOperator(o.tenant);
        o.state = OrderState.Cancelled;
        _unlock(o.tenant, uint256(o.maxPricePerSecond) * o.duration);
        emit OrderCancelled(orderId);
    }

    /// @inheritdoc IMarket
    function order(uint256 orderId) external view returns (Order memory) {
        OrderData storage o = _orders[orderId];
        return Order({
            tenant: o.tenant,
            deploymentId: o.deploymentId,
            state: o.state,
            resources: _resourcesOf(o),
            maxPricePerSecond: o.maxPricePerSecond,
            duration: o.duration,
            createdAt: o.createdAt,
            closesAt: o.closesAt,
            minReputation: o.minReputation,
            bidBond: o.bidBond,
            bestBidId: o.bestBidId,
            bestPrice: o.bestPrice,
            attributes: o.attributes
        });
    }

    // ================================================================== bids

    /// @inheritdoc IMarket
    function placeBid(uint256 orderId, uint128 pricePerSecond, Resources calldata offered)
        external
        returns (uint256 bidId)
    {
        bytes memory reason = _checkBid(orderId, msg.sender, pricePerSecond, offered);
        if (reason.length != 0) {
            // Re-raise the custom error that explains the refusal, exactly as checkBid reports it.
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
        OrderData storage o = _orders[orderId];

        bidId = ++_counters.bids;
        _bids[bidId] = BidData({provider: msg.sender, orderId: uint64(orderId), released: false});
        _bidOf[orderId][msg.sender] = (bidId << 128) | pricePerSecond;
        // Strictly lower only: on equal prices the earlier bid stays best.
        if (o.bestBidId == 0 || pricePerSecond < o.bestPrice) {
            o.bestBidId = uint64(bidId);
            o.bestPrice = pricePerSecond;
        }
        uint128 bond = o.bidBond;
        if (bond != 0) _lock(msg.sender, bond, false);
        emit BidPlaced(orderId, bidId, msg.sender, pricePerSecond);
    }

    /// @inheritdoc IMarket
    function checkBid(uint256 orderId, address provider, uint128 pricePerSecond, Resources calldata offered)
        external
        view
        returns (bool qualifies, bytes memory reason)
    {
        reason = _checkBid(orderId, provider, pricePerSecond, offered);
        qualifies = reason.length == 0;
    }

    /// @inheritdoc IMarket
    function matchOrder(uint256 orderId) external returns (uint256 charterId) {
        OrderData storage o = _existingOrder(orderId);
        if (o.state != OrderState.Open) revert MarketOrderNotOpen(orderId, o.state);
        uint256 deploymentId = o.deploymentId;
        if (_deployments[deploymentId].closedAt != 0) revert MarketDeploymentClosed(deploymentId);
        address tenant = o.tenant;
        if (block.timestamp < o.closesAt) {
            if (msg.sender != tenant && !isOperator(tenant, msg.sender)) revert MarketBiddingOpen(orderId, o.closesAt);
        }
        uint256 bidId = o.bestBidId;
        if (bidId == 0) revert MarketNoBids(orderId);

        uint128 price = o.bestPrice;
        uint128 maxPrice = o.maxPricePerSecond;
        uint64 duration = o.duration;
        address provider = _bids[bidId].provider;
        Parameters memory p = _params;

        o.state = OrderState.Matched;
        charterId = orderId;
        _charters[charterId] = CharterData({
            provider: provider,
            acknowledgedAt: 0,
            feeBps: p.protocolFeeBps,
            state: CharterState.Pending,
            closeReason: CloseReason.None,
            acknowledgeBy: uint64(block.timestamp) + p.startTimeout,
            endsAt: 0,
            claimed: 0
        });
        // price <= maxPrice is guaranteed by placeBid, so the difference cannot underflow.
        unchecked {
            _unlock(tenant, uint256(maxPrice - price) * duration);
        }
        emit OrderMatched(orderId, bidId, charterId);
        emit CharterCreated(charterId, tenant, provider, deploymentId, price, duration);
    }

    /// @inheritdoc IMarket
    function bestBid(uint256 orderId) external view returns (uint256 bidId) {
        return _orders[orderId].bestBidId;
    }

    /// @inheritdoc IMarket
    function bid(uint256 bidId) external view returns (Bid memory) {
        BidData storage b = _bids[bidId];
        return Bid({
            orderId: b.orderId,
            provider: b.provider,
            pricePerSecond: uint128(_bidOf[b.orderId][b.provider]),
            released: b.released
        });
    }

    /// @inheritdoc IMarket
    function releaseBid(uint256 bidId) external {
        BidData storage b = _bids[bidId];
        if (b.provider == address(0)) revert MarketUnknownBid(bidId);
        if (b.released) revert MarketBondAlreadyReleased(bidId);
        OrderData storage o = _orders[b.orderId];
        if (o.state == OrderState.Matched && o.bestBidId == bidId) revert MarketWinningBid(bidId);
        if (o.state == OrderState.Open && _deployments[o.deploymentId].closedAt == 0) {
            revert MarketBidStillBinding(bidId, b.orderId);
        }
        b.released = true;
        uint128 bond = o.bidBond;
        if (bond != 0) _unlock(b.provider, bond);
        emit BidReleased(bidId, b.provider, bond);
    }

    // ================================================================== charters

    /// @inheritdoc IMarket
    function acknowledge(uint256 charterId) external {
        CharterData storage c = _existingCharter(charterId);
        if (msg.sender != c.provider) revert MarketUnauthorized(msg.sender);
        if (c.state != CharterState.Pending) revert MarketCharterNotPending(charterId, c.state);
        if (block.timestamp > c.acknowledgeBy) revert MarketAcknowledgeTooLate(charterId, c.acknowledgeBy);
        OrderData storage o = _orders[charterId];
        if (_deployments[o.deploymentId].closedAt != 0) revert MarketDeploymentClosed(o.deploymentId);

        uint64 endsAt = uint64(block.timestamp) + o.duration;
        c.acknowledgedAt = uint64(block.timestamp);
        c.endsAt = endsAt;
        c.state = CharterState.Active;
        uint128 bond = o.bidBond;
        if (bond != 0) _unlock(c.provider, bond);
        emit CharterAcknowledged(charterId, endsAt);
    }

    /// @inheritdoc IMarket
    function claim(uint256 charterId) external {
        CharterData storage c = _existingCharter(charterId);
        if (c.state != CharterState.Active) revert MarketCharterNotActive(charterId, c.state);
        uint256 amount = _accrued(charterId, c) - c.claimed;
        if (amount == 0) revert MarketNothingToClaim(charterId);
        _payProvider(charterId, c, amount);
    }

    /// @inheritdoc IMarket
    function closeCharter(uint256 charterId) external nonReentrant {
        CharterData storage c = _existingCharter(charterId);
        CharterState state = c.state;
        if (state == CharterState.Closed) revert MarketCharterClosed(charterId);
        OrderData storage o = _orders[charterId];
        address tenant = o.tenant;
        uint256 closedAt = _deployments[o.deploymentId].closedAt;
        bool deploymentClosed = closedAt != 0;
        bool byTenant = msg.sender == tenant || isOperator(tenant, msg.sender);
        bool byProvider = msg.sender == c.provider;

        if (state == CharterState.Pending) {
            if (byProvider && !deploymentClosed) {
                _closeUndelivered(charterId, c, o);
            } else if (byTenant || deploymentClosed) {
                CloseReason reason = deploymentClosed ? CloseReason.DeploymentClosed : CloseReason.ClosedByTenant;
                _closeUnstarted(charterId, c, o, reason);
            } else {
                revert MarketUnauthorized(msg.sender);
            }
            return;
        }

        // A deployment closed before the charter's end stopped it there, even if the end has passed since: the
        // charter did not run to its end, and a lazy close must read like an eager one.
        CloseReason reason;
        if (deploymentClosed && closedAt < c.endsAt) reason = CloseReason.DeploymentClosed;
        else if (block.timestamp >= c.endsAt) reason = CloseReason.Expired;
        else if (byTenant) reason = CloseReason.ClosedByTenant;
        else if (byProvider) reason = CloseReason.ClosedByProvider;
        else revert MarketUnauthorized(msg.sender);
        _closeActive(charterId, c, o, reason);
    }

    /// @inheritdoc IMarket
    function cancelUndelivered(uint256 charterId) external nonReentrant {
        CharterData storage c = _existingCharter(charterId);
        OrderData storage o = _orders[charterId];
        _authorizeOwnerOrOperator(o.tenant);
        if (c.state != CharterState.Pending) revert MarketCharterNotPending(charterId, c.state);
        if (block.timestamp <= c.acknowledgeBy) revert MarketStartTimeoutNotOver(charterId, c.acknowledgeBy);
        // A closed deployment cannot be acknowledged, so the provider is not at fault: closeCharter unwinds the
        // charter without a slash (as it would have been closed eagerly when the deployment closed).
        if (_deployments[o.deploymentId].closedAt != 0) revert MarketDeploymentClosed(o.deploymentId);
        _closeUndelivered(charterId, c, o);
    }

    /// @inheritdoc IMarket
    function extendCharter(uint256 charterId, uint64 extraSeconds) external {
        CharterData storage c = _existingCharter(charterId);
        OrderData storage o = _orders[charterId];
        bool viaOperator = _authorizeOwnerOrOperator(o.tenant);
        if (c.state != CharterState.Active) revert MarketCharterNotActive(charterId, c.state);
        if (block.timestamp >= c.endsAt) revert MarketCharterEnded(charterId, c.endsAt);
        if (_deployments[o.deploymentId].closedAt != 0) revert MarketDeploymentClosed(o.deploymentId);
        if (extraSeconds == 0) revert MarketZeroAmount();
        // In 256 bits, so that a huge extraSeconds is refused with the error below rather than a uint64 overflow.
        uint256 newEnd = uint256(c.endsAt) + extraSeconds;
        if (newEnd - c.acknowledgedAt > _MAX_DURATION) revert MarketInvalidParameter("extraSeconds", extraSeconds);
        uint64 endsAt = uint64(newEnd);

        _lock(o.tenant, uint256(o.bestPrice) * extraSeconds, viaOperator);
        c.endsAt = endsAt;
        _extensions[charterId] += extraSeconds;
        emit CharterExtended(charterId, endsAt);
    }

    /// @inheritdoc IMarket
    function accrued(uint256 charterId) external view returns (uint256) {
        return _accrued(charterId, _charters[charterId]);
    }

    /// @inheritdoc IMarket
    function claimable(uint256 charterId) external view returns (uint256) {
        CharterData storage c = _charters[charterId];
        return _accrued(charterId, c) - c.claimed;
    }

    /// @inheritdoc IMarket
    function charter(uint256 charterId) external view returns (Charter memory) {
        CharterData storage c = _charters[charterId];
        if (c.state == CharterState.None) return _emptyCharter();
        OrderData storage o = _orders[charterId];
        return Charter({
            tenant: o.tenant,
            provider: c.provider,
            deploymentId: o.deploymentId,
            orderId: charterId,
            bidId: o.bestBidId,
            pricePerSecond: o.bestPrice,
            duration: o.duration + _extensions[charterId],
            acknowledgeBy: c.acknowledgeBy,
            acknowledgedAt: c.acknowledgedAt,
            endsAt: c.endsAt,
            claimed: c.claimed,
            feeBps: c.feeBps,
            state: c.state,
            closeReason: c.closeReason
        });
    }

    // ================================================================== operators

    /// @inheritdoc IMarket
    function approveOperator(address operator, uint256 allowance, uint64 expiry) external {
        if (operator == address(0) || operator == msg.sender) revert MarketInvalidOperator(operator);
        if (allowance > type(uint128).max) revert MarketAmountTooLarge(allowance, type(uint128).max);
        _operators[msg.sender][operator] = OperatorApproval({
            allowance: uint128(allowance),
            expiry: expiry,
            active: allowance != 0 && expiry > block.timestamp
        });
        emit OperatorApproved(msg.sender, operator, allowance, expiry);
    }

    /// @inheritdoc IMarket
    function operatorApproval(address owner_, address operator) external view returns (OperatorApproval memory) {
        return _operators[owner_][operator];
    }

    /// @inheritdoc IMarket
    function isOperator(address owner_, address operator) public view returns (bool) {
        OperatorApproval storage a = _operators[owner_][operator];
        return a.active && block.timestamp < a.expiry;
    }

    // ================================================================== counters and parameters

    /// @inheritdoc IMarket
    function deploymentCount() external view returns (uint256) {
        return _counters.deployments;
    }

    /// @inheritdoc IMarket
    function orderCount() external view returns (uint256) {
        return _counters.orders;
    }

    /// @inheritdoc IMarket
    function bidCount() external view returns (uint256) {
        return _counters.bids;
    }

    /// @inheritdoc IMarket
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IMarket
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IMarket
    function bidBond() external view returns (uint256) {
        return _params.bidBond;
    }

    /// @inheritdoc IMarket
    function startTimeout() external view returns (uint64) {
        return _params.startTimeout;
    }

    /// @inheritdoc IMarket
    function slashBps() external view returns (uint16) {
        return _params.slashBps;
    }

    /// @inheritdoc IMarket
    function protocolFeeBps() external view returns (uint16) {
        return _params.protocolFeeBps;
    }

    /// @inheritdoc IMarket
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IMarket
    function setBidBond(uint256 bond) external onlyOwner {
        if (bond > type(uint128).max) revert MarketInvalidParameter("bidBond", bond);
        _params.bidBond = uint128(bond);
        emit BidBondChanged(bond);
    }

    /// @inheritdoc IMarket
    function setStartTimeout(uint64 timeout) external onlyOwner {
        if (timeout < _MIN_START_TIMEOUT || timeout > _MAX_START_TIMEOUT) {
            revert MarketInvalidParameter("startTimeout", timeout);
        }
        _params.startTimeout = timeout;
        emit StartTimeoutChanged(timeout);
    }

    /// @inheritdoc IMarket
    function setSlashBps(uint16 bps) external onlyOwner {
        if (bps > _BPS) revert MarketInvalidParameter("slashBps", bps);
        _params.slashBps = bps;
        emit SlashBpsChanged(bps);
    }

    /// @inheritdoc IMarket
    function setProtocolFee(uint16 bps, address treasury_) external onlyOwner {
        if (bps > _MAX_FEE_BPS) revert MarketInvalidParameter("protocolFeeBps", bps);
        if (treasury_ == address(0)) revert MarketInvalidParameter("treasury", 0);
        _params.protocolFeeBps = bps;
        _treasury = treasury_;
        emit ProtocolFeeChanged(bps, treasury_);
    }

    // ================================================================== internal: rules

    /// @dev The qualification rule of PROTOCOL.md, shared by placeBid and checkBid. Returns the ABI-encoded
    /// custom error for the first failed condition, or empty bytes when the bid qualifies.
    function _checkBid(uint256 orderId, address provider, uint128 price, Resources calldata offered)
        private
        view
        returns (bytes memory)
    {
        OrderData storage o = _orders[orderId];
        OrderState state = o.state;
        if (state == OrderState.None) return abi.encodeWithSelector(MarketUnknownOrder.selector, orderId);
        if (state != OrderState.Open) return abi.encodeWithSelector(MarketOrderNotOpen.selector, orderId, state);
        uint256 deploymentId = o.deploymentId;
        if (_deployments[deploymentId].closedAt != 0) {
            return abi.encodeWithSelector(MarketDeploymentClosed.selector, deploymentId);
        }
        if (block.timestamp >= o.closesAt) {
            return abi.encodeWithSelector(MarketBiddingClosed.selector, orderId, o.closesAt);
        }
        if (provider == o.tenant) return abi.encodeWithSelector(MarketTenantCannotBid.selector, provider);
        if (price == 0) return abi.encodeWithSelector(MarketZeroPrice.selector);
        if (price > o.maxPricePerSecond) {
            return abi.encodeWithSelector(MarketPriceAboveLimit.selector, price, o.maxPricePerSecond);
        }
        bytes memory shortfall = _resourceShortfall(offered, _resourcesOf(o));
        if (shortfall.length != 0) return shortfall;

        (bool registered, uint16 reputation, bool hasAll, bytes32 missing) =
            _registry.bidderStatus(provider, o.attributeCount == 0 ? new bytes32[](0) : o.attributes);
        if (!registered) return abi.encodeWithSelector(MarketNotProvider.selector, provider);
        if (reputation < o.minReputation) {
            return abi.encodeWithSelector(MarketReputationTooLow.selector, reputation, o.minReputation);
        }
        if (!hasAll) return abi.encodeWithSelector(MarketMissingAttribute.selector, missing);

        uint256 existing = _bidOf[orderId][provider];
        if (existing != 0) {
            return abi.encodeWithSelector(MarketDuplicateBid.selector, orderId, provider, existing >> 128);
        }
        uint128 bond = o.bidBond;
        if (bond != 0) {
            uint128 available = _accounts[provider].available;
            if (bond > available) {
                return abi.encodeWithSelector(MarketInsufficientBalance.selector, provider, available, bond);
            }
        }
        return "";
    }

    /// @dev Resource index in MarketResourcesBelowRequest: 0 cpu, 1 memory, 2 storage, 3 bandwidth.
    function _resourceShortfall(Resources calldata offered, Resources memory r) private pure returns (bytes memory) {
        if (offered.cpuMillis < r.cpuMillis) return _shortfall(0, offered.cpuMillis, r.cpuMillis);
        if (offered.memoryMiB < r.memoryMiB) return _shortfall(1, offered.memoryMiB, r.memoryMiB);
        if (offered.storageMiB < r.storageMiB) return _shortfall(2, offered.storageMiB, r.storageMiB);
        if (offered.bandwidthMbps < r.bandwidthMbps) return _shortfall(3, offered.bandwidthMbps, r.bandwidthMbps);
        return "";
    }

    function _resourcesOf(OrderData storage o) private view returns (Resources memory) {
        return Resources({
            cpuMillis: o.cpuMillis,
            memoryMiB: o.memoryMiB,
            storageMiB: o.storageMiB,
            bandwidthMbps: o.bandwidthMbps
        });
    }

    function _shortfall(uint8 resource, uint32 offered, uint32 requested) private pure returns (bytes memory) {
        return abi.encodeWithSelector(MarketResourcesBelowRequest.selector, resource, offered, requested);
    }

    function _validateSpec(RequirementSpec calldata spec) private pure {
        if (spec.resources.cpuMillis == 0) revert MarketInvalidSpec("resources.cpuMillis");
        if (spec.resources.memoryMiB == 0) revert MarketInvalidSpec("resources.memoryMiB");
        if (spec.maxPricePerSecond == 0) revert MarketInvalidSpec("maxPricePerSecond");
        if (spec.duration == 0 || spec.duration > _MAX_DURATION) revert MarketInvalidSpec("duration");
        if (spec.biddingWindow == 0 || spec.biddingWindow > _MAX_BIDDING_WINDOW) {
            revert MarketInvalidSpec("biddingWindow");
        }
        if (spec.minReputation > _MAX_REPUTATION) revert MarketInvalidSpec("minReputation");
        if (spec.attributes.length > _MAX_ATTRIBUTES) revert MarketInvalidSpec("attributes");
    }

    /// @dev Gross payment earned by a charter: price x seconds between acknowledgement and the earliest of now,
    /// its end and its deployment's close.
    function _accrued(uint256 charterId, CharterData storage c) private view returns (uint256) {
        uint64 start = c.acknowledgedAt;
        if (start == 0) return 0;
        uint256 end = c.endsAt;
        if (block.timestamp < end) end = block.timestamp;
        uint256 closedAt = _deployments[_orders[charterId].deploymentId].closedAt;
        if (closedAt != 0 && closedAt < end) end = closedAt;
        if (end <= start) return 0;
        return uint256(_orders[charterId].bestPrice) * (end - start);
    }

    // ================================================================== internal: charter settlement

    /// @dev Close an acknowledged charter: pay what accrued and was not claimed, refund the rest, record the
    /// outcome in the provider's reputation.
    function _closeActive(uint256 charterId, CharterData storage c, OrderData storage o, CloseReason reason) private {
        uint256 earned = _accrued(charterId, c);
        uint256 total = uint256(o.bestPrice) * (o.duration + _extensions[charterId]);
        uint256 unpaid = earned - c.claimed;
        // Freeze accrual where it stopped, so accrued() stays equal to what was paid.
        uint256 stoppedAt = c.acknowledgedAt + earned / o.bestPrice;
        c.endsAt = uint64(stoppedAt);
        c.state = CharterState.Closed;
        c.closeReason = reason;

        uint256 paid = unpaid == 0 ? 0 : _payProvider(charterId, c, unpaid);
        uint256 refund = total - earned;
        _unlock(o.tenant, refund);
        emit CharterClosed(charterId, reason, paid, refund);
        _registry.recordDelivery(c.provider, reason != CloseReason.ClosedByProvider);
    }

    /// @dev Close a charter that never started through no fault of the provider: full refund, bond back.
    function _closeUnstarted(uint256 charterId, CharterData storage c, OrderData storage o, CloseReason reason)
        private
    {
        c.state = CharterState.Closed;
        c.closeReason = reason;
        uint256 refund = uint256(o.bestPrice) * o.duration;
        _unlock(o.tenant, refund);
        uint128 bond = o.bidBond;
        if (bond != 0) _unlock(c.provider, bond);
        emit CharterClosed(charterId, reason, 0, refund);
    }

    /// @dev Non-delivery: full refund, the bond goes to the tenant, the provider is slashed and a failure is
    /// recorded.
    function _closeUndelivered(uint256 charterId, CharterData storage c, OrderData storage o) private {
        address provider = c.provider;
        address tenant = o.tenant;
        c.state = CharterState.Closed;
        c.closeReason = CloseReason.Undelivered;
        uint256 refund = uint256(o.bestPrice) * o.duration;
        _unlock(tenant, refund);
        uint128 bond = o.bidBond;
        if (bond != 0) {
            _seize(provider, tenant, bond);
            emit BondSeized(charterId, provider, tenant, bond);
        }
        emit CharterClosed(charterId, CloseReason.Undelivered, 0, refund);

        uint256 slashAmount = (_registry.slashableStakeOf(provider) * _params.slashBps) / _BPS;
        if (slashAmount != 0) _registry.slash(provider, slashAmount);
        _registry.recordDelivery(provider, false);
    }

    /// @dev Move `gross` from the tenant's locked balance: the fee to the treasury, the rest to the provider.
    function _payProvider(uint256 charterId, CharterData storage c, uint256 gross) private returns (uint256 net) {
        uint256 fee = (gross * c.feeBps) / _BPS;
        net = gross - fee;
        // claimed + gross <= accrued <= the amount locked for this charter, which fits in 128 bits.
        c.claimed += uint128(gross);
        address tenant = _orders[charterId].tenant;
        _accounts[tenant].locked -= uint128(gross);
        _accounts[c.provider].available += uint128(net);
        if (fee != 0) _accounts[_treasury].available += uint128(fee);
        emit PaymentClaimed(charterId, c.provider, net, fee);
    }

    // ================================================================== internal: ledger

    function _deposit(uint256 amount) private {
        if (amount == 0) revert MarketZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 newAvailable = uint256(account.available) + amount;
        if (newAvailable + account.locked > type(uint128).max) {
            revert MarketAmountTooLarge(amount, type(uint128).max - account.available - account.locked);
        }
        account.available = uint128(newAvailable);
        emit Deposited(msg.sender, amount);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev available -> locked, spending the operator's allowance when an operator acts.
    function _lock(address account, uint256 amount, bool viaOperator) private {
        if (viaOperator) {
            OperatorApproval storage a = _operators[account][msg.sender];
            if (a.allowance < amount) {
                revert MarketOperatorAllowanceExceeded(account, msg.sender, a.allowance, amount);
            }
            // Checked above: allowance >= amount.
            unchecked {
                a.allowance -= uint128(amount);
            }
        }
        Account storage acc = _accounts[account];
        if (acc.available < amount) revert MarketInsufficientBalance(account, acc.available, amount);
        // Checked above: amount <= available < 2^128, and available + locked < 2^128 always (see _deposit).
        unchecked {
            acc.available -= uint128(amount);
            acc.locked += uint128(amount);
        }
    }

    /// @dev locked -> available of the same account.
    function _unlock(address account, uint256 amount) private {
        Account storage acc = _accounts[account];
        uint128 a = amount.toUint128();
        acc.locked -= a;
        acc.available += a;
    }

    /// @dev locked of `from` -> available of `to`.
    function _seize(address from, address to, uint128 amount) private {
        _accounts[from].locked -= amount;
        _accounts[to].available += amount;
    }

    // ================================================================== internal: lookups and access

    function _openDeployment(uint256 deploymentId) private view returns (DeploymentData storage d) {
        d = _deployments[deploymentId];
        if (d.owner == address(0)) revert MarketUnknownDeployment(deploymentId);
        if (d.closedAt != 0) revert MarketDeploymentClosed(deploymentId);
    }

    function _existingOrder(uint256 orderId) private view returns (OrderData storage o) {
        o = _orders[orderId];
        if (o.state == OrderState.None) revert MarketUnknownOrder(orderId);
    }

    function _existingCharter(uint256 charterId) private view returns (CharterData storage c) {
        c = _charters[charterId];
        if (c.state == CharterState.None) revert MarketUnknownCharter(charterId);
    }

    /// @dev Reverts unless the caller is `owner_` or its operator now; returns whether an operator acts.
    function _authorizeOwnerOrOperator(address owner_) private view returns (bool viaOperator) {
        if (msg.sender == owner_) return false;
        if (!isOperator(owner_, msg.sender)) revert MarketUnauthorized(msg.sender);
        return true;
    }

    function _emptyCharter() private pure returns (Charter memory empty) {}
}
