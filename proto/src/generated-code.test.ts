import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { expect } from 'chai';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import {
  controllerV1,
  eventsV1,
  managerV1,
  PROTO_PACKAGES,
  PROTO_ROOT,
  protoFilesOf,
} from './index';

// The generated code is checked against an independent reading of the same .proto files:
// @grpc/proto-loader for the services (what the servers use for reflection) and protobufjs
// for the messages' wire format.

const generatedNamespaces: Record<string, Record<string, unknown>> = {
  'agenstra.events.v1': eventsV1,
  'agenstra.manager.v1': managerV1,
  'agenstra.controller.v1': controllerV1,
};

interface MethodShape {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

interface GeneratedCodec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

const allProtoFiles = PROTO_PACKAGES.flatMap((protoPackage) => protoFilesOf(protoPackage));

function methodsFromProtoLoader(): MethodShape[] {
  const definition = loadSync(allProtoFiles, { includeDirs: [PROTO_ROOT] });
  return Object.entries(definition)
    .filter(([name, entry]) => name.startsWith('agenstra.') && !('format' in entry))
    .flatMap(([, service]) =>
      Object.values(service as Record<string, MethodDefinition<unknown, unknown>>).map(
        ({ path, requestStream, responseStream }) => ({ path, requestStream, responseStream }),
      ),
    );
}

function isGrpcJsServiceDefinition(value: unknown): value is Record<string, MethodShape> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).length > 0 &&
    Object.values(value).every(
      (method) => typeof method?.path === 'string' && method.path.startsWith('/agenstra.'),
    )
  );
}

function methodsFromGeneratedCode(): MethodShape[] {
  return Object.values(generatedNamespaces)
    .flatMap((namespace) => Object.values(namespace).filter(isGrpcJsServiceDefinition))
    .flatMap((service) =>
      Object.values(service).map(({ path, requestStream, responseStream }) => ({
        path,
        requestStream,
        responseStream,
      })),
    );
}

function loadProtobufjsRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target);
  root.loadSync(allProtoFiles, { keepCase: true });
  root.resolveAll();
  return root;
}

function messageTypesOf(namespace: protobuf.NamespaceBase): protobuf.Type[] {
  return namespace.nestedArray.flatMap((nested) => {
    if (nested instanceof protobuf.Type) return [nested, ...messageTypesOf(nested)];
    if (nested instanceof protobuf.Namespace) return messageTypesOf(nested);
    return [];
  });
}

function generatedCodecOf(type: protobuf.Type): GeneratedCodec | undefined {
  const fullName = type.fullName.slice(1);
  const protoPackage = PROTO_PACKAGES.find((candidate) => fullName.startsWith(`${candidate}.`));
  if (!protoPackage) return undefined;
  // ts-proto names nested messages Outer_Inner.
  const generatedName = fullName.slice(protoPackage.length + 1).replace(/\./g, '_');
  return generatedNamespaces[protoPackage][generatedName] as GeneratedCodec | undefined;
}

const LARGE_UNSIGNED = '18446744073709551615';
const LARGE_SIGNED = '-9007199254740993';

function scalarSample(field: protobuf.Field): unknown {
  switch (field.type) {
    case 'string':
      return `${field.name} ✓ ${field.id}`;
    case 'bool':
      return true;
    case 'bytes':
      return Buffer.from([0, 1, 0xfe, 0xff, field.id]);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return -7 - field.id;
    case 'uint32':
    case 'fixed32':
      return 4_000_000_000 + field.id;
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return LARGE_SIGNED;
    case 'uint64':
    case 'fixed64':
      return LARGE_UNSIGNED;
    case 'double':
    case 'float':
      return 1.5;
    default:
      throw new Error(`no sample for ${field.type} (${field.fullName})`);
  }
}

function valueSample(field: protobuf.Field, depth: number): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return Math.max(...Object.values(resolved.values));
  if (resolved instanceof protobuf.Type) {
    // Whole milliseconds: Timestamps are ISO strings in the generated code.
    if (resolved.fullName === '.google.protobuf.Timestamp') {
      return { seconds: String(1_700_000_000 + field.id), nanos: 123_000_000 };
    }
    return depth < 4 ? messageSample(resolved, 0, depth + 1) : {};
  }
  return scalarSample(field);
}

// Every field set to a value that differs from its default. A message with oneofs gets one
// variant per member, so that every member of every oneof is checked.
function messageSample(type: protobuf.Type, variant: number, depth = 0): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const oneof = field.partOf;
    if (oneof && oneof.fieldsArray[variant % oneof.fieldsArray.length] !== field) continue;
    const value = valueSample(field, depth);
    if (field.map) sample[field.name] = { KEY_A: value, KEY_B: value };
    else if (field.repeated) sample[field.name] = [value, value];
    else sample[field.name] = value;
  }
  return sample;
}

function variantsOf(type: protobuf.Type): number {
  return Math.max(1, ...type.oneofsArray.map((oneof) => oneof.fieldsArray.length));
}

function asPlainObject(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), { longs: String, enums: Number, bytes: String });
}

describe('generated code', () => {
  const root = loadProtobufjsRoot();
  const messageTypes = messageTypesOf(root.lookup('agenstra') as protobuf.Namespace).filter(
    (type) => !type.options?.map_entry,
  );

  it('has a grpc-js definition with the same path and streaming flags for every method in the protos', () => {
    const byPath = (a: MethodShape, b: MethodShape) => a.path.localeCompare(b.path);
    const expected = methodsFromProtoLoader().sort(byPath);
    expect(expected.length).to.be.greaterThan(50);
    expect(methodsFromGeneratedCode().sort(byPath)).to.deep.equal(expected);
  });

  it('has a codec for every message in the protos', () => {
    expect(messageTypes.length).to.be.greaterThan(100);
    const missing = messageTypes
      .filter((type) => typeof generatedCodecOf(type)?.decode !== 'function')
      .map((type) => type.fullName);
    expect(missing).to.deep.equal([]);
  });

  it('decodes and re-encodes every message, every field set, without losing or changing a field', () => {
    for (const type of messageTypes) {
      const codec = generatedCodecOf(type)!;
      for (let variant = 0; variant < variantsOf(type); variant++) {
        const sample = messageSample(type, variant);
        const referenceBytes = type.encode(type.fromObject(sample)).finish();
        const generatedBytes = codec.encode(codec.decode(referenceBytes)).finish();
        const reference = asPlainObject(type, referenceBytes);
        expect(Object.keys(reference), `${type.fullName} sample`).to.have.members(
          Object.keys(sample),
        );
        expect(
          asPlainObject(type, generatedBytes),
          `${type.fullName} variant ${variant}`,
        ).to.deep.equal(reference);
      }
    }
  });

  it('represents 64-bit integers and timestamps as strings and oneofs as $case unions', () => {
    const reference = root.lookupType('agenstra.events.v1.Event');
    const bytes = reference
      .encode(
        reference.fromObject({
          id: 'event-1',
          time: { seconds: '1700000000', nanos: 123_000_000 },
          chat: { sequence: LARGE_UNSIGNED, kind: 5, tool_call: { call_id: 'call-1' } },
        }),
      )
      .finish();
    const event = eventsV1.Event.decode(bytes);
    expect(event.time).to.equal('2023-11-14T22:13:20.123Z');
    expect(event.payload?.$case).to.equal('chat');
    const chat = event.payload?.$case === 'chat' ? event.payload.value : undefined;
    expect(chat?.sequence).to.equal(LARGE_UNSIGNED);
    expect(chat?.kind).to.equal(eventsV1.ChatEventKind.CHAT_EVENT_KIND_TOOL_CALL);
    expect(chat?.detail).to.deep.equal({
      $case: 'toolCall',
      value: { callId: 'call-1', toolName: '', argumentsJson: '' },
    });
  });

  describe('controller proxies', () => {
    const describeFields = (type: protobuf.Type, ignored: string[] = []) =>
      type.fieldsArray
        .filter((field) => !ignored.includes(field.name))
        .map(
          (field) =>
            `${field.id} ${field.name} ${field instanceof protobuf.MapField ? `map<${field.keyType}> ` : ''}` +
            `${field.repeated ? 'repeated ' : ''}${field.resolvedType?.fullName ?? field.type}`,
        );

    for (const serviceName of ['AgentService', 'FileService', 'VcsService']) {
      it(`mirror the manager's ${serviceName} request and response fields`, () => {
        const manager = root.lookupService(`agenstra.manager.v1.${serviceName}`);
        const controller = root.lookupService(`agenstra.controller.v1.${serviceName}`);
        expect(Object.keys(controller.methods)).to.deep.equal(Object.keys(manager.methods));
        for (const [name, method] of Object.entries(controller.methods)) {
          const managerMethod = manager.methods[name];
          expect(method.responseStream, name).to.equal(managerMethod.responseStream);
          // `parent` names the client for Create and List; the manager has only one parent.
          expect(describeFields(method.resolvedRequestType!, ['parent']), name).to.deep.equal(
            describeFields(managerMethod.resolvedRequestType!),
          );
          expect(describeFields(method.resolvedResponseType!), name).to.deep.equal(
            describeFields(managerMethod.resolvedResponseType!),
          );
        }
      });
    }
  });
});
