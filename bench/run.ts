/**
 * `npm run bench [-- --quick | --profile | …]`: runs the end-to-end benchmark (bench/README.md),
 * prints one table and the targets, and writes bench/results/<date>-<host>.json.
 * Ctrl-C stops the current scenario, stops every child process and removes the temporary files.
 */
import { runBenchmark } from './benchmark.js';
import { parseArgs, USAGE } from './options.js';

const controller = new AbortController();

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  process.once('SIGINT', () => {
    console.error('\ninterrupted: stopping the scenario and the child processes …');
    controller.abort();
  });
  const started = performance.now();
  const run = await runBenchmark(options, { log: (line) => console.error(line), signal: controller.signal });
  const env = run.results.environment;
  console.log(`\nimage-origin benchmark, ${options.mode} (${options.rounds} round${options.rounds > 1 ? 's' : ''}), ${run.results.started}`);
  console.log(`node ${env.node}${env.origin_node === env.node ? '' : ` (origin on ${env.origin_node})`}, sharp ${env.sharp}, libvips ${env.libvips}; ${env.cpu_model} x ${env.cores}; commit ${env.commit}`);
  console.log(
    `origin allocator ${run.allocator.name}${run.allocator.mapped === false ? ' (NOT mapped: LD_PRELOAD failed)' : ''}; ` +
      `hot load tool ${run.tool}; CPU in cores (1.00 = one core busy); steal = CPU time the hypervisor took`,
  );
  console.log('');
  console.log(run.table);
  if (run.peerTable !== '') console.log(`\nproject against ipx 3.1.1 (same images, requests and connections; project / ipx):\n${run.peerTable}`);
  console.log('\ntargets (median over rounds):');
  console.log(run.targets);
  console.log(`\nwrote ${run.file} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  if (controller.signal.aborted) {
    console.error('interrupted: every child process stopped, temporary files removed, no results written');
    process.exitCode = 130;
    return;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
