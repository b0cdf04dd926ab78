import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROTO_PACKAGES, PROTO_ROOT, protoFilesOf } from './index';

function allProtoFiles(directory: string): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return allProtoFiles(full);
    return entry.name.endsWith('.proto') ? [path.relative(PROTO_ROOT, full)] : [];
  });
}

describe('protoFilesOf', () => {
  it('lists, relative to PROTO_ROOT, exactly the files that declare the package', () => {
    for (const protoPackage of PROTO_PACKAGES) {
      const files = protoFilesOf(protoPackage);
      expect(files, protoPackage).to.have.length.greaterThan(0);
      for (const file of files) {
        const source = fs.readFileSync(path.join(PROTO_ROOT, file), 'utf8');
        expect(source, file).to.match(
          new RegExp(`^package ${protoPackage.replace(/\./g, '\\.')};`, 'm'),
        );
      }
    }
  });

  it('covers every .proto file under agenstra/ across the v1 packages', () => {
    const listed = PROTO_PACKAGES.flatMap((protoPackage) => protoFilesOf(protoPackage)).sort();
    expect(listed).to.deep.equal(allProtoFiles(path.join(PROTO_ROOT, 'agenstra')).sort());
  });
});
