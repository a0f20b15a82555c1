/**
 * Market deployments: createDeployment, updateDeployment, closeDeployment and the lazy close's effect on orders
 * and bids (its effect on charters is in Market.charters.test.ts).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULT_RESOURCES,
  OrderState,
  VERSION_1,
  VERSION_2,
  balance,
  createOrder,
  defaultSpec,
  marketFixture,
  nextBlockAt,
  placeBids,
} from "./fixtures";

describe("Market: deployments", function () {
  describe("createDeployment", function () {
    it("records the caller as owner with the version and emits DeploymentCreated", async function () {
      const fx = await loadFixture(marketFixture);
      const createdAt = await nextBlockAt();

      await expect(fx.market.connect(fx.otherTenant).createDeployment(VERSION_2))
        .to.emit(fx.market, "DeploymentCreated")
        .withArgs(2n, fx.otherTenant.address, VERSION_2);

      expect(await fx.market.deploymentCount()).to.equal(2n);
      const d = await fx.market.deployment(2n);
      expect([d.owner, d.createdAt, d.closedAt, d.version]).to.deep.equal([
        fx.otherTenant.address,
        createdAt,
        0n,
        VERSION_2,
      ]);
    });

    it("numbers deployments sequentially from 1", async function () {
      const fx = await loadFixture(marketFixture);
      expect(fx.deploymentId).to.equal(1n);
      await fx.market.connect(fx.tenant).createDeployment(VERSION_1);
      await fx.market.connect(fx.stranger).createDeployment(VERSION_2);
      expect(await fx.market.deploymentCount()).to.equal(3n);
      expect((await fx.market.deployment(3n)).owner).to.equal(fx.stranger.address);
    });

    describe("when the version is zero", function () {
      it("reverts with MarketZeroVersion", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).createDeployment(ethers.ZeroHash)).to.be.revertedWithCustomError(
          fx.market,
          "MarketZeroVersion",
        );
      });
    });
  });

  describe("deployment", function () {
    it("returns an empty record for an unknown id", async function () {
      const fx = await loadFixture(marketFixture);
      const d = await fx.market.deployment(42n);
      expect([d.owner, d.createdAt, d.closedAt, d.version]).to.deep.equal([
        ethers.ZeroAddress,
        0n,
        0n,
        ethers.ZeroHash,
      ]);
    });
  });

  describe("updateDeployment", function () {
    it("lets the owner point the deployment at a new version and emits DeploymentUpdated", async function () {
      const fx = await loadFixture(marketFixture);
      await expect(fx.market.connect(fx.tenant).updateDeployment(fx.deploymentId, VERSION_2))
        .to.emit(fx.market, "DeploymentUpdated")
        .withArgs(fx.deploymentId, VERSION_2);
      expect((await fx.market.deployment(fx.deploymentId)).version).to.equal(VERSION_2);
    });

    describe("when the deployment is unknown", function () {
      it("reverts with MarketUnknownDeployment", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).updateDeployment(7n, VERSION_2))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownDeployment")
          .withArgs(7n);
      });
    });

    describe("when the caller is neither owner nor operator", function () {
      it("reverts with MarketUnauthorized", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.stranger).updateDeployment(fx.deploymentId, VERSION_2))
          .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
          .withArgs(fx.stranger.address);
      });
    });

    describe("when the version is zero", function () {
      it("reverts with MarketZeroVersion", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(
          fx.market.connect(fx.tenant).updateDeployment(fx.deploymentId, ethers.ZeroHash),
        ).to.be.revertedWithCustomError(fx.market, "MarketZeroVersion");
      });
    });

    describe("when the version is the current one", function () {
      it("reverts with MarketSameVersion", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).updateDeployment(fx.deploymentId, VERSION_1))
          .to.be.revertedWithCustomError(fx.market, "MarketSameVersion")
          .withArgs(VERSION_1);
      });
    });

    describe("when the deployment is closed", function () {
      it("reverts with MarketDeploymentClosed", async function () {
        const fx = await loadFixture(marketFixture);
        await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
        await expect(fx.market.connect(fx.tenant).updateDeployment(fx.deploymentId, VERSION_2))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
      });
    });
  });

  describe("closeDeployment", function () {
    it("records the close time and emits DeploymentClosed", async function () {
      const fx = await loadFixture(marketFixture);
      const closedAt = await nextBlockAt();
      await expect(fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId))
        .to.emit(fx.market, "DeploymentClosed")
        .withArgs(fx.deploymentId);
      expect((await fx.market.deployment(fx.deploymentId)).closedAt).to.equal(closedAt);
    });

    describe("when the caller is not the owner", function () {
      it("reverts with MarketUnauthorized", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.stranger).closeDeployment(fx.deploymentId))
          .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
          .withArgs(fx.stranger.address);
      });
    });

    describe("when the deployment is unknown", function () {
      it("reverts with MarketUnknownDeployment", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).closeDeployment(0n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownDeployment")
          .withArgs(0n);
      });
    });

    describe("when it is already closed", function () {
      it("reverts with MarketDeploymentClosed", async function () {
        const fx = await loadFixture(marketFixture);
        await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
        await expect(fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
      });
    });

    describe("when the deployment has an open order with bids (lazy close)", function () {
      async function closedWithOpenOrder() {
        const fx = await loadFixture(marketFixture);
        await fx.market.connect(fx.owner).setBidBond(1_000n);
        const spec = defaultSpec();
        const orderId = await createOrder(fx, spec);
        const [bidId] = await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
        await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
        return { fx, spec, orderId, bidId };
      }

      it("refuses new orders", async function () {
        const { fx } = await closedWithOpenOrder();
        await expect(fx.market.connect(fx.tenant).createOrder(fx.deploymentId, defaultSpec()))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
      });

      it("refuses new bids", async function () {
        const { fx, orderId } = await closedWithOpenOrder();
        await expect(fx.market.connect(fx.provider2).placeBid(orderId, 800n, DEFAULT_RESOURCES))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
      });

      it("refuses to match the order, even for the tenant", async function () {
        const { fx, orderId } = await closedWithOpenOrder();
        await expect(fx.market.connect(fx.tenant).matchOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
      });

      it("lets anyone cancel the order, which refunds the tenant", async function () {
        const { fx, spec, orderId } = await closedWithOpenOrder();
        const [available] = await balance(fx, fx.tenant);
        await expect(fx.market.connect(fx.stranger).cancelOrder(orderId))
          .to.emit(fx.market, "OrderCancelled")
          .withArgs(orderId);
        expect(await balance(fx, fx.tenant)).to.deep.equal([available + spec.maxPricePerSecond * spec.duration, 0n]);
        expect((await fx.market.order(orderId)).state).to.equal(OrderState.Cancelled);
      });

      it("frees the bids' bonds while the order is still open", async function () {
        const { fx, bidId } = await closedWithOpenOrder();
        const [available, locked] = await balance(fx, fx.provider1);
        await expect(fx.market.connect(fx.stranger).releaseBid(bidId))
          .to.emit(fx.market, "BidReleased")
          .withArgs(bidId, fx.provider1.address, 1_000n);
        expect(await balance(fx, fx.provider1)).to.deep.equal([available + 1_000n, locked - 1_000n]);
      });
    });
  });
});
