// Runs each contender of a suite in a fresh process, rounds in rotated order,
// and prints medians and ratios: these machines are shared and noisy, so
// only figures taken side by side in one run are compared.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * @param {string} title
 * @param {string} script a bench file that takes a contender name and prints one JSON line
 * @param {string[]} contenders
 * @param {{ rounds: number, baseline: string, unit: string, args?: string[], lowerIsBetter?: boolean }} options
 */
export function runSuite(title, script, contenders, { rounds, baseline, unit, args = [], lowerIsBetter = false, prefix = [] }) {
  const samples = new Map(contenders.map((c) => [c, { value: [], rss: [], errors: [] }]));
  const file = fileURLToPath(new URL(script, import.meta.url));
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const name of order) {
      const out = spawnSync(process.execPath, ['--expose-gc', file, ...prefix, name, ...args], { encoding: 'utf8', timeout: 600_000 });
      const line = out.stdout.trim().split('\n').pop();
      try {
        const { value, rss } = JSON.parse(line);
        samples.get(name).value.push(value);
        samples.get(name).rss.push(rss);
      } catch {
        samples.get(name).errors.push((out.stderr || out.stdout || `exit ${out.status}`).trim().split('\n').slice(-3).join(' | '));
      }
    }
  }
  const base = median(samples.get(baseline)?.value ?? [NaN]);
  console.log(`\n## ${title} (${rounds} rounds, medians; ratio to ${baseline})`);
  console.log(`| contender | ${unit} | ratio | peak RSS MB |`);
  console.log('|---|---:|---:|---:|');
  const rows = [];
  for (const [name, s] of samples) {
    if (s.value.length === 0) {
      console.log(`| ${name} | failed: ${s.errors[0] ?? 'no output'} | | |`);
      continue;
    }
    const v = median(s.value);
    const ratio = lowerIsBetter ? base / v : v / base;
    rows.push({ name, value: v, ratio, rss: median(s.rss) });
    console.log(`| ${name} | ${format(v)} | ${ratio.toFixed(2)}x | ${Math.round(median(s.rss))} |`);
  }
  return rows;
}

function format(v) {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
}

/** Prints the one JSON line a contender reports: its figure and peak RSS in MB. */
export function report(value) {
  console.log(JSON.stringify({ value, rss: process.resourceUsage().maxRSS / 1024 }));
}
