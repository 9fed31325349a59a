/**
 * What a suite needs from the operating system beyond npm (nginx, tini, a font, ...), as node:test's
 * `skip` option: the suite is skipped with one line naming the Debian package to install, e.g.
 * `needs nginx on PATH: apt-get install nginx`. Under CI (CI=true) a missing requirement is an
 * error with the same line instead, so CI never passes by skipping: .ci/run installs them all.
 *
 *   describe('behind nginx', requireSystem({ program: 'nginx', debianPackage: 'nginx' }), () => { … });
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

export interface SystemRequirement {
  /** The Debian package that brings it (the apt-get install argument). */
  readonly debianPackage: string;
  /** A program that must be on PATH, executable. */
  readonly program?: string;
  /** A file that must exist (absolute path). */
  readonly file?: string;
  /** How the skip line names what is missing (default: `<program> on PATH`, the file or the package). */
  readonly what?: string;
  // With neither `program` nor `file`, the Debian package itself must be installed (dpkg-query).
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function debianPackageInstalled(name: string): boolean {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return query.status === 0 && query.stdout.trim() === 'install ok installed';
}

function present(requirement: SystemRequirement): boolean {
  if (requirement.program !== undefined) return onPath(requirement.program);
  if (requirement.file !== undefined) return existsSync(requirement.file);
  return debianPackageInstalled(requirement.debianPackage);
}

function describeRequirement(requirement: SystemRequirement): string {
  if (requirement.what !== undefined) return requirement.what;
  if (requirement.program !== undefined) return `${requirement.program} on PATH`;
  return requirement.file ?? requirement.debianPackage;
}

/** The one-line reason when something is missing, or undefined when everything is there. */
export function missingSystem(...requirements: readonly SystemRequirement[]): string | undefined {
  const missing = requirements.filter((r) => !present(r));
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((r) => r.debianPackage))];
  return `needs ${missing.map(describeRequirement).join(', ')}: apt-get install ${packages.join(' ')}`;
}

/** Whether missing requirements fail rather than skip: CI=true (or 1), as .ci/run sets. */
export const IN_CI = /^(true|1)$/i.test(process.env.CI ?? '');

/**
 * node:test options for a suite or test that needs these: `{ skip: false }` when all are present,
 * `{ skip: '<reason>' }` when one is missing; under CI, throws an Error with the reason instead.
 */
export function requireSystem(...requirements: readonly SystemRequirement[]): { skip: string | false } {
  const reason = missingSystem(...requirements);
  if (reason === undefined) return { skip: false };
  if (IN_CI) throw new Error(reason);
  return { skip: reason };
}
