// Hardhat tasks are registered here (see tasks/*.ts).
export {};
