// Hardhat tasks are registered here (see tasks/*.ts).
import "./compile";
