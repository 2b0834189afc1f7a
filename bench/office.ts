// Office benchmark:  npx tsx bench/office.ts [--quick]
//
// One Japanese docx (a few pages of text and a table, made here by LibreOffice
// from HTML), converted
//   ours:     the whole sanitized path: LibreOffice in a warm bubblewrap
//             sandbox (src/converters/office) -> PDF -> the sandboxed
//             rasterizer -> image-only PDF (src/converters/documents.ts),
//             one document at a time, each with a warm sandbox waiting;
//   baseline: a cold `soffice --headless --convert-to pdf` with a fresh
//             profile, which only makes a PDF (no sandbox, no rasterizing).
// Same file, same run. Reports medians, their ratio (target: ours < 0.5 x
// baseline) and the peak RSS of LibreOffice (VmHWM of soffice.bin, sampled),
// of the benchmark process, and of the baseline.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decideIsolation } from '../src/converters/isolation.js';
import { createDocumentConverter } from '../src/converters/documents.js';
import { createOfficeConverter } from '../src/converters/office/office-converter.js';

const run = promisify(execFile);
const RUNS = process.argv.includes('--quick') ? 3 : 7;
const dir = mkdtempSync(path.join(tmpdir(), 'mugaika-bench-office-'));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f0 = (n: number): string => n.toFixed(0);

/** Highest VmHWM (MiB) seen so far among processes whose command line contains `needle`. */
function peakSampler(needle: string): { stop(): number } {
  let peak = 0;
  const sample = (): void => {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(needle)) continue;
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
      } catch {
        // exited meanwhile
      }
    }
  };
  const timer = setInterval(sample, 25);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

async function makeDocx(): Promise<Buffer> {
  const para = '令和6年度の住民税（市民税・県民税）の税額決定通知書を送付します。①㈱髙橋商店の届出は期限までに提出してください。';
  const rows = Array.from({ length: 40 }, (_, i) => `<tr><td>${i + 1}</td><td>髙橋 太郎</td><td>${(i * 12345) % 99999}円</td></tr>`).join('');
  const html = `<html><head><meta charset="utf-8"></head><body><h1>住民税のお知らせ</h1>${`<p>${para.repeat(4)}</p>`.repeat(20)}<table border="1">${rows}</table></body></html>`;
  writeFileSync(path.join(dir, 'input.html'), html);
  await run('soffice', [`-env:UserInstallation=file://${dir}/make-profile`, '--headless', '--convert-to', 'docx:MS Word 2007 XML', '--outdir', dir, path.join(dir, 'input.html')]);
  return readFileSync(path.join(dir, 'input.docx'));
}

async function coldSoffice(i: number): Promise<{ ms: number; peakMiB: number }> {
  const profile = path.join(dir, `cold-profile-${i}`);
  const sampler = peakSampler(profile);
  const t = performance.now();
  await run('soffice', [`-env:UserInstallation=file://${profile}`, '--headless', '--convert-to', 'pdf', '--outdir', path.join(dir, `cold-${i}`), path.join(dir, 'input.docx')]);
  const ms = performance.now() - t;
  return { ms, peakMiB: sampler.stop() };
}

const docx = await makeDocx();
console.log(`input: ${(docx.length / 1024).toFixed(0)} KiB docx; ${RUNS} runs each`);

const isolation = await decideIsolation({ allowUnsandboxed: false });
const office = createOfficeConverter({ isolation, warmSlots: 1 });
const officeMs: number[] = [];
const documents = createDocumentConverter({
  pdf: { isolation },
  office: async (bytes, format, deadline) => {
    const t = performance.now();
    const r = await office.convert(bytes, format, deadline);
    officeMs.push(performance.now() - t);
    return r;
  },
});
const limits = () => ({ maxPages: 100, dpi: 150, maxPixelsPerPage: 40_000_000, jpegQuality: 85, maxOutputBytes: 1024 * 1024 * 1024, deadline: Date.now() + 120_000, textLayer: true });
const ours: number[] = [];
let officePeak = 0;
let pages = 0;
// The first document also starts the rasterizer pool: not measured.
await office.warm();
const first = await documents.toImagePdf(docx, 'docx', limits());
if (!first.ok) throw new Error(`our path failed: ${first.reason}: ${first.detail}`);
for (let i = 0; i < RUNS; i++) {
  await office.warm(); // as in service: a sandbox waits for the next document
  await new Promise((r) => setTimeout(r, 1000)); // and the rasterizer pool has refilled
  const sampler = peakSampler(office.tag);
  const t = performance.now();
  const r = await documents.toImagePdf(docx, 'docx', limits());
  ours.push(performance.now() - t);
  officePeak = Math.max(officePeak, sampler.stop());
  if (!r.ok) throw new Error(`our path failed: ${r.reason}: ${r.detail}`);
  pages = r.pages;
}
await Promise.all([office.close(), documents.close()]);
const benchPeak = process.resourceUsage().maxRSS / 1024;

const cold: number[] = [];
let coldPeak = 0;
for (let i = 0; i < RUNS; i++) {
  const c = await coldSoffice(i);
  cold.push(c.ms);
  coldPeak = Math.max(coldPeak, c.peakMiB);
}
rmSync(dir, { recursive: true, force: true });

const ratio = median(ours) / median(cold);
console.log(`pages: ${pages}`);
console.log(`ours (warm sandbox -> PDF -> pixels -> PDF)  median ${f0(median(ours))} ms  [${ours.map(f0).join(', ')}]`);
console.log(`  of which LibreOffice -> PDF               median ${f0(median(officeMs.slice(1)))} ms  [${officeMs.slice(1).map(f0).join(', ')}]`);
console.log(`cold soffice --convert-to pdf                median ${f0(median(cold))} ms  [${cold.map(f0).join(', ')}]`);
console.log(`ratio ours / cold: ${ratio.toFixed(2)} (target < 0.50: ${ratio < 0.5 ? 'met' : 'NOT met'})`);
console.log(`peak RSS: LibreOffice in our sandbox ${f0(officePeak)} MiB; cold soffice ${f0(coldPeak)} MiB; this process (incl. pdf-lib) ${f0(benchPeak)} MiB`);
