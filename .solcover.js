// Coverage of the protocol contracts; test-only contracts (mocks, reentrancy attackers) are excluded.
module.exports = {
  skipFiles: ["test/", "interfaces/"],
  configureYulOptimizer: true,
  istanbulReporter: ["text", "text-summary", "json-summary", "html"],
};
