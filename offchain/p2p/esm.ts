/**
 * The one place that loads the libp2p stack. The project is CommonJS (ts-node under Hardhat and mocha), and the
 * libp2p packages are ESM-only with no `require` condition in their `exports`: a static import would compile to
 * `require()` and fail. A real dynamic `import()` works from CommonJS, but TypeScript rewrites `import()` into
 * `require()` under `module: commonjs`, so the call is hidden from it inside a `Function`. Types come from
 * `import type`, which is erased.
 *
 * The same holds for the compiled package (`npm run build`, dist/offchain/p2p/esm.js): tsc leaves the string
 * alone, and Node resolves the specifier from the file that created the function (this one), not from the working
 * directory, so an installed `tom3` finds libp2p in its own node_modules wherever it runs (test/install/).
 */
export const importEsm = new Function("specifier", "return import(specifier)") as <T>(specifier: string) => Promise<T>;

/** The modules of the stack, loaded once and shared. */
export interface Libp2pModules {
  libp2p: typeof import("libp2p");
  tcp: typeof import("@libp2p/tcp");
  tls: typeof import("@libp2p/tls");
  noise: typeof import("@chainsafe/libp2p-noise");
  yamux: typeof import("@chainsafe/libp2p-yamux");
  keys: typeof import("@libp2p/crypto/keys");
  multiaddr: typeof import("@multiformats/multiaddr");
  lp: typeof import("it-length-prefixed");
  uint8arraylist: typeof import("uint8arraylist");
}

let loading: Promise<Libp2pModules> | undefined;

/** Load (once) every ESM module the peer-to-peer layer uses. */
export function loadLibp2p(): Promise<Libp2pModules> {
  loading ??= (async () => {
    const [libp2p, tcp, tls, noise, yamux, keys, multiaddr, lp, uint8arraylist] = await Promise.all([
      importEsm<Libp2pModules["libp2p"]>("libp2p"),
      importEsm<Libp2pModules["tcp"]>("@libp2p/tcp"),
      importEsm<Libp2pModules["tls"]>("@libp2p/tls"),
      importEsm<Libp2pModules["noise"]>("@chainsafe/libp2p-noise"),
      importEsm<Libp2pModules["yamux"]>("@chainsafe/libp2p-yamux"),
      importEsm<Libp2pModules["keys"]>("@libp2p/crypto/keys"),
      importEsm<Libp2pModules["multiaddr"]>("@multiformats/multiaddr"),
      importEsm<Libp2pModules["lp"]>("it-length-prefixed"),
      importEsm<Libp2pModules["uint8arraylist"]>("uint8arraylist"),
    ]);
    return { libp2p, tcp, tls, noise, yamux, keys, multiaddr, lp, uint8arraylist };
  })();
  loading.catch(() => (loading = undefined));
  return loading;
}
