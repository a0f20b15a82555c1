// Hardhat tasks are registered here (see tasks/*.ts); the tom3:* tasks share tasks/lib.ts.
import "./compile";
import "./accounts";
import "./provider";
import "./market";
import "./governance";
