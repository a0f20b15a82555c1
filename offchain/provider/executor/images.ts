/**
 * The sample workload images, built on this machine with no registry: a root filesystem made in memory from the
 * static `/bin/busybox` (Debian's busybox-static) plus symlinks and small web roots, written as a tar and given to
 * the engine's import (`POST /images/create?fromSrc=-`, what `docker import` does).
 *
 * - `tom3/hello:local`: busybox httpd on 8080 serving /www: the index page (a CGI script, so that it prints the
 *   container's `GREETING` and a tenant sees an update's new environment), and /cgi-bin/api that asks the internal
 *   api service, found by its name with busybox's own resolver, since static libc lookups crash in busybox.
 * - `tom3/api:local`: busybox httpd on 9000 answering a small JSON document.
 *
 * Both run with a read-only root filesystem and no capabilities. Each image carries a `tom3.sample.revision` label
 * (a hash of its definition): an image built from an older definition is rebuilt, not reused.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import Docker from "dockerode";

export const HELLO_IMAGE = "tom3/hello:local";
export const API_IMAGE = "tom3/api:local";

/** Applets every sample image links to busybox (what the workloads and the tests use). */
const APPLETS = [
  "sh", "ash", "cat", "echo", "env", "grep", "head", "hostname", "httpd", "ip", "ls", "nc", "nslookup",
  "printf", "ps", "sed", "sleep", "tail", "test", "true", "false", "wget", "awk", "cut", "tr", "wc", "id",
];

type TarEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; mode?: number; content: Buffer | string }
  | { type: "symlink"; path: string; target: string };

export interface SampleImage {
  name: string;
  /** Dockerfile-like instructions applied on import (CMD, ENV, EXPOSE, LABEL). */
  changes: string[];
  files: TarEntry[];
}

// busybox httpd runs /cgi-bin/index.cgi for a directory without index.html. GREETING is HTML-escaped.
const HELLO_INDEX_CGI = `#!/bin/sh
greeting=$(printf '%s' "\${GREETING:-hello}" | sed 's/&/\\&amp;/g; s/</\\&lt;/g; s/>/\\&gt;/g')
printf 'Content-Type: text/html\\r\\n\\r\\n'
printf '%s\\n' '<!doctype html>' '<html><head><title>Hello, TOM3</title></head>' \\
  '<body><h1>Hello from TOM3</h1><p>This page is served by a workload on a TOM3 provider.</p>'
printf '<p>Greeting: <b>%s</b></p>\\n' "$greeting"
printf '%s\\n' '<p><a href="/cgi-bin/api">Ask the internal api service</a></p></body></html>'
`;

// Resolves API_URL's host with busybox nslookup (its own DNS client: the static libc resolver crashes), then
// speaks HTTP/1.0 to the api with nc. Answers 502 when the api cannot be reached.
const HELLO_CGI = `#!/bin/sh
url="\${API_URL:-http://api:9000}"
hostport="\${url#*://}"; hostport="\${hostport%%/*}"
host="\${hostport%%:*}"; port="\${hostport##*:}"; [ "$port" = "$hostport" ] && port=80
case "$host" in
  *[!0-9.]*) ip=$(nslookup "$host" 127.0.0.11 2>/dev/null | awk '/^Address/ && !/127\\.0\\.0\\.11/ {print $NF; exit}') ;;
  *) ip="$host" ;;
esac
body=""
[ -n "$ip" ] && body=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 "$ip" "$port" 2>/dev/null | sed '1,/^\\r*$/d')
if [ -n "$body" ]; then
  printf 'Content-Type: application/json\\r\\n\\r\\n%s\\n' "$body"
else
  printf 'Status: 502 Bad Gateway\\r\\nContent-Type: text/plain\\r\\n\\r\\napi unreachable at %s\\n' "$url"
fi
`;

const API_INDEX = `{"service":"api","message":"hello from the internal api"}\n`;

/** The definitions of the sample images. */
export function sampleImages(): SampleImage[] {
  return [
    {
      name: HELLO_IMAGE,
      changes: [
        'CMD ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]',
        "EXPOSE 8080",
        "ENV PATH=/bin",
        "LABEL tom3.sample=hello",
      ],
      files: [
        { type: "dir", path: "www" },
        { type: "dir", path: "www/cgi-bin" },
        { type: "file", path: "www/cgi-bin/index.cgi", mode: 0o755, content: HELLO_INDEX_CGI },
        { type: "file", path: "www/cgi-bin/api", mode: 0o755, content: HELLO_CGI },
      ],
    },
    {
      name: API_IMAGE,
      changes: [
        'CMD ["/bin/httpd", "-f", "-p", "9000", "-h", "/api"]',
        "EXPOSE 9000",
        "ENV PATH=/bin",
        "LABEL tom3.sample=api",
      ],
      files: [
        { type: "dir", path: "api" },
        { type: "file", path: "api/index.html", content: API_INDEX },
      ],
    },
  ];
}

export interface BuildSampleImagesOptions {
  docker?: Docker;
  /** Rebuild even when the image is present. */
  force?: boolean;
  /** Path of the static busybox binary. */
  busybox?: string;
  /** Timeout of each engine call, in ms. */
  timeoutMs?: number;
}

/** Builds the sample images that are missing (all of them with `force`); returns the names it built. */
export async function buildSampleImages(options: BuildSampleImagesOptions = {}): Promise<string[]> {
  const docker = options.docker ?? new Docker();
  const timeoutMs = options.timeoutMs ?? 60_000;
  let busybox: Buffer | undefined;
  const built: string[] = [];
  for (const image of sampleImages()) {
    const revision = imageRevision(image);
    if (!options.force && (await imageRevisionPresent(docker, image.name, timeoutMs)) === revision) continue;
    busybox ??= await readFile(options.busybox ?? "/bin/busybox");
    const rootfs = tarArchive([...baseFilesystem(busybox), ...image.files]);
    await importRootfs(docker, image.name, rootfs, [...image.changes, `LABEL ${REVISION_LABEL}=${revision}`], timeoutMs);
    built.push(image.name);
  }
  return built;
}

const REVISION_LABEL = "tom3.sample.revision";

/** A hash of the image's definition (the busybox binary aside: any static busybox serves). */
export function imageRevision(image: SampleImage): string {
  const files = image.files.map((f) => (f.type === "file" ? { ...f, content: Buffer.from(f.content).toString("base64") } : f));
  return createHash("sha256").update(JSON.stringify({ changes: image.changes, files })).digest("hex").slice(0, 16);
}

/** The revision label of the image present under `name`: "" when it has none, undefined when it is absent. */
async function imageRevisionPresent(docker: Docker, name: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const info = await docker.getImage(name).inspect({ abortSignal: AbortSignal.timeout(timeoutMs) } as object);
    return info.Config?.Labels?.[REVISION_LABEL] ?? "";
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

async function importRootfs(
  docker: Docker,
  name: string,
  rootfs: Buffer,
  changes: string[],
  timeoutMs: number,
): Promise<void> {
  const colon = name.lastIndexOf(":");
  const stream = (await docker.importImage(Readable.from([rootfs]), {
    repo: name.slice(0, colon),
    tag: name.slice(colon + 1),
    changes,
    abortSignal: AbortSignal.timeout(timeoutMs),
  } as object)) as NodeJS.ReadableStream;
  // The engine reports progress and errors as JSON lines on the response body.
  const output = await new Promise<string>((resolve, reject) => {
    let text = "";
    stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
    stream.on("end", () => resolve(text));
    stream.on("error", reject);
  });
  const failure = output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { error?: string })
    .find((message) => message.error !== undefined);
  if (failure) throw new Error(`import of ${name} failed: ${failure.error}`);
}

/** bin/busybox, its applet links, /tmp (a tmpfs mount point at run time) and /etc files httpd and sh look at. */
function baseFilesystem(busybox: Buffer): TarEntry[] {
  return [
    { type: "dir", path: "bin" },
    { type: "file", path: "bin/busybox", mode: 0o755, content: busybox },
    ...APPLETS.map((applet): TarEntry => ({ type: "symlink", path: `bin/${applet}`, target: "busybox" })),
    { type: "dir", path: "tmp", mode: 0o1777 },
    { type: "dir", path: "etc" },
    { type: "file", path: "etc/passwd", content: "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n" },
    { type: "file", path: "etc/group", content: "root:x:0:\nnogroup:x:65534:\n" },
  ];
}

/** A POSIX ustar archive of the entries, in memory (the images are a few MB). */
export function tarArchive(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content =
      entry.type === "file" ? (typeof entry.content === "string" ? Buffer.from(entry.content) : entry.content) : Buffer.alloc(0);
    const header = Buffer.alloc(512);
    const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar path too long: ${name}`);
    header.write(name, 0, 100, "utf8");
    const mode = entry.type === "symlink" ? 0o777 : (entry.mode ?? (entry.type === "dir" ? 0o755 : 0o644));
    writeOctal(header, mode, 100, 8);
    writeOctal(header, 0, 108, 8); // uid
    writeOctal(header, 0, 116, 8); // gid
    writeOctal(header, content.length, 124, 12);
    writeOctal(header, 0, 136, 12); // mtime: fixed, so the same inputs give the same layer
    header.write("        ", 148, 8, "ascii"); // checksum placeholder
    header.write(entry.type === "dir" ? "5" : entry.type === "symlink" ? "2" : "0", 156, 1, "ascii");
    if (entry.type === "symlink") header.write(entry.target, 157, 100, "utf8");
    header.write("ustar\u000000", 257, 8, "ascii");
    let checksum = 0;
    for (const byte of header) checksum += byte;
    header.write(`${checksum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
    blocks.push(header, content);
    const padding = (512 - (content.length % 512)) % 512;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(1024)); // end of archive
  return Buffer.concat(blocks);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  header.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "ascii");
}
