// The JSON-lines protocol between the manager and the agent runner inside each container.
// deploy/agent-image/runner/PROTOCOL.md is its specification; keep the two in step.

export const RUNNER_PROTOCOL_VERSION = 1;

export type RunnerInput =
  | { type: 'hello'; protocol: number }
  | { type: 'message'; id: string; text: string; author?: string }
  | { type: 'cancel'; id: string }
  | { type: 'ack'; id: string };

interface TurnLine {
  /** Correlation id: the id of the user message that started the turn. */
  id: string;
  /** Per-turn emission order, 1, 2, 3, ...; (id, seq) identifies a line across re-sends. */
  seq: number;
}

export type RunnerErrorCode =
  'cancelled' | 'cli_missing' | 'missing_api_key' | 'cli_failed' | 'timeout' | 'bad_input';

export type RunnerOutput =
  | { type: 'ready'; protocol: number; agentType: string; version: string }
  | (TurnLine & { type: 'delta' | 'thinking' | 'question' | 'status' | 'message'; text: string })
  | (TurnLine & { type: 'tool_call'; callId: string; tool: string; input: unknown })
  | (TurnLine & { type: 'tool_result'; callId: string; output: string; isError: boolean })
  | (Partial<TurnLine> & { type: 'error'; code: RunnerErrorCode; message: string })
  | (TurnLine & { type: 'done' });

/**
 * The manager's side of every attached runner. The runtime keeps one attachment per running
 * agent (re-attaching after container or manager restarts and sending `hello` each time);
 * capabilities such as chat talk to runners only through this.
 */
export interface RunnerHub {
  /**
   * Writes one line to the agent runner's stdin. Rejects with a FailedPreconditionError when the
   * agent has no running, attached container.
   */
  send(agentId: string, input: RunnerInput): Promise<void>;
  /** Every line any runner writes from now on; returns the function that unsubscribes. */
  subscribe(listener: (agentId: string, output: RunnerOutput) => void): () => void;
}
