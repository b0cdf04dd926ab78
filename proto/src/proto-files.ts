import * as fs from 'node:fs';
import * as path from 'node:path';

/** Absolute path of the proto/ directory: the include root of every agenstra .proto file. */
export const PROTO_ROOT = path.resolve(__dirname, '..', '..');

/** The protobuf packages of the v1 contracts. */
export const PROTO_PACKAGES = [
  'agenstra.events.v1',
  'agenstra.manager.v1',
  'agenstra.controller.v1',
] as const;

export type ProtoPackage = (typeof PROTO_PACKAGES)[number];

/**
 * The .proto files that declare `protoPackage`, relative to PROTO_ROOT and sorted, e.g.
 * `agenstra/manager/v1/agents.proto`. Load them with PROTO_ROOT as include dir so that their
 * imports resolve: `loadSync(protoFilesOf('agenstra.manager.v1'), { includeDirs: [PROTO_ROOT] })`.
 */
export function protoFilesOf(protoPackage: ProtoPackage): string[] {
  const directory = path.join(PROTO_ROOT, ...protoPackage.split('.'));
  if (!fs.existsSync(directory)) {
    throw new Error(`no .proto files for package ${protoPackage} under ${PROTO_ROOT}`);
  }
  return fs
    .readdirSync(directory)
    .filter((file) => file.endsWith('.proto'))
    .sort()
    .map((file) => path.posix.join(...protoPackage.split('.'), file))
    .filter((file) => declaredPackage(file) === protoPackage);
}

function declaredPackage(relativeFile: string): string | undefined {
  const source = fs.readFileSync(path.join(PROTO_ROOT, relativeFile), 'utf8');
  return /^package\s+([\w.]+)\s*;/m.exec(source)?.[1];
}
