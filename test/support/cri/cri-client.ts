/**
 * A small CRI client (runtime.v1 RuntimeService) for the runtime tests:
 * the calls the kubelet makes to run and tear down a pod sandbox, nothing
 * more. There is no crictl on these machines (notes.md), so this stands in
 * for it.
 */
import { GrpcUnixClient } from './grpc-unary.js';
import {
  decodeListPodSandboxResponse,
  decodePodSandboxStatusResponse,
  decodeRunPodSandboxResponse,
  decodeVersionResponse,
  encodeListPodSandboxRequest,
  encodePodSandboxIdRequest,
  encodePodSandboxStatusRequest,
  encodeRunPodSandboxRequest,
  encodeVersionRequest,
  RuntimeMethod,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatusResponse,
  type VersionResponse,
} from './runtime-v1.js';

export * from './runtime-v1.js';
export { GrpcError, GrpcStatus } from './grpc-unary.js';

/** The CRI API version string the kubelet sends. */
const KUBELET_API_VERSION = 'v1';

export interface CriClientOptions {
  /** Per-call deadline. Default 60 s (RunPodSandbox runs the whole CNI ADD). */
  timeoutMs?: number;
}

export class CriClient {
  private readonly grpc: GrpcUnixClient;
  private readonly timeoutMs: number;

  constructor(socketPath: string, opts: CriClientOptions = {}) {
    this.grpc = new GrpcUnixClient(socketPath);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async version(): Promise<VersionResponse> {
    return decodeVersionResponse(await this.grpc.unary(RuntimeMethod.Version, encodeVersionRequest(KUBELET_API_VERSION), this.timeoutMs));
  }

  /** Creates and starts a sandbox (the runtime runs CNI ADD); returns its id. */
  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    const reply = await this.grpc.unary(RuntimeMethod.RunPodSandbox, encodeRunPodSandboxRequest(config, runtimeHandler), this.timeoutMs);
    return decodeRunPodSandboxResponse(reply);
  }

  /** Stops the sandbox (the runtime runs CNI DEL). Idempotent on the runtime's side. */
  async stopPodSandbox(id: string): Promise<void> {
    await this.grpc.unary(RuntimeMethod.StopPodSandbox, encodePodSandboxIdRequest(id), this.timeoutMs);
  }

  /** Removes a stopped sandbox. Idempotent on the runtime's side. */
  async removePodSandbox(id: string): Promise<void> {
    await this.grpc.unary(RuntimeMethod.RemovePodSandbox, encodePodSandboxIdRequest(id), this.timeoutMs);
  }

  async podSandboxStatus(id: string, verbose = false): Promise<PodSandboxStatusResponse> {
    const reply = await this.grpc.unary(RuntimeMethod.PodSandboxStatus, encodePodSandboxStatusRequest(id, verbose), this.timeoutMs);
    return decodePodSandboxStatusResponse(reply);
  }

  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    const reply = await this.grpc.unary(RuntimeMethod.ListPodSandbox, encodeListPodSandboxRequest(filter), this.timeoutMs);
    return decodeListPodSandboxResponse(reply);
  }

  close(): void {
    this.grpc.close();
  }
}
