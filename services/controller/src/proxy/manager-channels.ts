import { Client as GrpcClient, connectivityState } from '@grpc/grpc-js';
import { channelOf, type ManagerConnection } from '../clients/manager-contact.js';

/** What identifies one usable connection to a client's manager. */
export interface ManagerChannelKey {
  clientId: string;
  endpoint: string;
  /** Changes whenever the client's connection or credential may have changed (its update time). */
  credentialsVersion: string;
}

interface PooledChannel {
  key: string;
  grpc: GrpcClient;
  /** Opaque per-channel state the proxy keeps beside it (the opened credential). */
  attachment: unknown;
  lastUse: number;
}

// A manager that comes back is picked up within this, instead of grpc-js's two-minute backoff cap.
const MAX_RECONNECT_BACKOFF_MS = 5_000;
const IDLE_CLOSE_MS = 10 * 60_000;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * One grpc-js channel per client's manager, reused by every proxied call. A client whose
 * endpoint or credential changed gets a new channel and its old one is closed; channels idle
 * for ten minutes (e.g. of a deleted client) are closed by a sweep.
 */
export class ManagerChannels {
  private readonly byClient = new Map<string, PooledChannel>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.closeIdle(Date.now() - IDLE_CLOSE_MS), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * The channel for this key, with what `open` attached to it when it was made. `open` runs
   * only when there is no channel for the key yet.
   */
  async channelFor<A>(
    key: ManagerChannelKey,
    connection: ManagerConnection,
    open: () => Promise<A>,
  ): Promise<{ grpc: GrpcClient; attachment: A }> {
    const keyText = `${key.endpoint}\n${key.credentialsVersion}`;
    const pooled = this.byClient.get(key.clientId);
    if (pooled?.key === keyText) {
      pooled.lastUse = Date.now();
      return { grpc: pooled.grpc, attachment: pooled.attachment as A };
    }
    const attachment = await open();
    const { channelCredentials, options } = channelOf(connection);
    const grpc = new GrpcClient(connection.endpoint, channelCredentials, {
      ...options,
      'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
    });
    const raced = this.byClient.get(key.clientId);
    if (raced?.key === keyText) {
      // Another call opened the same channel meanwhile: keep one.
      grpc.close();
      return { grpc: raced.grpc, attachment: raced.attachment as A };
    }
    raced?.grpc.close();
    this.byClient.set(key.clientId, { key: keyText, grpc, attachment, lastUse: Date.now() });
    return { grpc, attachment };
  }

  /** Closes the channel of a client (after it was changed or deleted). */
  forget(clientId: string): void {
    this.byClient.get(clientId)?.grpc.close();
    this.byClient.delete(clientId);
  }

  /** Number of open channels. */
  get size(): number {
    return this.byClient.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const clientId of [...this.byClient.keys()]) this.forget(clientId);
  }

  private closeIdle(before: number): void {
    for (const [clientId, pooled] of this.byClient) {
      if (pooled.lastUse < before) this.forget(clientId);
    }
  }
}

/** True when the channel has no working connection: a failure on it is the transport's. */
export function isDisconnected(grpc: GrpcClient): boolean {
  return grpc.getChannel().getConnectivityState(false) !== connectivityState.READY;
}
