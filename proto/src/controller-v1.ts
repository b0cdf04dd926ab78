// agenstra.controller.v1: messages, grpc-js service definitions and clients of the controller.
export * from '../gen/node/agenstra/controller/v1/agents';
export * from '../gen/node/agenstra/controller/v1/clients';
export * from '../gen/node/agenstra/controller/v1/files';
export * from '../gen/node/agenstra/controller/v1/provisioning';
export * from '../gen/node/agenstra/controller/v1/sessions';
export * from '../gen/node/agenstra/controller/v1/vcs';
export * from '../gen/node/agenstra/controller/v1/tokens';
