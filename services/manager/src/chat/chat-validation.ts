import { InvalidArgumentError } from '@agenstra/shared';
import { MAX_TEXT_BYTES, utf8Length } from './chat-events.js';
import type { UserMessageInput } from './chat-relay.js';

const AGENT_NAME = /^agents\/([^/]+)$/;
const MAX_CLIENT_MESSAGE_ID_CHARS = 128;
const MAX_AUTHOR_CHARS = 255;

/** The {agent} of `agents/{agent}`; INVALID_ARGUMENT for anything else. */
export function agentIdOf(name: string): string {
  const match = AGENT_NAME.exec(name);
  if (!match) throw new InvalidArgumentError(`agent must be "agents/{agent}", got "${name}"`);
  return match[1];
}

/** Checks a user message against the limits in chat.proto and events.proto. */
export function validUserMessage(input: UserMessageInput): UserMessageInput {
  const idLength = [...input.clientMessageId].length;
  if (idLength < 1 || idLength > MAX_CLIENT_MESSAGE_ID_CHARS) {
    throw new InvalidArgumentError(
      `client_message_id must be 1 to ${MAX_CLIENT_MESSAGE_ID_CHARS} characters`,
    );
  }
  const textBytes = utf8Length(input.text);
  if (textBytes < 1 || textBytes > MAX_TEXT_BYTES) {
    throw new InvalidArgumentError(`text must be 1 byte to 1 MiB of UTF-8, got ${textBytes} bytes`);
  }
  for (const [field, value] of [
    ['author_subject', input.authorSubject],
    ['author_display_name', input.authorDisplayName],
  ] as const) {
    if ([...value].length > MAX_AUTHOR_CHARS) {
      throw new InvalidArgumentError(`${field} must be at most ${MAX_AUTHOR_CHARS} characters`);
    }
  }
  return input;
}

/** `after_sequence` and similar uint64 fields, which arrive as decimal strings. */
export function sequenceOf(field: string, value: string): number {
  const sequence = Number(value || '0');
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new InvalidArgumentError(`${field} must be a sequence number, got "${value}"`);
  }
  return sequence;
}
