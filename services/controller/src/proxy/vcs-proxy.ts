import { controllerV1, managerV1 } from '@agenstra/proto';
import type { ManagerProxy } from './manager-proxy.js';
import { byAgent, unchanged } from './routes.js';

const manager = managerV1.VcsServiceService;

/**
 * controller.v1.VcsService: each method forwards to the manager's with the agent renamed;
 * responses hold no resource names, so they pass through as they are.
 */
export function vcsProxyService(proxy: ManagerProxy): controllerV1.VcsServiceServer {
  return {
    getStatus: proxy.unary(manager.getStatus, byAgent<controllerV1.GetStatusRequest>, unchanged),
    getDiff: proxy.unary(manager.getDiff, byAgent<controllerV1.GetDiffRequest>, unchanged),
    listCommits: proxy.unary(
      manager.listCommits,
      byAgent<controllerV1.ListCommitsRequest>,
      unchanged,
    ),
    listBranches: proxy.unary(
      manager.listBranches,
      byAgent<controllerV1.ListBranchesRequest>,
      unchanged,
    ),
    createBranch: proxy.unary(
      manager.createBranch,
      byAgent<controllerV1.CreateBranchRequest>,
      unchanged,
    ),
    switchBranch: proxy.unary(
      manager.switchBranch,
      byAgent<controllerV1.SwitchBranchRequest>,
      unchanged,
    ),
    deleteBranch: proxy.unary(
      manager.deleteBranch,
      byAgent<controllerV1.DeleteBranchRequest>,
      unchanged,
    ),
    stageFiles: proxy.unary(manager.stageFiles, byAgent<controllerV1.StageFilesRequest>, unchanged),
    unstageFiles: proxy.unary(
      manager.unstageFiles,
      byAgent<controllerV1.UnstageFilesRequest>,
      unchanged,
    ),
    commit: proxy.unary(manager.commit, byAgent<controllerV1.CommitRequest>, unchanged),
    push: proxy.unary(manager.push, byAgent<controllerV1.PushRequest>, unchanged),
    pull: proxy.unary(manager.pull, byAgent<controllerV1.PullRequest>, unchanged),
    fetch: proxy.unary(manager.fetch, byAgent<controllerV1.FetchRequest>, unchanged),
    rebase: proxy.unary(manager.rebase, byAgent<controllerV1.RebaseRequest>, unchanged),
    continueRebase: proxy.unary(
      manager.continueRebase,
      byAgent<controllerV1.ContinueRebaseRequest>,
      unchanged,
    ),
    abortRebase: proxy.unary(
      manager.abortRebase,
      byAgent<controllerV1.AbortRebaseRequest>,
      unchanged,
    ),
    listConflicts: proxy.unary(
      manager.listConflicts,
      byAgent<controllerV1.ListConflictsRequest>,
      unchanged,
    ),
    resolveConflict: proxy.unary(
      manager.resolveConflict,
      byAgent<controllerV1.ResolveConflictRequest>,
      unchanged,
    ),
  };
}
