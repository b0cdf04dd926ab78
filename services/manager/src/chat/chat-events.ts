import { randomUUID } from 'node:crypto';
import { eventsV1 } from '@agenstra/proto';
import type { RunnerOutput } from '../runtime/runner-protocol.js';
import type { ChatAuthorRole, ChatMessage, ChatMessageKind } from './chat-message.entity.js';

/** Limits from events.proto. */
export const MAX_TEXT_BYTES = 1024 * 1024;
export const MAX_TOOL_DETAIL_BYTES = 256 * 1024;
export const MAX_QUESTION_OPTIONS = 20;

const { ChatEventKind, ChatRole } = eventsV1;

const KIND_TO_PROTO: Record<ChatMessageKind, eventsV1.ChatEventKind> = {
  user_message: ChatEventKind.CHAT_EVENT_KIND_USER_MESSAGE,
  thinking: ChatEventKind.CHAT_EVENT_KIND_THINKING,
  assistant_message: ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE,
  tool_call: ChatEventKind.CHAT_EVENT_KIND_TOOL_CALL,
  tool_result: ChatEventKind.CHAT_EVENT_KIND_TOOL_RESULT,
  question: ChatEventKind.CHAT_EVENT_KIND_QUESTION,
  status: ChatEventKind.CHAT_EVENT_KIND_STATUS,
  error: ChatEventKind.CHAT_EVENT_KIND_ERROR,
};

const ROLE_TO_PROTO: Record<ChatAuthorRole, eventsV1.ChatRole> = {
  user: ChatRole.CHAT_ROLE_USER,
  agent: ChatRole.CHAT_ROLE_AGENT,
  system: ChatRole.CHAT_ROLE_SYSTEM,
};

/** Runner error codes as the ChatError reasons events.proto documents. */
const ERROR_REASONS: Record<string, string> = {
  cancelled: 'CANCELLED',
  cli_missing: 'AGENT_CLI_MISSING',
  missing_api_key: 'MISSING_API_KEY',
  cli_failed: 'AGENT_CLI_FAILED',
  timeout: 'TIMEOUT',
  bad_input: 'BAD_INPUT',
};

/** The fields of a chat row that come from one runner output line. */
export interface AgentOutputDraft {
  kind: ChatMessageKind;
  authorRole: ChatAuthorRole;
  text: string;
  payload: Record<string, unknown> | null;
}

/** A persisted row as the ChatEvent it is on the wire and in WatchAgent. */
export function chatEventOf(message: ChatMessage): eventsV1.ChatEvent {
  return {
    agentId: message.agentId,
    sequence: String(message.sequence),
    id: message.id,
    correlationId: message.correlationId,
    clientMessageId: message.clientMessageId ?? '',
    createTime: message.createTime.toISOString(),
    kind: KIND_TO_PROTO[message.kind],
    author: {
      role: ROLE_TO_PROTO[message.authorRole],
      subject: message.authorSubject,
      displayName: message.authorDisplayName,
    },
    text: message.text,
    deltaIndex: 0,
    detail: detailOf(message),
  };
}

function detailOf(message: ChatMessage): eventsV1.ChatEvent['detail'] {
  const payload = message.payload ?? {};
  switch (message.kind) {
    case 'tool_call':
      return {
        $case: 'toolCall',
        value: {
          callId: String(payload.callId ?? ''),
          toolName: String(payload.tool ?? ''),
          argumentsJson: String(payload.argumentsJson ?? ''),
        },
      };
    case 'tool_result':
      return {
        $case: 'toolResult',
        value: {
          callId: String(payload.callId ?? ''),
          output: String(payload.output ?? ''),
          isError: payload.isError === true,
        },
      };
    case 'question':
      return {
        $case: 'question',
        value: { options: Array.isArray(payload.options) ? payload.options.map(String) : [] },
      };
    case 'error':
      return {
        $case: 'error',
        value: { reason: String(payload.reason ?? ''), message: message.text },
      };
    default:
      return undefined;
  }
}

/** The row to persist for a runner turn line, or undefined for lines that are not persisted. */
export function draftOfRunnerOutput(output: RunnerOutput): AgentOutputDraft | undefined {
  const agent = (kind: ChatMessageKind, text: string, payload: AgentOutputDraft['payload']) => ({
    kind,
    authorRole: 'agent' as const,
    text: truncateUtf8(text, MAX_TEXT_BYTES),
    payload,
  });
  switch (output.type) {
    case 'thinking':
      return agent('thinking', output.text, null);
    case 'message':
      return agent('assistant_message', output.text, null);
    case 'status':
      return agent('status', output.text, null);
    case 'question':
      return agent('question', output.text, { options: [] });
    case 'tool_call':
      return agent('tool_call', `${output.tool}`, {
        callId: output.callId,
        tool: output.tool,
        argumentsJson: truncateUtf8(JSON.stringify(output.input ?? null), MAX_TOOL_DETAIL_BYTES),
      });
    case 'tool_result':
      return agent('tool_result', '', {
        callId: output.callId,
        output: truncateUtf8(output.output, MAX_TOOL_DETAIL_BYTES),
        isError: output.isError,
      });
    case 'error':
      return {
        kind: 'error',
        authorRole: 'system',
        text: truncateUtf8(output.message, MAX_TEXT_BYTES),
        payload: { reason: ERROR_REASONS[output.code] ?? output.code.toUpperCase() },
      };
    default:
      return undefined;
  }
}

/** A streamed part of a reply: live only, sequence 0, ordered by `deltaIndex`. */
export function deltaEventOf(
  agentId: string,
  correlationId: string,
  deltaIndex: number,
  text: string,
): eventsV1.ChatEvent {
  return {
    agentId,
    sequence: '0',
    id: randomUUID(),
    correlationId,
    clientMessageId: '',
    createTime: new Date().toISOString(),
    kind: ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_DELTA,
    author: { role: ChatRole.CHAT_ROLE_AGENT, subject: agentId, displayName: '' },
    text: truncateUtf8(text, MAX_TEXT_BYTES),
    deltaIndex,
    detail: undefined,
  };
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8').subarray(0, maxBytes);
  // A cut inside a multi-byte character decodes to U+FFFD at the end; drop it.
  return bytes.toString('utf8').replace(/\uFFFD$/, '');
}
