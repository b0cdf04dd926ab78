export * from './config/config.js';
export * from './logging/logger.js';
export * from './grpc/errors.js';
export * from './grpc/server.js';
export * from './lifecycle/shutdown.js';
export * from './database/database.js';
export * from './nats/nats.js';
