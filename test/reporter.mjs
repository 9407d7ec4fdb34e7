// The reporter of `npm test`: a dot per passing test, each failure in full with the
// output its test file wrote, a line naming each failure, and the runner's summary. Output that passing test
// files write (crash traces of workers that tests kill on purpose, say) is held back,
// as pytest captures it: it is shown only with a failure (CF_TEST_OUTPUT=1 shows it always).
import { inspect } from 'node:util';
import { relative } from 'node:path';

const WIDTH = 80;

function where(data) {
  return data.file ? `${relative(process.cwd(), data.file)}${data.line ? `:${data.line}` : ''}` : '(unknown file)';
}

// The runner wraps a failing test's error; what the test threw is its cause.
function thrownBy(data) {
  const error = data.details?.error;
  return error?.failureType === 'testCodeFailure' && error.cause !== undefined ? error.cause : error;
}

function describeFailure(data, output) {
  const thrown = thrownBy(data);
  let text = `\n✖ ${data.name} (${where(data)})\n`;
  text += inspect(thrown, { depth: 4, colors: false }).replace(/^/gm, '  ') + '\n';
  if (output) text += `  --- output of ${relative(process.cwd(), data.file ?? '')} ---\n${output.replace(/^/gm, '  | ')}\n`;
  return text;
}

export default async function* reporter(source) {
  const output = new Map(); // file -> what it wrote, until a failure shows it
  const failures = [];
  const headlines = []; // a line per failure, repeated last: a log cut to its tail still names them
  const skipped = [];
  const summary = [];
  let column = 0;
  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:stdout' || type === 'test:stderr') {
      if (process.env.CF_TEST_OUTPUT === '1') {
        yield `${column % WIDTH === 0 ? '' : '\n'}${data.message}`;
        column = 0;
        continue;
      }
      const key = data.file ?? '';
      output.set(key, (output.get(key) ?? '') + data.message);
    } else if (type === 'test:pass' || type === 'test:fail') {
      if (data.details?.type === 'suite') continue;
      const failed = type === 'test:fail' && !data.todo;
      if (failed) {
        const key = data.file ?? '';
        failures.push(describeFailure(data, output.get(key)));
        output.delete(key);
        const thrown = thrownBy(data);
        headlines.push(`failed: ${data.name} (${where(data)}): ${String(thrown?.message ?? thrown).replace(/\s+/g, ' ').slice(0, 300)}\n`);
      }
      // A skip says why, so that it never passes for a test that ran.
      if (data.skip) skipped.push(`skipped: ${data.name}${typeof data.skip === 'string' ? `: ${data.skip}` : ''}\n`);
      yield failed ? 'X' : data.skip ? 's' : '.';
      if (++column % WIDTH === 0) yield '\n';
    } else if (type === 'test:diagnostic' && data.nesting === 0) {
      summary.push(data.message);
    }
  }
  if (column % WIDTH !== 0) yield '\n';
  for (const failure of failures) yield failure;
  // With a failure, the output of the other files may explain it too (one that crashed before its tests, say).
  if (failures.length > 0) {
    for (const [file, text] of output) if (text.trim() !== '') yield `\n--- output of ${relative(process.cwd(), file)} ---\n${text}\n`;
  }
  for (const line of skipped) yield line;
  for (const line of headlines) yield line;
  for (const line of summary) yield `ℹ ${line}\n`;
  const count = (name) => Number(summary.find((line) => line.startsWith(`${name} `))?.split(' ')[1] ?? 0);
  yield `${count('pass')} passed, ${count('fail') + count('cancelled')} failed, ${count('skipped')} skipped\n`;
}
