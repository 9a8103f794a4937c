/**
 * The pod sandbox ("pause") image for the runtime tests, built by hand as an
 * OCI image-layout archive from Debian's busybox-static: no registry is
 * reachable here (notes.md), so containerd gets it through
 * `ctr images import`.
 *
 * The image is one uncompressed layer: /bin/busybox plus a few applet links,
 * and /www/index.html. Its entrypoint is busybox httpd on port 8080, so the
 * sandbox process itself answers TCP inside the pod's network namespace:
 * a test that fetches http://<pod IP>:8080/ from another pod proves the
 * path to the process the runtime started, not just to the netns.
 *
 * The archive is deterministic (sorted entries, mtime 0, uid/gid 0), so the
 * same busybox always gives the same digests.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, openSync, readSync, closeSync, readFileSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import { run } from './netns.js';

/** Where Debian's busybox-static installs its binary. */
export const BUSYBOX_STATIC = '/bin/busybox';
/** The TCP port the sandbox's httpd listens on. */
export const SANDBOX_HTTP_PORT = 8080;
/** What GET / on that port returns. */
export const SANDBOX_HTTP_BODY = 'tortie-sandbox\n';

export interface SandboxImage {
  /** Image reference, as CRI's sandbox_image names it. */
  ref: string;
  /** The OCI image-layout tar to give `ctr images import`. */
  archive: string;
  /** sha256:… of the image manifest. */
  manifestDigest: string;
  /** The root filesystem as a plain tar (the image's one layer), for `podman import`. */
  rootfsTar: string;
  /** The image's entrypoint (busybox httpd on SANDBOX_HTTP_PORT). */
  entrypoint: readonly string[];
}

const ENTRYPOINT = ['/bin/httpd', '-f', '-p', String(SANDBOX_HTTP_PORT), '-h', '/www'] as const;

const MediaType = {
  Manifest: 'application/vnd.oci.image.manifest.v1+json',
  Config: 'application/vnd.oci.image.config.v1+json',
  LayerTar: 'application/vnd.oci.image.layer.v1.tar',
} as const;

const APPLETS = ['sh', 'sleep', 'httpd', 'ping', 'nc', 'wget', 'ip', 'cat'] as const;

const GOARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

/** True when the ELF file at `path` has no PT_INTERP program header (it is statically linked). */
export function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) return false; // "\x7fELF"
    if (header.readUInt8(4) !== 2 || header.readUInt8(5) !== 1) return false; // 64-bit little-endian only
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    const PT_INTERP = 3;
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === PT_INTERP) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** GNU tar with everything that makes the output depend on the machine or the clock pinned. */
async function deterministicTar(cwd: string, out: string, entries: readonly string[]): Promise<void> {
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', cwd, '-cf', out, ...entries]);
}

/**
 * Builds the sandbox image under `dir` (which must exist and be empty-ish) and
 * returns its archive and reference. Throws ERR_TEST_PREREQ when busybox-static
 * is missing or not static.
 */
export async function buildSandboxImage(dir: string, ref = 'tortie.test/sandbox:1'): Promise<SandboxImage> {
  try {
    statSync(BUSYBOX_STATIC);
  } catch {
    throw new TortieError('ERR_TEST_PREREQ', `${BUSYBOX_STATIC} is missing: apt-get install busybox-static (scripts/install-deps.sh does)`);
  }
  if (!isStaticElf(BUSYBOX_STATIC)) {
    throw new TortieError('ERR_TEST_PREREQ', `${BUSYBOX_STATIC} is dynamically linked: install busybox-static, not busybox`);
  }
  const arch = GOARCH[process.arch];
  if (!arch) throw new TortieError('ERR_TEST_PREREQ', `no OCI architecture name for ${process.arch}`);

  // The root filesystem.
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'www', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX_STATIC, join(rootfs, 'bin/busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'www/index.html'), SANDBOX_HTTP_BODY);
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');

  // The OCI image layout: blobs, index.json, oci-layout.
  const layout = join(dir, 'oci');
  const blobs = join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const putBlob = (bytes: Buffer): { digest: string; size: number } => {
    const hex = sha256(bytes);
    writeFileSync(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };

  const layerTar = join(dir, 'layer.tar');
  await deterministicTar(rootfs, layerTar, ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'www']);
  const layer = putBlob(readFileSync(layerTar));

  const config = putBlob(
    Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        config: {
          Entrypoint: ENTRYPOINT,
          Env: ['PATH=/bin'],
          WorkingDir: '/',
        },
        // An uncompressed layer's diff ID is its own digest.
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = putBlob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.Manifest,
        config: { mediaType: MediaType.Config, ...config },
        layers: [{ mediaType: MediaType.LayerTar, ...layer }],
      }),
    ),
  );
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MediaType.Manifest,
          ...manifest,
          // containerd names the imported image after io.containerd.image.name.
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').at(-1) ?? 'latest' },
        },
      ],
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const archive = join(dir, 'sandbox-image.oci.tar');
  await deterministicTar(layout, archive, ['blobs', 'index.json', 'oci-layout']);
  return { ref, archive, manifestDigest: manifest.digest, rootfsTar: layerTar, entrypoint: ENTRYPOINT };
}
