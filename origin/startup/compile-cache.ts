/**
 * Node's on-disk compile cache (`module.enableCompileCache`, Node ≥ 22.1; the Docker image runs
 * a newer line): a restarted process reuses V8's compiled code instead of compiling every module
 * again. Feature-detected, so Node 20 simply starts without it. The cache lives where Node puts it
 * (`NODE_COMPILE_CACHE`, else the system's temporary folder); `NODE_DISABLE_COMPILE_CACHE=1` turns
 * it off. A cache that cannot be written only costs the time it would have saved. Not measured
 * here: this machine runs Node 20 (README "Start-up and hit-path figures").
 */
import nodeModule from 'node:module';

type EnableCompileCache = (directory?: string) => unknown;

export function enableCompileCache(): boolean {
  const enable = (nodeModule as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (typeof enable !== 'function') return false;
  try {
    enable();
    return true;
  } catch {
    return false;
  }
}
