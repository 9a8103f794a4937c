/**
 * The CRI runtime.v1 messages the runtime tests use, as plain TypeScript
 * types with hand-written protobuf encoders and decoders. Field numbers are
 * those of k8s.io/cri-api `pkg/apis/runtime/v1/api.proto`; only the fields we
 * send or read are modelled, everything else is skipped on decode.
 *
 * Pure: no I/O.
 */
import { ProtoMessage, ProtoWriter } from './protobuf.js';

/** gRPC method paths of runtime.v1.RuntimeService. */
export const RuntimeMethod = {
  Version: '/runtime.v1.RuntimeService/Version',
  RunPodSandbox: '/runtime.v1.RuntimeService/RunPodSandbox',
  StopPodSandbox: '/runtime.v1.RuntimeService/StopPodSandbox',
  RemovePodSandbox: '/runtime.v1.RuntimeService/RemovePodSandbox',
  PodSandboxStatus: '/runtime.v1.RuntimeService/PodSandboxStatus',
  ListPodSandbox: '/runtime.v1.RuntimeService/ListPodSandbox',
} as const;

/** enum PodSandboxState */
export const PodSandboxState = {
  SandboxReady: 0,
  SandboxNotReady: 1,
} as const;
export type PodSandboxState = (typeof PodSandboxState)[keyof typeof PodSandboxState];

/** enum NamespaceMode */
export const NamespaceMode = {
  Pod: 0,
  Container: 1,
  Node: 2,
  Target: 3,
} as const;
export type NamespaceMode = (typeof NamespaceMode)[keyof typeof NamespaceMode];

// ---------------------------------------------------------------- Version

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

/** VersionRequest { string version = 1; } */
export function encodeVersionRequest(apiVersion: string): Uint8Array {
  return new ProtoWriter().string(1, apiVersion).finish();
}

export function decodeVersionResponse(buf: Uint8Array): VersionResponse {
  const m = new ProtoMessage(buf);
  return { version: m.string(1), runtimeName: m.string(2), runtimeVersion: m.string(3), runtimeApiVersion: m.string(4) };
}

// ---------------------------------------------------------------- RunPodSandbox

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface PortMapping {
  /** enum Protocol: TCP 0, UDP 1, SCTP 2 */
  protocol?: number;
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

export interface LinuxPodSandboxConfig {
  cgroupParent?: string;
  /** LinuxSandboxSecurityContext.namespace_options.network; POD (0) unless told. */
  networkMode?: NamespaceMode;
  sysctls?: Record<string, string>;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  dnsConfig?: DnsConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: LinuxPodSandboxConfig;
}

function writeMetadata(w: ProtoWriter, md: PodSandboxMetadata): void {
  w.string(1, md.name).string(2, md.uid).string(3, md.namespace).varint(4, md.attempt ?? 0);
}

/** RunPodSandboxRequest { PodSandboxConfig config = 1; string runtime_handler = 2; } */
export function encodeRunPodSandboxRequest(config: PodSandboxConfig, runtimeHandler = ''): Uint8Array {
  return new ProtoWriter()
    .message(1, (c) => {
      c.message(1, (w) => writeMetadata(w, config.metadata));
      c.string(2, config.hostname);
      c.string(3, config.logDirectory);
      const dns = config.dnsConfig;
      c.message(4, dns && ((w) => w.repeatedString(1, dns.servers).repeatedString(2, dns.searches).repeatedString(3, dns.options)));
      for (const pm of config.portMappings ?? []) {
        c.message(5, (w) => w.varint(1, pm.protocol ?? 0).varint(2, pm.containerPort).varint(3, pm.hostPort ?? 0).string(4, pm.hostIp));
      }
      c.stringMap(6, config.labels);
      c.stringMap(7, config.annotations);
      const linux = config.linux;
      c.message(
        8,
        linux &&
          ((w) => {
            w.string(1, linux.cgroupParent);
            // security_context = 2 { namespace_options = 1 { network = 1 } }
            w.message(2, (sc) => sc.message(1, (ns) => ns.varint(1, linux.networkMode ?? NamespaceMode.Pod)));
            w.stringMap(3, linux.sysctls);
          }),
      );
    })
    .string(2, runtimeHandler)
    .finish();
}

/** RunPodSandboxResponse { string pod_sandbox_id = 1; } */
export function decodeRunPodSandboxResponse(buf: Uint8Array): string {
  return new ProtoMessage(buf).string(1);
}

// ---------------------------------------------------------------- Stop / Remove

/** StopPodSandboxRequest and RemovePodSandboxRequest: { string pod_sandbox_id = 1; } */
export function encodePodSandboxIdRequest(podSandboxId: string): Uint8Array {
  return new ProtoWriter().string(1, podSandboxId).finish();
}

// ---------------------------------------------------------------- PodSandboxStatus

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAtNs: bigint;
  /** PodSandboxNetworkStatus.ip ("" for host-network sandboxes or before networking). */
  ip: string;
  additionalIps: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus | undefined;
  /** Verbose only: runtime-specific JSON strings (containerd puts its sandbox info under "info"). */
  info: Record<string, string>;
}

/** PodSandboxStatusRequest { string pod_sandbox_id = 1; bool verbose = 2; } */
export function encodePodSandboxStatusRequest(podSandboxId: string, verbose: boolean): Uint8Array {
  return new ProtoWriter().string(1, podSandboxId).varint(2, verbose).finish();
}

function readMetadata(m: ProtoMessage | undefined): PodSandboxMetadata {
  return { name: m?.string(1) ?? '', uid: m?.string(2) ?? '', namespace: m?.string(3) ?? '', attempt: m?.number(4) ?? 0 };
}

function readState(m: ProtoMessage, field: number): PodSandboxState {
  return m.number(field) === PodSandboxState.SandboxReady ? PodSandboxState.SandboxReady : PodSandboxState.SandboxNotReady;
}

/** PodSandboxStatusResponse { PodSandboxStatus status = 1; map<string,string> info = 2; … } */
export function decodePodSandboxStatusResponse(buf: Uint8Array): PodSandboxStatusResponse {
  const m = new ProtoMessage(buf);
  const s = m.message(1);
  let status: PodSandboxStatus | undefined;
  if (s) {
    // PodSandboxStatus { id 1, metadata 2, state 3, created_at 4, network 5, linux 6, labels 7, annotations 8, runtime_handler 9 }
    const network = s.message(5);
    status = {
      id: s.string(1),
      metadata: readMetadata(s.message(2)),
      state: readState(s, 3),
      createdAtNs: s.varint(4),
      ip: network?.string(1) ?? '',
      additionalIps: network?.messages(2).map((p) => p.string(1)) ?? [],
      labels: s.stringMap(7),
      annotations: s.stringMap(8),
      runtimeHandler: s.string(9),
    };
  }
  return { status, info: m.stringMap(2) };
}

// ---------------------------------------------------------------- ListPodSandbox

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAtNs: bigint;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

/** ListPodSandboxRequest { PodSandboxFilter filter = 1; } with PodSandboxFilter { id 1, state 2 { state 1 }, label_selector 3 } */
export function encodeListPodSandboxRequest(filter?: PodSandboxFilter): Uint8Array {
  return new ProtoWriter()
    .message(
      1,
      filter &&
        ((w) => {
          w.string(1, filter.id);
          const state = filter.state;
          // A wrapper message: present-but-zero means "READY", so write it even for 0.
          if (state !== undefined) w.message(2, (s) => s.varint(1, state));
          w.stringMap(3, filter.labelSelector);
        }),
    )
    .finish();
}

/** ListPodSandboxResponse { repeated PodSandbox items = 1; } */
export function decodeListPodSandboxResponse(buf: Uint8Array): PodSandbox[] {
  return new ProtoMessage(buf).messages(1).map((p) => ({
    id: p.string(1),
    metadata: readMetadata(p.message(2)),
    state: readState(p, 3),
    createdAtNs: p.varint(4),
    labels: p.stringMap(5),
    annotations: p.stringMap(6),
    runtimeHandler: p.string(7),
  }));
}
