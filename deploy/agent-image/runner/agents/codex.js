// Codex: `codex exec --json`, the prompt on stdin ("-"), the thread resumed with
// `codex exec resume <thread id>` between turns.
const { createCliAgent, outputText } = require('./cli');

const adapter = {
  agentType: 'codex',
  displayName: 'Codex',
  command: 'codex',
  apiKeyNames: ['CODEX_API_KEY', 'OPENAI_API_KEY'],

  buildInvocation({ text, model, sessionId, env }) {
    // Codex's own sandbox needs namespaces an unprivileged container does not grant; the
    // container (no capabilities, non-root, only /workspace) is the sandbox.
    const args = [
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
    ];
    if (model) args.push('--model', model);
    if (sessionId) args.push('resume', sessionId);
    args.push('-');
    // `codex exec` reads CODEX_API_KEY; an OPENAI_API_KEY alone is handed over under that name.
    const extraEnv =
      !env.CODEX_API_KEY && env.OPENAI_API_KEY ? { CODEX_API_KEY: env.OPENAI_API_KEY } : {};
    return { args, stdinText: text, env: extraEnv };
  },

  createParser() {
    const announced = new Set();
    let lastAgentMessage;
    const announce = (emit, item, tool, input) => {
      if (announced.has(item.id)) return;
      announced.add(item.id);
      emit({ type: 'tool_call', callId: String(item.id), tool, input });
    };
    return {
      sessionId: undefined,
      failure: undefined,
      handle(event, emit) {
        if (event.type === 'thread.started' && typeof event.thread_id === 'string') {
          this.sessionId = event.thread_id;
          return;
        }
        if (event.type === 'turn.failed') {
          this.failure = `Codex failed: ${(event.error && event.error.message) || 'no details'}`;
          return;
        }
        if (event.type === 'error') {
          this.failure = `Codex failed: ${event.message || 'no details'}`;
          return;
        }
        if (!event.type || !event.type.startsWith('item.') || !event.item) return;
        const item = event.item;
        const completed = event.type === 'item.completed';
        const kind = item.type || item.item_type;
        switch (kind) {
          case 'agent_message':
            if (completed && typeof item.text === 'string') {
              emit({ type: 'delta', text: item.text });
              lastAgentMessage = item.text;
            }
            return;
          case 'reasoning':
            if (completed && typeof item.text === 'string')
              emit({ type: 'thinking', text: item.text });
            return;
          case 'command_execution':
            announce(emit, item, 'shell', { command: item.command });
            if (completed) {
              emit({
                type: 'tool_result',
                callId: String(item.id),
                output: outputText(item.aggregated_output),
                isError:
                  item.status === 'failed' ||
                  (typeof item.exit_code === 'number' && item.exit_code !== 0),
              });
            }
            return;
          case 'file_change':
            if (completed) {
              announce(emit, item, 'file_change', { changes: item.changes ?? [] });
              const summary = (item.changes || [])
                .map((change) => `${change.kind} ${change.path}`)
                .join('\n');
              emit({
                type: 'tool_result',
                callId: String(item.id),
                output: summary,
                isError: item.status === 'failed',
              });
            }
            return;
          case 'mcp_tool_call':
            announce(emit, item, `${item.server}.${item.tool}`, item.arguments ?? {});
            if (completed) {
              const failed = item.status === 'failed';
              emit({
                type: 'tool_result',
                callId: String(item.id),
                output: failed
                  ? outputText(item.error && item.error.message)
                  : outputText(item.result),
                isError: failed,
              });
            }
            return;
          case 'web_search':
            announce(emit, item, 'web_search', { query: item.query });
            if (completed)
              emit({ type: 'tool_result', callId: String(item.id), output: '', isError: false });
            return;
          case 'todo_list':
            if (Array.isArray(item.items)) {
              const plan = item.items
                .map((entry) => `${entry.completed ? '[x]' : '[ ]'} ${entry.text}`)
                .join('\n');
              emit({ type: 'status', text: plan });
            }
            return;
          case 'error':
            if (typeof item.message === 'string') emit({ type: 'status', text: item.message });
            return;
          default:
        }
      },
      finish(emit) {
        emit({ type: 'message', text: lastAgentMessage ?? '' });
      },
    };
  },
};

module.exports = { adapter, createAgent: (options) => createCliAgent(adapter, options) };
