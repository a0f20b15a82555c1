// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Resources of an order or a bid, packed in one slot.
struct Resources {
    uint32 cpuMillis;
    uint32 memoryMiB;
    uint32 storageMiB;
    uint32 bandwidthMbps;
}

/// @notice What a tenant asks for in an order.
struct RequirementSpec {
    Resources resources;
    uint128 maxPricePerSecond; // TOM3 wei per second for the whole order
    uint64 duration; // seconds of service once acknowledged
    uint64 biddingWindow; // seconds during which bids are accepted
    uint16 minReputation; // 0..10000
    bytes32[] attributes; // keccak256("key=value") the provider must hold
}

/// @title TOM3 Market: escrow accounts, deployments, orders, bids, charters and operators
/// @notice Tenants escrow TOM3 here, post orders for a deployment, and providers bid; the lowest qualifying bid
/// wins (the earliest among equal prices) and the match creates a charter, paid per second from acknowledgement.
/// Balances are an internal ledger: tokens move in and out only through deposit and withdraw (pull payments).
interface IMarket {
    // ------------------------------------------------------------------ types

    enum OrderState {
        None,
        Open,
        Matched,
        Cancelled
    }

    enum CharterState {
        None,
        Pending, // matched, waiting for the provider's acknowledgement
        Active, // acknowledged: payment accrues until endsAt
        Closed
    }

    enum CloseReason {
        None,
        ClosedByTenant, // the tenant (or its operator) closed it
        ClosedByProvider, // the provider closed it after acknowledgement: a failure
        Expired, // it ran to its end
        Undelivered, // never acknowledged (cancelUndelivered, or the provider gave up before acknowledging)
        DeploymentClosed // its deployment was closed
    }

    struct Deployment {
        address owner;
        uint64 createdAt;
        uint64 closedAt; // 0 while open
        bytes32 version;
    }

    struct Order {
        address tenant;
        uint256 deploymentId;
        OrderState state;
        Resources resources;
        uint128 maxPricePerSecond;
        uint64 duration;
        uint64 createdAt;
        uint64 closesAt; // bids are accepted while block.timestamp < closesAt
        uint16 minReputation;
        uint128 bidBond; // bond in force when the order was created
        uint256 bestBidId;
        uint128 bestPrice;
        bytes32[] attributes;
    }

    struct Bid {
        uint256 orderId;
        address provider;
        uint128 pricePerSecond;
        bool released; // bond returned (or, for the winner, handled by its charter)
    }

    struct Charter {
        address tenant;
        address provider;
        uint256 deploymentId;
        uint256 orderId; // equals the charter id
        uint256 bidId;
        uint128 pricePerSecond;
        uint64 duration; // seconds paid for, extensions included
        uint64 acknowledgeBy; // deadline for acknowledge (match time + startTimeout in force)
        uint64 acknowledgedAt;
        uint64 endsAt; // payment stops here (moved back on an early close)
        uint128 claimed; // gross amount already moved to the provider (fee included)
        uint16 feeBps; // protocol fee in force at the match
        CharterState state;
        CloseReason closeReason;
    }

    struct OperatorApproval {
        uint128 allowance; // what the operator may still lock from the owner's balance
        uint64 expiry; // rights end when block.timestamp >= expiry
        bool active; // false after a revocation (approval with allowance 0)
    }

    // ------------------------------------------------------------------ events

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event DeploymentCreated(uint256 indexed deploymentId, address indexed owner, bytes32 version);
    event DeploymentUpdated(uint256 indexed deploymentId, bytes32 version);
    event DeploymentClosed(uint256 indexed deploymentId);
    event OrderCreated(
        uint256 indexed orderId,
        uint256 indexed deploymentId,
        address indexed tenant,
        RequirementSpec spec,
        uint64 closesAt
    );
    event OrderCancelled(uint256 indexed orderId);
    event BidPlaced(uint256 indexed orderId, uint256 indexed bidId, address indexed provider, uint128 pricePerSecond);
    /// @notice A losing bid's bond went back to its provider.
    event BidReleased(uint256 indexed bidId, address indexed provider, uint256 bond);
    event OrderMatched(uint256 indexed orderId, uint256 indexed bidId, uint256 indexed charterId);
    event CharterCreated(
        uint256 indexed charterId,
        address indexed tenant,
        address indexed provider,
        uint256 deploymentId,
        uint128 pricePerSecond,
        uint64 duration
    );
    event CharterAcknowledged(uint256 indexed charterId, uint64 endsAt);
    event PaymentClaimed(uint256 indexed charterId, address indexed provider, uint256 amount, uint256 fee);
    event CharterExtended(uint256 indexed charterId, uint64 endsAt);
    event CharterClosed(
        uint256 indexed charterId, CloseReason reason, uint256 paidToProvider, uint256 refundedToTenant
    );
    /// @notice A bond or slash changed hands because a charter was not delivered.
    event BondSeized(uint256 indexed charterId, address indexed provider, address indexed tenant, uint256 bond);
    event OperatorApproved(address indexed owner, address indexed operator, uint256 allowance, uint64 expiry);
    event BidBondChanged(uint256 bidBond);
    event StartTimeoutChanged(uint64 startTimeout);
    event SlashBpsChanged(uint16 slashBps);
    event ProtocolFeeChanged(uint16 feeBps, address indexed treasury);

    // ------------------------------------------------------------------ errors

    error MarketZeroAmount();
    error MarketAmountTooLarge(uint256 amount, uint256 max);
    error MarketInsufficientBalance(address account, uint256 available, uint256 needed);
    error MarketUnauthorized(address caller);
    error MarketUnknownDeployment(uint256 deploymentId);
    error MarketDeploymentClosed(uint256 deploymentId);
    error MarketZeroVersion();
    error MarketSameVersion(bytes32 version);
    error MarketUnknownOrder(uint256 orderId);
    error MarketOrderNotOpen(uint256 orderId, OrderState state);
    error MarketInvalidSpec(string field);
    error MarketBiddingClosed(uint256 orderId, uint64 closesAt);
    error MarketBiddingOpen(uint256 orderId, uint64 closesAt);
    error MarketTenantCannotBid(address tenant);
    error MarketNotProvider(address account);
    error MarketPriceAboveLimit(uint128 price, uint128 limit);
    error MarketZeroPrice();
    error MarketResourcesBelowRequest(uint8 resource, uint32 offered, uint32 requested);
    error MarketReputationTooLow(uint16 reputation, uint16 minimum);
    error MarketMissingAttribute(bytes32 attribute);
    error MarketDuplicateBid(uint256 orderId, address provider, uint256 bidId);
    error MarketNoBids(uint256 orderId);
    error MarketUnknownBid(uint256 bidId);
    error MarketWinningBid(uint256 bidId);
    error MarketBidStillBinding(uint256 bidId, uint256 orderId);
    error MarketBondAlreadyReleased(uint256 bidId);
    error MarketUnknownCharter(uint256 charterId);
    error MarketCharterNotPending(uint256 charterId, CharterState state);
    error MarketCharterNotActive(uint256 charterId, CharterState state);
    error MarketCharterClosed(uint256 charterId);
    error MarketCharterEnded(uint256 charterId, uint64 endsAt);
    error MarketAcknowledgeTooLate(uint256 charterId, uint64 acknowledgeBy);
    error MarketStartTimeoutNotOver(uint256 charterId, uint64 acknowledgeBy);
    error MarketNothingToClaim(uint256 charterId);
    error MarketOperatorAllowanceExceeded(address owner, address operator, uint256 allowance, uint256 needed);
    error MarketInvalidOperator(address operator);
    error MarketInvalidParameter(string name, uint256 value);

    // ------------------------------------------------------------------ accounts

    /// @notice Move `amount` TOM3 from the caller (transferFrom) into its available balance.
    function deposit(uint256 amount) external;

    /// @notice Deposit with an EIP-2612 permit signature instead of a prior approve.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Send `amount` of the caller's available balance back to it.
    function withdraw(uint256 amount) external;

    /// @notice Escrow balance of `account`: `available` can be withdrawn or locked; `locked` backs orders,
    /// charters and bid bonds.
    function balanceOf(address account) external view returns (uint256 available, uint256 locked);

    // ------------------------------------------------------------------ deployments

    /// @notice Create a deployment whose workload hashes to `version`; the caller owns it.
    function createDeployment(bytes32 version) external returns (uint256 deploymentId);

    /// @notice Point the deployment at a new, different version. Owner or operator.
    function updateDeployment(uint256 deploymentId, bytes32 version) external;

    /// @notice Close the deployment. Owner only. Lazy: from now on its orders take no bids and cannot be matched
    /// (anyone may cancel them to release the escrow), and its charters stop accruing at this moment and can be
    /// closed by anyone.
    function closeDeployment(uint256 deploymentId) external;

    /// @notice A deployment's record.
    function deployment(uint256 deploymentId) external view returns (Deployment memory);

    // ------------------------------------------------------------------ orders

    /// @notice Post an order for `deploymentId`. Owner or operator; locks `maxPricePerSecond * duration` of the
    /// owner's available balance (and of the operator's allowance).
    function createOrder(uint256 deploymentId, RequirementSpec calldata spec) external returns (uint256 orderId);

    /// @notice Cancel an open order and unlock its escrow; bonds of its bids become releasable. Tenant or
    /// operator; anyone once the deployment is closed.
    function cancelOrder(uint256 orderId) external;

    /// @notice An order's record.
    function order(uint256 orderId) external view returns (Order memory);

    // ------------------------------------------------------------------ bids

    /// @notice Bid on an open order. Reverts with the reason of `checkBid` when the bid does not qualify; locks
    /// the order's bid bond from the caller's available balance.
    function placeBid(uint256 orderId, uint128 pricePerSecond, Resources calldata offered)
        external
        returns (uint256 bidId);

    /// @notice Whether a bid by `provider` would qualify now, and if not why: `reason` is the ABI-encoded custom
    /// error that `placeBid` would revert with (empty when it qualifies). The same rule as `placeBid`.
    function checkBid(uint256 orderId, address provider, uint128 pricePerSecond, Resources calldata offered)
        external
        view
        returns (bool qualifies, bytes memory reason);

    /// @notice Match the order with its best bid and create the charter (id = order id). Anyone once the bidding
    /// window closed; the tenant or its operator at any time. Constant gas in the number of bids.
    function matchOrder(uint256 orderId) external returns (uint256 charterId);

    /// @notice The best bid so far: lowest price, earliest among equals (0 if none).
    function bestBid(uint256 orderId) external view returns (uint256 bidId);

    /// @notice A bid's record.
    function bid(uint256 bidId) external view returns (Bid memory);

    /// @notice Return the bond of a bid that did not win, once its order is matched or cancelled (or its
    /// deployment closed). Anyone may call; the bond goes to the provider.
    function releaseBid(uint256 bidId) external;

    // ------------------------------------------------------------------ charters

    /// @notice The provider confirms the workload runs; within the start timeout of the match. Payment accrues
    /// from now for `duration` seconds; the winning bid's bond returns to the provider.
    function acknowledge(uint256 charterId) external;

    /// @notice Move accrued, unclaimed payment to the provider's available balance, less the protocol fee to the
    /// treasury's. Anyone may call.
    function claim(uint256 charterId) external;

    /// @notice Close a charter: settle what accrued, refund the rest. Tenant (or operator) or provider at any
    /// time; anyone once it ended or its deployment closed. The reason is DeploymentClosed when the deployment
    /// closed before the charter's end, Expired when it ran to its end.
    function closeCharter(uint256 charterId) external;

    /// @notice The tenant (or operator) ends a charter never acknowledged within the start timeout: full refund,
    /// the bond goes to the tenant, the provider is slashed by `slashBps` and a failure is recorded. Refused once
    /// the deployment is closed (a closed deployment cannot be acknowledged): closeCharter then unwinds the charter
    /// without fault.
    function cancelUndelivered(uint256 charterId) external;

    /// @notice Extend an active charter by `extraSeconds`: locks `price * extraSeconds` more. Tenant or operator.
    function extendCharter(uint256 charterId, uint64 extraSeconds) external;

    /// @notice Gross payment earned so far (price x seconds run, claimed part included).
    function accrued(uint256 charterId) external view returns (uint256);

    /// @notice Earned and not yet claimed.
    function claimable(uint256 charterId) external view returns (uint256);

    /// @notice A charter's record.
    function charter(uint256 charterId) external view returns (Charter memory);

    // ------------------------------------------------------------------ operators

    /// @notice Let `operator` manage the caller's deployments until `expiry`, locking at most `allowance` in
    /// total. Replaces any earlier approval; allowance 0 or a past expiry revokes.
    function approveOperator(address operator, uint256 allowance, uint64 expiry) external;

    /// @notice The approval `owner` gave `operator`.
    function operatorApproval(address owner, address operator) external view returns (OperatorApproval memory);

    /// @notice Whether `operator` may act for `owner` now.
    function isOperator(address owner, address operator) external view returns (bool);

    // ------------------------------------------------------------------ counters and parameters

    function deploymentCount() external view returns (uint256);
    function orderCount() external view returns (uint256);
    function bidCount() external view returns (uint256);

    function token() external view returns (address);
    function registry() external view returns (address);

    function bidBond() external view returns (uint256);
    function startTimeout() external view returns (uint64);
    function slashBps() external view returns (uint16);
    function protocolFeeBps() external view returns (uint16);
    function treasury() external view returns (address);

    /// @notice Owner only. Applies to orders created afterwards.
    function setBidBond(uint256 bond) external;
    /// @notice Owner only; 60 s .. 7 days. Applies to charters matched afterwards.
    function setStartTimeout(uint64 timeout) external;
    /// @notice Owner only; at most 10000.
    function setSlashBps(uint16 bps) external;
    /// @notice Owner only; fee at most 1000 bps, treasury not zero. The fee applies to charters matched afterwards.
    function setProtocolFee(uint16 bps, address treasury_) external;
}
