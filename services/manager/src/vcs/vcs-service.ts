import { managerV1 } from '@agenstra/proto';
import { unary } from '@agenstra/shared';
import type { Logger } from 'pino';
import { agentIdOf } from '../files/file-service.js';
import type { Vcs } from './vcs.js';

/** VcsService over gRPC: thin handlers that validate the agent name and call Vcs. */
export function createVcsService(vcs: Vcs, logger: Logger): managerV1.VcsServiceServer {
  return {
    getStatus: unary(
      async (request: managerV1.GetStatusRequest) => ({
        status: await vcs.getStatus(agentIdOf(request.agent)),
      }),
      logger,
    ),

    getDiff: unary(
      async (request: managerV1.GetDiffRequest) => ({
        files: await vcs.getDiff(agentIdOf(request.agent), request),
      }),
      logger,
    ),

    listCommits: unary(
      (request: managerV1.ListCommitsRequest) => vcs.listCommits(agentIdOf(request.agent), request),
      logger,
    ),

    listBranches: unary(
      (request: managerV1.ListBranchesRequest) =>
        vcs.listBranches(agentIdOf(request.agent), request.includeRemote),
      logger,
    ),

    createBranch: unary(
      async (request: managerV1.CreateBranchRequest) => ({
        branch: await vcs.createBranch(agentIdOf(request.agent), request),
      }),
      logger,
    ),

    switchBranch: unary(
      async (request: managerV1.SwitchBranchRequest) => ({
        status: await vcs.switchBranch(agentIdOf(request.agent), request.branchName),
      }),
      logger,
    ),

    deleteBranch: unary(async (request: managerV1.DeleteBranchRequest) => {
      await vcs.deleteBranch(agentIdOf(request.agent), request.branchName, request.force);
      return {};
    }, logger),

    stageFiles: unary(
      async (request: managerV1.StageFilesRequest) => ({
        status: await vcs.stage(agentIdOf(request.agent), request.paths, request.all),
      }),
      logger,
    ),

    unstageFiles: unary(
      async (request: managerV1.UnstageFilesRequest) => ({
        status: await vcs.unstage(agentIdOf(request.agent), request.paths, request.all),
      }),
      logger,
    ),

    commit: unary(
      async (request: managerV1.CommitRequest) => ({
        commit: await vcs.commit(agentIdOf(request.agent), {
          message: request.message,
          author: { name: request.authorName, email: request.authorEmail },
          amend: request.amend,
          allowEmpty: request.allowEmpty,
        }),
      }),
      logger,
    ),

    push: unary(
      (request: managerV1.PushRequest) => vcs.push(agentIdOf(request.agent), request),
      logger,
    ),

    pull: unary(
      async (request: managerV1.PullRequest) => ({
        status: await vcs.pull(agentIdOf(request.agent), request),
      }),
      logger,
    ),

    fetch: unary(
      async (request: managerV1.FetchRequest) => ({
        status: await vcs.fetch(agentIdOf(request.agent), request),
      }),
      logger,
    ),

    rebase: unary(
      async (request: managerV1.RebaseRequest) => ({
        status: await vcs.rebase(agentIdOf(request.agent), request.onto),
      }),
      logger,
    ),

    continueRebase: unary(
      async (request: managerV1.ContinueRebaseRequest) => ({
        status: await vcs.continueRebase(agentIdOf(request.agent)),
      }),
      logger,
    ),

    abortRebase: unary(
      async (request: managerV1.AbortRebaseRequest) => ({
        status: await vcs.abortRebase(agentIdOf(request.agent)),
      }),
      logger,
    ),

    listConflicts: unary(
      (request: managerV1.ListConflictsRequest) =>
        vcs.listConflicts(agentIdOf(request.agent), request.includeContent),
      logger,
    ),

    resolveConflict: unary(
      async (request: managerV1.ResolveConflictRequest) => ({
        status: await vcs.resolveConflict(agentIdOf(request.agent), request),
      }),
      logger,
    ),
  };
}
