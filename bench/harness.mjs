// Runs each contender of a suite in a fresh process, rounds in rotated order,
// and prints medians and ratios: these machines are shared and noisy, so
// only figures taken side by side in one run are compared.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * q)];
};

const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * @param {string} title
 * @param {string} script a bench file that takes a contender name and prints one JSON line
 * @param {string[]} contenders
 * @param {{ rounds: number, baseline: string, unit: string, args?: string[], lowerIsBetter?: boolean, pin?: boolean }} options
 *   pin: run each contender under `taskset -c 0,1` (two cores, as the pools use two workers)
 */
export function runSuite(title, script, contenders, { rounds, baseline, unit, args = [], lowerIsBetter = false, prefix = [], pin = false }) {
  const samples = new Map(contenders.map((c) => [c, { value: [], byRound: [], rss: [], p99: [], errors: [] }]));
  const file = fileURLToPath(new URL(script, import.meta.url));
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const name of order) {
      const command = [process.execPath, '--expose-gc', file, ...prefix, name, ...args];
      if (pin) command.unshift('taskset', '-c', '0,1');
      const out = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 600_000 });
      const line = out.stdout.trim().split('\n').pop();
      try {
        const { value, rss, p99 } = JSON.parse(line);
        samples.get(name).value.push(value);
        samples.get(name).byRound[round] = value;
        samples.get(name).rss.push(rss);
        if (p99 !== undefined) samples.get(name).p99.push(p99);
      } catch {
        samples.get(name).errors.push((out.stderr || out.stdout || `exit ${out.status}`).trim().split('\n').slice(-3).join(' | '));
      }
    }
  }
  const base = median(samples.get(baseline)?.value ?? [NaN]);
  const baseP99 = median(samples.get(baseline)?.p99 ?? []);
  const hasP99 = [...samples.values()].some((s) => s.p99.length > 0);
  // Times compare as time over the baseline's (1.2x = 20% slower); rates as rate over the baseline's.
  const ratioName = lowerIsBetter ? `time / ${baseline}` : `÷ ${baseline}`;
  console.log(`\n## ${title} (${rounds} rounds, medians)`);
  // The ratio within each round as well: when the machine's load drifts, it moves both sides of a round alike.
  console.log(`| contender | ${unit} | ${ratioName} | per round: median (quartiles) |${hasP99 ? ` p99 | p99 ${ratioName} |` : ''} peak RSS MB |`);
  console.log(`|---|---:|---:|---:|${hasP99 ? '---:|---:|' : ''}---:|`);
  const rows = [];
  for (const [name, s] of samples) {
    if (s.value.length === 0) {
      console.log(`| ${name} | failed: ${s.errors[0] ?? 'no output'} | | |${hasP99 ? ' | |' : ''} |`);
      continue;
    }
    const v = median(s.value);
    const ratio = v / base;
    const p99 = median(s.p99);
    rows.push({ name, value: v, ratio, p99, rss: median(s.rss) });
    const p99Cells = hasP99 ? ` ${format(p99)} | ${(p99 / baseP99).toFixed(2)}x |` : '';
    const baseRounds = samples.get(baseline)?.byRound ?? [];
    const perRound = s.byRound.flatMap((x, r) => (x === undefined || baseRounds[r] === undefined ? [] : [x / baseRounds[r]]));
    const perRoundCell = perRound.length === 0 ? '' : `${median(perRound).toFixed(2)}x (${quantile(perRound, 0.25).toFixed(2)}-${quantile(perRound, 0.75).toFixed(2)})`;
    console.log(`| ${name} | ${format(v)} | ${ratio.toFixed(2)}x | ${perRoundCell} |${p99Cells} ${Math.round(median(s.rss))} |`);
  }
  return rows;
}

function format(v) {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
}

/** Prints the one JSON line a contender reports: its figure, any extra figures (`p99`), and peak RSS in MB. */
export function report(value, extra = {}) {
  console.log(JSON.stringify({ value, ...extra, rss: process.resourceUsage().maxRSS / 1024 }));
}
