import { type Command, Option } from 'commander';
import type { RolloutSummary, RolloutView } from '../modules/delivery/index.js';
import { limitOption, outputOption } from './args.js';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE } from './cli-error.js';
import type { Cli } from './context.js';
import { timestamp } from './events.js';
import { cell, formatAge, formatData, formatRelative, type OutputFormat, render } from './output.js';
import { servicePath } from './release.js';
import { watchStream } from './sse.js';

// `opsdeck rollout ...`: status (live with --watch), list, and the manual controls.

const FINISHED = new Set(['Succeeded', 'Aborted']);

/** `Progressing: step 3/7 setWeight 10%`, `Paused (step): ...`, `Aborted: reason`. */
export function phaseLine(v: RolloutView, now: number): string {
  if (v.phase === 'Succeeded') return `Succeeded ${formatRelative(v.finishedAt, now)}`;
  if (v.phase === 'Aborted') return `Aborted ${formatRelative(v.finishedAt, now)}: ${v.reason ?? 'no reason given'}`;
  const paused = v.phase === 'Paused' ? `Paused (${v.pauseReason ?? 'manual'})` : 'Progressing';
  const step = v.step < v.totalSteps ? `step ${v.step + 1}/${v.totalSteps} ${v.currentStep ?? ''}`.trimEnd() : 'promoting to 100%';
  const extra: string[] = [];
  if (v.pauseUntil && v.phase === 'Progressing') extra.push(`until ${timestamp(v.pauseUntil)}, ${formatRelative(v.pauseUntil, now)}`);
  if (v.progressDeadlineAt) extra.push(`waiting for instances; aborts ${formatRelative(v.progressDeadlineAt, now)}`);
  return `${paused}: ${step}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

const weightsText = (weights: Record<string, number>) =>
  Object.entries(weights)
    .map(([version, w]) => `${version} ${w}%`)
    .join('   ') || '-';

/** The whole status as a person reads it: phase, weights, versions, steps, analysis, the last decisions in sentences. */
export function renderRollout(v: RolloutView, now: number, options: { logLines?: number } = {}): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`${label.padEnd(10)}${text}`);
  row(
    'Rollout',
    `${v.id}   ${v.service}   ${v.stable ? `${v.stable} → ` : ''}${v.version}${v.rollbackOf ? ` (undo of ${v.rollbackOf})` : ''}`,
  );
  row('Strategy', `${v.strategy} (${v.source}), started by ${v.deployer} ${formatAge(v.startedAt, now)} ago`);
  row('Phase', phaseLine(v, now));
  if (v.timeToWeightZeroMs !== null) row('Rollback', `${v.version} had no traffic ${v.timeToWeightZeroMs} ms after the failing decision`);
  if (v.overrideFreeze) row('Freeze', `overridden: ${v.overrideFreeze.reason} (${v.overrideFreeze.freezes.map((f) => f.name).join(', ')})`);
  row('Weights', weightsText(v.weights));
  for (const [i, x] of v.versions.entries()) {
    const text = `${x.version.padEnd(12)} ${x.role.padEnd(7)} ${x.weight}%   ${x.readyInstances}/${x.desiredInstances} ready   ${x.health}`;
    row(i === 0 ? 'Versions' : '', text);
  }

  if (v.headerRoute) row('Preview', `${v.headerRoute.header}: ${v.headerRoute.value}`);
  if (v.mirrorPercent) row('Mirror', `${v.mirrorPercent}% of requests copied to ${v.version}`);
  v.steps.forEach((s, i) => {
    const mark = s.status === 'done' ? '✓' : s.status === 'current' ? '▶' : ' ';
    row(i === 0 ? 'Steps' : '', `${mark} ${String(s.number).padStart(2)}  ${s.description}`);
  });
  for (const [i, run] of v.analysis.entries()) {
    const what = `${run.id} ${run.mode}${run.step === null ? '' : ` (step ${run.step + 1})`} ${run.phase}${run.reason ? `: ${cell(run.reason, 160)}` : ''}`;
    row(i === 0 ? 'Analysis' : '', what);
    for (const d of run.decisions.slice(-3)) row('', `  ${timestamp(d.at)}  ${d.metric} ${d.verdict}: ${cell(d.reason, 200)}`);
  }
  const log = v.log.slice(-(options.logLines ?? 8));
  for (const [i, l] of log.entries()) row(i === 0 ? 'Decisions' : '', `${timestamp(l.at)}  ${l.message}`);
  return `${lines.join('\n')}\n`;
}

async function fetchStatus(cli: Cli, command: Command, service: string): Promise<RolloutView> {
  return cli.client(command).get<RolloutView>(servicePath(service, '/rollout'));
}

function printStatus(cli: Cli, format: OutputFormat, view: RolloutView, watching: boolean): void {
  if (format === 'json') cli.out(watching ? JSON.stringify(view) : formatData('json', view));
  else if (format === 'yaml') cli.out(`${watching ? '---\n' : ''}${formatData('yaml', view)}`);
  else cli.out(renderRollout(view, cli.now()));
}

/** Follows delivery events of the service and re-renders on each change, until the rollout finishes (exit 1 if Aborted). */
async function watchRollout(cli: Cli, command: Command, service: string, format: OutputFormat): Promise<number> {
  let view = await fetchStatus(cli, command, service);
  let printed: string | undefined;
  const show = (v: RolloutView) => {
    const key = JSON.stringify(v);
    if (key === printed) return;
    if (format === 'table' && printed !== undefined) {
      // A terminal shows the latest state in place; a pipe or file gets each state after a separator.
      if ((cli.io.stdout as { isTTY?: boolean }).isTTY) cli.io.stdout.write('\x1b[2J\x1b[H');
      else cli.out(`--- ${timestamp(cli.now())}`);
    }
    printed = key;
    printStatus(cli, format, v, true);
  };
  show(view);
  const exitOf = (v: RolloutView) => (v.phase === 'Aborted' ? EXIT_ERROR : EXIT_OK);
  if (FINISHED.has(view.phase)) return exitOf(view);
  const done = new AbortController();
  const signal = AbortSignal.any([done.signal, cli.interruption()]);
  const rolloutId = view.id;
  let running: Promise<void> | undefined;
  let again = false;
  const refresh = () => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          view = await fetchStatus(cli, command, service);
        } catch (err) {
          cli.err(`could not read the rollout: ${(err as Error).message}`);
          continue;
        }
        show(view);
        if (view.id === rolloutId && FINISHED.has(view.phase)) done.abort();
      } while (again && !signal.aborted);
    })().finally(() => {
      running = undefined;
    });
  };
  await watchStream({
    client: cli.client(command),
    path: '/api/v1/events/stream',
    query: { topics: 'delivery.*,runtime.weights.changed', service },
    signal,
    onMessage: refresh,
    onConnect: refresh,
    onReconnect: (reason) => cli.err(`event stream interrupted (${reason}); reconnecting`),
  });
  await running;
  return done.signal.aborted ? exitOf(view) : EXIT_OK;
}

interface ActionOptions {
  reason?: string;
  overrideFreeze?: boolean;
  full?: boolean;
  all?: boolean;
  output: OutputFormat;
}

function actionBody(opts: ActionOptions, allowOverride: boolean): Record<string, unknown> {
  if (opts.overrideFreeze && !allowOverride) throw new CliError('--override-freeze does not apply here', EXIT_USAGE);
  if (opts.overrideFreeze && !opts.reason)
    throw new CliError('--override-freeze needs --reason: the override is recorded in the audit log', EXIT_USAGE);
  return {
    ...(opts.reason ? { reason: opts.reason } : {}),
    ...(opts.overrideFreeze ? { overrideFreeze: { reason: opts.reason } } : {}),
    ...(opts.full ? { full: true } : {}),
  };
}

/** One line saying what an action did. */
export function actionLine(verb: string, v: RolloutView, now: number): string {
  return `rollout ${v.id} of ${v.service} (${v.version}) ${verb}: ${phaseLine(v, now)}`;
}

const reasonOption = () => new Option('--reason <text>', 'why (recorded with the transition and in the audit log)');
const overrideOption = () => new Option('--override-freeze', 'go ahead although the service is frozen (deployer; needs --reason; audited)');

export function registerRolloutCommands(program: Command, cli: Cli): void {
  const rollout = program
    .command('rollout')
    .description('follow and control rollouts: status, list, promote, abort, retry, pause, resume, undo');

  rollout
    .command('status')
    .description("the service's current (else last) rollout: phase, step, weights, analysis and the decision log")
    .argument('<service>', 'the service')
    .option('-w, --watch', 'follow it live until it finishes (exit code 1 if it is aborted)')
    .addOption(outputOption())
    .action(async (service: string, opts: { watch?: boolean; output: OutputFormat }, command: Command) => {
      if (opts.watch) {
        cli.exitCode = await watchRollout(cli, command, service, opts.output);
        return;
      }
      printStatus(cli, opts.output, await fetchStatus(cli, command, service), false);
    });

  rollout
    .command('list')
    .description('rollouts, newest first')
    .option('--service <name>', 'only this service')
    .addOption(new Option('--phase <phase>', 'only this phase').choices(['Progressing', 'Paused', 'Succeeded', 'Aborted']))
    .addOption(limitOption('rollouts'))
    .addOption(outputOption())
    .action(async (opts: { service?: string; phase?: string; limit?: number; output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: (RolloutSummary & { deployer: string })[] }>('/api/v1/rollouts', {
        service: opts.service,
        phase: opts.phase,
        limit: opts.limit,
      });
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['ID', 'SERVICE', 'VERSION', 'FROM', 'STRATEGY', 'PHASE', 'STEP', 'BY', 'AGE', 'REASON'],
          rows: (list) =>
            list.map((r) => [
              r.id,
              r.service,
              r.version,
              r.stable ?? '-',
              r.strategy,
              r.phase,
              String(r.step + (FINISHED.has(r.phase) ? 0 : 1)),
              r.deployer,
              formatAge(r.startedAt, now),
              cell(r.reason, 50),
            ]),
          empty: 'no rollouts',
        }),
      );
    });

  const action = (verb: string, description: string, past: string, options: { override?: boolean; full?: boolean } = {}) => {
    const cmd = rollout.command(verb).description(description).argument('<service>', 'the service').addOption(reasonOption());
    if (options.override) cmd.addOption(overrideOption());
    if (options.full) cmd.option('--full', 'skip every remaining step: straight to 100% once the new version is ready');
    cmd.addOption(outputOption()).action(async (service: string, opts: ActionOptions, command: Command) => {
      const view = await cli
        .client(command)
        .post<RolloutView>(servicePath(service, `/rollout/${verb}`), actionBody(opts, options.override === true));
      if (opts.output === 'table') cli.out(actionLine(past, view, cli.now()));
      else cli.out(formatData(opts.output, view));
    });
  };
  action('promote', 'skip the current pause or analysis step (--full: every remaining step)', 'promoted', { override: true, full: true });
  action('retry', 'retry an aborted rollout from the step that failed', 'retried', { override: true });
  action('pause', 'pause the rollout where it is', 'paused');
  action('resume', 'resume a paused rollout', 'resumed', { override: true });
  action('undo', 'roll back: abort the active rollout, or switch all traffic back to the version the last rollout replaced', 'undone');

  rollout
    .command('abort')
    .description('abort: the new version loses its traffic at once and is scaled down; --all aborts every active rollout (kill switch)')
    .argument('[service]', 'the service (omit with --all)')
    .option('--all', 'abort every active rollout of every service')
    .addOption(reasonOption())
    .addOption(outputOption())
    .action(async (service: string | undefined, opts: ActionOptions, command: Command) => {
      const client = cli.client(command);
      if (opts.all) {
        if (service) throw new CliError('give a service or --all, not both', EXIT_USAGE);
        const { items } = await client.post<{ items: RolloutSummary[] }>('/api/v1/rollouts/abort-all', {
          reason: opts.reason ?? 'kill switch (opsdeck rollout abort --all)',
        });
        if (opts.output !== 'table') cli.out(formatData(opts.output, items));
        else if (items.length === 0) cli.err('no active rollouts');
        else for (const r of items) cli.out(`rollout ${r.id} of ${r.service} (${r.version}) aborted`);
        return;
      }
      if (!service) throw new CliError('name the service whose rollout to abort, or use --all', EXIT_USAGE);
      const view = await client.post<RolloutView>(servicePath(service, '/rollout/abort'), actionBody(opts, false));
      if (opts.output === 'table') cli.out(actionLine('aborted', view, cli.now()));
      else cli.out(formatData(opts.output, view));
    });
}
