import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ChannelOptions,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { Logger } from 'pino';

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const HEALTH_PROTO_DIR = path.resolve(healthProtoPath, '../../..');
const HEALTH_PROTO_FILE = path.relative(HEALTH_PROTO_DIR, healthProtoPath);

export interface GrpcServerOptions {
  host: string;
  /** 0 binds a free port; `start()` reports the one chosen. */
  port: number;
  logger: Logger;
  /** The service's .proto files, served by reflection; relative to an include dir or absolute under one. */
  protoFiles?: string[];
  /** Roots that the proto files and their imports are resolved against. */
  includeDirs?: string[];
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes?: number;
  channelOptions?: ChannelOptions;
}

export interface ListeningAddress {
  /** `host:port` as bound, e.g. `0.0.0.0:50052`. */
  address: string;
  port: number;
}

/**
 * A grpc-js server with health checking, reflection and in-flight call tracking, so that a
 * service only adds its own implementations and calls `start()` / `drain()`.
 */
export class GrpcServer {
  readonly server: Server;
  readonly health = new HealthImplementation({ '': 'NOT_SERVING' });
  /** Fully qualified names of the services described by the proto files, e.g. `agenstra.manager.v1.AgentService`. */
  readonly protoServiceNames: string[];
  private readonly healthNames = new Set<string>(['']);
  private readonly drainListeners: Array<() => void> = [];
  private inFlight = 0;
  private draining = false;

  constructor(private readonly options: GrpcServerOptions) {
    const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.server = new Server({
      'grpc.max_receive_message_length': maxBytes,
      'grpc.max_send_message_length': maxBytes,
      ...options.channelOptions,
      interceptors: [this.trackInFlight],
    });
    this.health.addToServer(this.server);

    const protoFiles = options.protoFiles ?? [];
    const includeDirs = options.includeDirs ?? [];
    const definition = loadProtoFiles(protoFiles, includeDirs);
    // Imports pull in other packages' services (the controller imports manager messages);
    // only the services declared in the given files' own packages are this server's.
    const ownPackages = new Set(protoFiles.map((file) => packageOf(file, includeDirs)));
    this.protoServiceNames = serviceNamesOf(definition).filter((name) =>
      ownPackages.has(name.slice(0, name.lastIndexOf('.'))),
    );
    new ReflectionService(definition, {
      services: [...this.protoServiceNames, 'grpc.health.v1.Health'],
    }).addToServer(this.server);
    for (const name of this.protoServiceNames) this.healthNames.add(name);
    this.healthNames.add('grpc.health.v1.Health');
  }

  get inFlightCalls(): number {
    return this.inFlight;
  }

  addService<I extends UntypedServiceImplementation>(
    definition: ServiceDefinition<I>,
    implementation: I,
  ): void {
    this.server.addService(definition, implementation);
    const firstMethod = Object.values(definition)[0];
    if (firstMethod) this.healthNames.add(firstMethod.path.split('/')[1]);
  }

  /** Registers work to do when draining starts, e.g. ending long-lived streams so callers reconnect elsewhere. */
  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  async start(): Promise<ListeningAddress> {
    const { host } = this.options;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(
        `${hostPart}:${this.options.port}`,
        ServerCredentials.createInsecure(),
        (error, boundPort) => (error ? reject(error) : resolve(boundPort)),
      ),
    );
    this.setHealth('SERVING');
    return { address: `${hostPart}:${port}`, port };
  }

  /**
   * Stops accepting calls and waits for in-flight ones to finish; after `graceMs` the rest are
   * cancelled. Resolves with `forced: true` when that happened.
   */
  async drain(graceMs: number): Promise<{ forced: boolean }> {
    if (this.draining) throw new Error('the gRPC server is already draining');
    this.draining = true;
    this.setHealth('NOT_SERVING');
    this.options.logger.info({ inFlightCalls: this.inFlight, graceMs }, 'draining gRPC calls');
    for (const listener of this.drainListeners) listener();
    return new Promise((resolve) => {
      const deadline = setTimeout(() => {
        this.options.logger.warn(
          { inFlightCalls: this.inFlight },
          'grace period over, cancelling remaining gRPC calls',
        );
        this.server.forceShutdown();
        resolve({ forced: true });
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(deadline);
        resolve({ forced: false });
      });
    });
  }

  private setHealth(status: 'SERVING' | 'NOT_SERVING'): void {
    for (const name of this.healthNames) this.health.setStatus(name, status);
  }

  private readonly trackInFlight: ServerInterceptor = (_method, call) => {
    this.inFlight++;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.inFlight--;
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: finish }),
      sendStatus: (status, next) => {
        next(status);
        finish();
      },
    });
  };
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  return new GrpcServer(options);
}

function loadProtoFiles(protoFiles: string[], includeDirs: string[]): PackageDefinition {
  // Names relative to an include dir keep reflection's file names the same as the import paths.
  const relative = protoFiles.map((file) => {
    if (!path.isAbsolute(file)) return file;
    const root = includeDirs.find((dir) => !path.relative(dir, file).startsWith('..'));
    return root ? path.relative(root, file) : file;
  });
  return loadSync([...relative, HEALTH_PROTO_FILE], {
    includeDirs: [...includeDirs, HEALTH_PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

function packageOf(file: string, includeDirs: string[]): string {
  const candidates = path.isAbsolute(file)
    ? [file]
    : includeDirs.map((dir) => path.join(dir, file));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`proto file ${file} not found in ${includeDirs.join(', ')}`);
  const match = /^\s*package\s+([\w.]+)\s*;/m.exec(readFileSync(found, 'utf8'));
  if (!match) throw new Error(`proto file ${found} declares no package`);
  return match[1];
}

/** Service entries of a package definition are method maps; message and enum entries carry a `format`. */
function serviceNamesOf(definition: PackageDefinition): string[] {
  return Object.entries(definition)
    .filter(([, entry]) => !('format' in entry))
    .map(([name]) => name);
}
