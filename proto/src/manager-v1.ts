// agenstra.manager.v1: messages, grpc-js service definitions and clients of the manager.
export * from '../gen/node/agenstra/manager/v1/agents';
export * from '../gen/node/agenstra/manager/v1/chat';
export * from '../gen/node/agenstra/manager/v1/files';
export * from '../gen/node/agenstra/manager/v1/vcs';
export * from '../gen/node/agenstra/manager/v1/manager';
