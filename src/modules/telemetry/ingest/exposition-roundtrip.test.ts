import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Labels, Sample } from '../contracts.js';
import { escapeHelp, escapeLabelValue, formatFloat } from './exposition-tokens.js';
import { type MetricFamilyInfo, parseExposition } from './index.js';

interface GenSample {
  labels: Array<[string, string]>;
  value: number;
  t?: number;
}
interface GenFamily {
  name: string;
  type: 'gauge' | 'counter' | 'plain';
  help: string;
  samples: GenSample[];
}

// Label values and help texts lean on the characters the formats have to escape.
const tricky = fc.constantFrom('\\', '"', '\n', ' ', '#', '{', '}', '=', ',', 'é', '😀', '\t', 'a', '0');
const text = fc.oneof(fc.string({ unit: tricky, maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }));

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/).filter((n) => n !== '__name__');
const sample = fc.record(
  {
    labels: fc.uniqueArray(fc.tuple(labelName, text), { maxLength: 4, selector: ([k]) => k }),
    value: fc.double(),
    t: fc.integer({ min: -1_000_000_000_000, max: 4_000_000_000_000 }),
  },
  { requiredKeys: ['labels', 'value'] },
);

const families = fc
  .array(
    fc.record({
      stem: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/),
      type: fc.constantFrom('gauge', 'counter', 'plain'),
      // Leading blanks separate the name from the docstring, so a help text cannot start with one.
      help: text.map((h) => h.replace(/^[ \t\r]+/, '').replaceAll('\r', '')),
      samples: fc.array(sample, { maxLength: 5 }),
    }),
    { maxLength: 6 },
  )
  // The index suffix keeps names unique and away from the `_total`/`_bucket`/`_created` suffixes.
  .map((fams): GenFamily[] =>
    fams.map((f, i) => ({ name: `${f.stem}_${i}`, type: f.type as GenFamily['type'], help: f.help, samples: f.samples })),
  );

function render(fams: GenFamily[], openMetrics: boolean): string {
  let out = '';
  for (const f of fams) {
    const type = f.type === 'plain' ? (openMetrics ? 'unknown' : 'untyped') : f.type;
    out += `# HELP ${f.name} ${escapeHelp(f.help, openMetrics)}\n# TYPE ${f.name} ${type}\n`;
    const sampleName = openMetrics && f.type === 'counter' ? `${f.name}_total` : f.name;
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
      const ts = s.t === undefined ? '' : ` ${openMetrics ? String(s.t / 1000) : String(s.t)}`;
      out += `${sampleName}${labels === '' ? '' : `{${labels}}`} ${formatFloat(s.value)}${ts}\n`;
    }
  }
  return openMetrics ? `${out}# EOF\n` : out;
}

function expected(fams: GenFamily[], openMetrics: boolean): { samples: Sample[]; families: Map<string, MetricFamilyInfo> } {
  const samples: Sample[] = [];
  const info = new Map<string, MetricFamilyInfo>();
  for (const f of fams) {
    info.set(f.name, { type: f.type === 'plain' ? (openMetrics ? 'unknown' : 'untyped') : f.type, help: f.help });
    const name = openMetrics && f.type === 'counter' ? `${f.name}_total` : f.name;
    for (const s of f.samples) {
      const labels: Labels = { __name__: name, ...Object.fromEntries(s.labels) };
      samples.push(s.t === undefined ? { labels, value: s.value } : { labels, value: s.value, t: s.t });
    }
  }
  return { samples, families: info };
}

describe('parseExposition round trip', () => {
  for (const openMetrics of [false, true]) {
    it(`parses back what it renders (${openMetrics ? 'OpenMetrics' : 'text 0.0.4'})`, () => {
      fc.assert(
        fc.property(families, (fams) => {
          const parsed = parseExposition(render(fams, openMetrics), {
            contentType: openMetrics ? 'application/openmetrics-text; version=1.0.0' : 'text/plain; version=0.0.4',
          });
          const want = expected(fams, openMetrics);
          expect(parsed.samples).toEqual(want.samples);
          expect(parsed.families).toEqual(want.families);
          // toEqual treats 0 and -0 alike; the sign of zero must survive too.
          for (let i = 0; i < parsed.samples.length; i++) expect(Object.is(parsed.samples[i]!.value, want.samples[i]!.value)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }
});
