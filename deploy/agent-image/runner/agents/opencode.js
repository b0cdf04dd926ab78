// OpenCode: `opencode run --format json`, the session continued with --session between turns.
const { createCliAgent, outputText } = require('./cli');

const adapter = {
  agentType: 'opencode',
  displayName: 'OpenCode',
  command: 'opencode',
  // OpenCode talks to many providers; any one of their keys is enough.
  apiKeyNames: [
    'ANTHROPIC_API_KEY',
    'OPENAI_API_KEY',
    'OPENROUTER_API_KEY',
    'GEMINI_API_KEY',
    'GOOGLE_GENERATIVE_AI_API_KEY',
    'GROQ_API_KEY',
    'OPENCODE_API_KEY',
  ],

  buildInvocation({ text, model, sessionId }) {
    const args = ['run', '--format', 'json'];
    if (model) args.push('--model', model);
    if (sessionId) args.push('--session', sessionId);
    // "--" so a prompt that starts with "-" is not read as a flag.
    args.push('--', text);
    return { args };
  },

  createParser() {
    const texts = [];
    return {
      sessionId: undefined,
      failure: undefined,
      handle(event, emit) {
        if (typeof event.sessionID === 'string') this.sessionId = event.sessionID;
        const part = event.part && typeof event.part === 'object' ? event.part : {};
        switch (event.type) {
          case 'text':
            if (typeof part.text === 'string') {
              emit({ type: 'delta', text: part.text });
              texts.push(part.text);
            }
            return;
          case 'reasoning':
            if (typeof part.text === 'string') emit({ type: 'thinking', text: part.text });
            return;
          case 'tool_use': {
            const state = part.state || {};
            const callId = String(part.callID ?? part.id);
            emit({ type: 'tool_call', callId, tool: String(part.tool), input: state.input ?? {} });
            if (state.status === 'completed' || state.status === 'error') {
              const isError = state.status === 'error';
              emit({
                type: 'tool_result',
                callId,
                output: outputText(isError ? state.error : state.output),
                isError,
              });
            }
            return;
          }
          case 'error': {
            const error = event.error || {};
            const message =
              (error.data && error.data.message) || error.message || error.name || 'no details';
            this.failure = `OpenCode failed: ${message}`;
            return;
          }
          default:
        }
      },
      finish(emit) {
        emit({ type: 'message', text: texts.join('') });
      },
    };
  },
};

module.exports = { adapter, createAgent: (options) => createCliAgent(adapter, options) };
