// Claude Code: `claude -p --output-format stream-json --verbose --include-partial-messages`,
// the prompt on stdin, the session resumed with --resume between turns.
const { createCliAgent, outputText } = require('./cli');

const adapter = {
  agentType: 'claude-code',
  displayName: 'Claude Code',
  command: 'claude',
  apiKeyNames: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN'],

  buildInvocation({ text, model, sessionId, env }) {
    const args = [
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--include-partial-messages',
    ];
    // Nobody can answer a permission prompt in a headless turn; the container is the sandbox.
    args.push('--permission-mode', env.AGENSTRA_CLAUDE_PERMISSION_MODE || 'bypassPermissions');
    if (model) args.push('--model', model);
    if (sessionId) args.push('--resume', sessionId);
    return { args, stdinText: text };
  },

  createParser() {
    let streamedText = false;
    const texts = [];
    return {
      sessionId: undefined,
      failure: undefined,
      finalText: undefined,
      handle(event, emit) {
        if (typeof event.session_id === 'string') this.sessionId = event.session_id;
        switch (event.type) {
          case 'stream_event': {
            const delta =
              event.event && event.event.type === 'content_block_delta' ? event.event.delta : null;
            if (delta && delta.type === 'text_delta' && typeof delta.text === 'string') {
              streamedText = true;
              emit({ type: 'delta', text: delta.text });
            }
            return;
          }
          case 'assistant': {
            for (const block of contentOf(event)) {
              if (block.type === 'text' && typeof block.text === 'string') {
                if (!streamedText) emit({ type: 'delta', text: block.text });
                texts.push(block.text);
              } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
                emit({ type: 'thinking', text: block.thinking });
              } else if (block.type === 'tool_use') {
                emit({
                  type: 'tool_call',
                  callId: String(block.id),
                  tool: String(block.name),
                  input: block.input ?? {},
                });
              }
            }
            streamedText = false;
            return;
          }
          case 'user':
            for (const block of contentOf(event)) {
              if (block.type === 'tool_result') {
                emit({
                  type: 'tool_result',
                  callId: String(block.tool_use_id),
                  output: outputText(block.content),
                  isError: Boolean(block.is_error),
                });
              }
            }
            return;
          case 'result':
            if (event.is_error || (event.subtype && event.subtype !== 'success')) {
              this.failure = `Claude Code failed (${event.subtype || 'error'}): ${outputText(event.result) || 'no details'}`;
            } else if (typeof event.result === 'string') {
              this.finalText = event.result;
            }
            return;
          default:
        }
      },
      finish(emit) {
        emit({ type: 'message', text: this.finalText ?? texts.join('\n\n') });
      },
    };
  },
};

function contentOf(event) {
  const content = event.message && event.message.content;
  return Array.isArray(content)
    ? content.filter((block) => block && typeof block === 'object')
    : [];
}

module.exports = { adapter, createAgent: (options) => createCliAgent(adapter, options) };
