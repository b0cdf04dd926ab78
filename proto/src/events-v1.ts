// agenstra.events.v1: the events published on NATS and carried by the chat and session streams.
export * from '../gen/node/agenstra/events/v1/events';
