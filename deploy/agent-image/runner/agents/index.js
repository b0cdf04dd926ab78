// The agent types a runner can be configured with (AGENSTRA_AGENT_TYPE).
const { TurnError } = require('../protocol');

const AGENT_TYPES = {
  echo: () => require('./echo'),
  'claude-code': () => require('./claude-code'),
  codex: () => require('./codex'),
  opencode: () => require('./opencode'),
  cursor: () => require('./cursor'),
};

/**
 * An agent: { runTurn(turn, { emit, signal }) }. An unknown type still gives an agent, whose
 * every turn fails with a clear error, so a misconfigured container explains itself in the chat
 * instead of restarting in a loop.
 */
function createAgentOfType(agentType, options) {
  const load = Object.prototype.hasOwnProperty.call(AGENT_TYPES, agentType)
    ? AGENT_TYPES[agentType]
    : null;
  if (!load) {
    options.log(`unknown agent type ${JSON.stringify(agentType)}`);
    return {
      async runTurn() {
        throw new TurnError(
          'cli_missing',
          `unknown agent type ${JSON.stringify(agentType)} (known: ${Object.keys(AGENT_TYPES).join(', ')})`,
        );
      },
    };
  }
  return load().createAgent(options);
}

module.exports = { AGENT_TYPES, createAgentOfType };
