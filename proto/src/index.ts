// The public surface of @agenstra/proto: one namespace per protobuf package, plus where the
// .proto files are (for gRPC server reflection). 64-bit integers and Timestamps are strings,
// oneofs are `{ $case, value }` unions: see ../buf.gen.yaml.
export * as controllerV1 from './controller-v1';
export * as eventsV1 from './events-v1';
export * as managerV1 from './manager-v1';
export { PROTO_PACKAGES, PROTO_ROOT, protoFilesOf, type ProtoPackage } from './proto-files';
