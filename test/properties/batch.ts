/**
 * Many view calls in one `eth_call`.
 *
 * The property tests read the whole Market state after every step; one JSON-RPC round trip per value would
 * dominate the run time. A tiny reader contract, compiled here with the project's pinned solc and placed at a
 * fixed address through an `eth_call` state override (nothing is deployed, the chain is untouched), runs every
 * call in one EVM execution and returns all results together.
 */
import type { EthereumProvider } from "hardhat/types";
import { AbiCoder, type Interface, type Result } from "ethers";

const READER_ADDRESS = "0x00000000000000000000000000000000007e57ba";

const READER_SOURCE = `// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;
contract BatchReader {
    function read(address[] calldata targets, bytes[] calldata data) external view returns (bytes[] memory results) {
        results = new bytes[](targets.length);
        for (uint256 i = 0; i < targets.length; ++i) {
            (bool ok, bytes memory r) = targets[i].staticcall(data[i]);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(r, 32), mload(r))
                }
            }
            results[i] = r;
        }
    }
}
`;

let readerCode: string | undefined;
let readSelector: string | undefined;

/** Runtime code of the reader, compiled once per process (about a second with solcjs). */
function compileReader(): { code: string; selector: string } {
  if (readerCode === undefined || readSelector === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const solc = require("solc");
    const input = {
      language: "Solidity",
      sources: { "BatchReader.sol": { content: READER_SOURCE } },
      settings: {
        optimizer: { enabled: true, runs: 200 },
        evmVersion: "cancun",
        outputSelection: { "*": { BatchReader: ["evm.deployedBytecode.object", "evm.methodIdentifiers"] } },
      },
    };
    const output = JSON.parse(solc.compile(JSON.stringify(input)));
    const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
    if (errors.length > 0) throw new Error(`BatchReader does not compile: ${JSON.stringify(errors)}`);
    const contract = output.contracts["BatchReader.sol"].BatchReader;
    readerCode = "0x" + contract.evm.deployedBytecode.object;
    readSelector = "0x" + contract.evm.methodIdentifiers["read(address[],bytes[])"];
  }
  return { code: readerCode, selector: readSelector };
}

/** One view call: `fn(args)` on `target`, decoded with `iface`. */
export interface ViewCall {
  target: string;
  iface: Interface;
  fn: string;
  args?: readonly unknown[];
}

const coder = AbiCoder.defaultAbiCoder();

/** Run `calls` in one `eth_call` and decode each result (a reverting call fails the whole batch). */
export async function readBatch(provider: EthereumProvider, calls: readonly ViewCall[]): Promise<Result[]> {
  const { code, selector } = compileReader();
  const targets = calls.map((c) => c.target);
  const data = calls.map((c) => c.iface.encodeFunctionData(c.fn, c.args ?? []));
  const calldata = selector + coder.encode(["address[]", "bytes[]"], [targets, data]).slice(2);
  const raw = (await provider.request({
    method: "eth_call",
    params: [{ to: READER_ADDRESS, data: calldata }, "latest", { [READER_ADDRESS]: { code } }],
  })) as string;
  const [results] = coder.decode(["bytes[]"], raw);
  return calls.map((c, i) => c.iface.decodeFunctionResult(c.fn, results[i]));
}
