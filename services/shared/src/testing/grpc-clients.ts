import path from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

const REFLECTION_PROTO = path.join(
  path.dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1/reflection.proto',
);

function clientFor(protoFile: string, serviceName: string, address: string): Client {
  const loaded = loadPackageDefinition(loadSync(protoFile, { keepCase: true, enums: String }));
  const Constructor = serviceName
    .split('.')
    .reduce<unknown>(
      (node, part) => (node as GrpcObject)[part],
      loaded,
    ) as ServiceClientConstructor;
  return new Constructor(address, credentials.createInsecure());
}

/** Calls grpc.health.v1.Health/Check and returns the status, e.g. `SERVING`. */
export function checkHealth(address: string, service = ''): Promise<string> {
  const client = clientFor(healthProtoPath, 'grpc.health.v1.Health', address) as Client & {
    check: (
      request: { service: string },
      callback: (error: Error | null, response?: { status: string }) => void,
    ) => void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service }, (error, response) => {
      client.close();
      if (error) reject(error);
      else resolve(response?.status ?? '');
    }),
  );
}

/** Lists the fully qualified service names the server exposes through reflection (v1). */
export function listServices(address: string): Promise<string[]> {
  const client = clientFor(
    REFLECTION_PROTO,
    'grpc.reflection.v1.ServerReflection',
    address,
  ) as Client & {
    ServerReflectionInfo: () => NodeJS.ReadWriteStream & {
      write: (request: object) => boolean;
      end: () => void;
    };
  };
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on('data', (response: { list_services_response?: { service: { name: string }[] } }) => {
      resolve((response.list_services_response?.service ?? []).map((service) => service.name));
      call.end();
    });
    call.on('error', reject);
    call.on('end', () => client.close());
    call.write({ list_services: '*' });
  });
}
