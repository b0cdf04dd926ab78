export { Agent, type DesiredAgentState, type RepositoryCredentialsKind } from './agent.entity.js';
export { generateAgentPassword, hashAgentPassword, verifyAgentPassword } from './agent-password.js';
