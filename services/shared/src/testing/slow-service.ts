import { makeGenericClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';

const raw = (buffer: Buffer) => buffer;

/** A proto-less service (raw bytes in and out) for exercising the server plumbing in tests. */
export const slowServiceDefinition = {
  wait: {
    path: '/agenstra.test.Slow/Wait',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
} satisfies ServiceDefinition;

export const SlowClient = makeGenericClientConstructor(slowServiceDefinition, 'Slow');
