// Cursor: `cursor-agent -p --output-format stream-json --stream-partial-output`, the chat
// resumed with --resume between turns.
const { createCliAgent, outputText } = require('./cli');

const adapter = {
  agentType: 'cursor',
  displayName: 'Cursor Agent',
  command: 'cursor-agent',
  apiKeyNames: ['CURSOR_API_KEY'],

  buildInvocation({ text, model, sessionId }) {
    // --force: commands run without asking, as nobody can answer in a headless turn.
    const args = ['-p', '--output-format', 'stream-json', '--stream-partial-output', '--force'];
    if (model) args.push('--model', model);
    if (sessionId) args.push('--resume', sessionId);
    // The prompt is positional; a leading space keeps a prompt like "-h" from being a flag.
    args.push(text.startsWith('-') ? ` ${text}` : text);
    return { args };
  },

  createParser() {
    const texts = [];
    let thinking = '';
    return {
      sessionId: undefined,
      failure: undefined,
      finalText: undefined,
      handle(event, emit) {
        if (typeof event.session_id === 'string') this.sessionId = event.session_id;
        switch (event.type) {
          case 'assistant': {
            const content =
              event.message && Array.isArray(event.message.content) ? event.message.content : [];
            for (const block of content) {
              if (block && block.type === 'text' && typeof block.text === 'string') {
                emit({ type: 'delta', text: block.text });
                texts.push(block.text);
              }
            }
            return;
          }
          case 'thinking':
            if (event.subtype === 'delta' && typeof event.text === 'string') thinking += event.text;
            if (event.subtype === 'completed' && thinking) {
              emit({ type: 'thinking', text: thinking });
              thinking = '';
            }
            return;
          case 'tool_call': {
            const [toolKey, call] = Object.entries(event.tool_call || {})[0] || ['unknown', {}];
            const tool = toolKey.replace(/ToolCall$/, '');
            const callId = String(event.call_id);
            if (event.subtype === 'started') {
              emit({ type: 'tool_call', callId, tool, input: (call && call.args) ?? {} });
            } else if (event.subtype === 'completed') {
              const result = (call && call.result) || {};
              const isError = Boolean(result.error || result.failure || result.rejected);
              emit({
                type: 'tool_result',
                callId,
                output: outputText(result.success ?? result.error ?? result),
                isError,
              });
            }
            return;
          }
          case 'result':
            if (event.is_error || (event.subtype && event.subtype !== 'success')) {
              this.failure = `Cursor Agent failed (${event.subtype || 'error'}): ${outputText(event.result) || 'no details'}`;
            } else if (typeof event.result === 'string') {
              this.finalText = event.result;
            }
            return;
          default:
        }
      },
      finish(emit) {
        emit({ type: 'message', text: this.finalText ?? texts.join('') });
      },
    };
  },
};

module.exports = { adapter, createAgent: (options) => createCliAgent(adapter, options) };
