// The core benchmark (`npm run bench`, i.e. `npx tsx bench/run.ts`).
//
// Two workloads, generated deterministically in memory:
//   html   ~10 KB Japanese municipal newsletters, multipart/alternative, UTF-8
//   photo  a ~2 MB JPEG photo (2400x1800, quality 90, made from seeded noise)
// Each runs sequentially through the real core: sanitize() with a local
// encrypted quarantine vault (SQLite, audit log) in a fresh temporary data dir and the sharp transcoder,
// wired as test/helpers/run.ts wires them. Beside every figure stands a
// baseline measured in the same run on the same bytes:
//   html   mailparser simpleParser alone (what parsing costs; the ratio is what
//          sanitizing costs on top of it)
//   photo  sharp decoding and re-encoding the same JPEG alone
//
// Every measured phase runs in a fresh child process, so that warm-up, heap
// and peak RSS (process.resourceUsage().maxRSS) belong to that phase alone.
// The table goes to stdout, the figures to .bench/core.json.
//
// Options: --quick (fewer messages), --stages (always print the per-stage
// breakdown of the HTML path; it is printed anyway when the target is missed).
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import sharp from 'sharp';
import { createSharpTranscoder } from '../src/converters/image-sharp.js';
import { noDocuments } from '../src/converters/unavailable.js';
import { sanitizeBody } from '../src/core/body.js';
import { composeMessage } from '../src/core/compose.js';
import { buildHeaders } from '../src/core/headers.js';
import { labelsFor } from '../src/core/labels.js';
import { buildNotice } from '../src/core/notice.js';
import { parseMessage } from '../src/core/parse.js';
import { defaultPolicy } from '../src/core/policy.js';
import type { SanitizeDeps } from '../src/core/ports.js';
import { sanitize } from '../src/core/sanitize.js';
import { scanShape } from '../src/core/shape.js';
import { openAuditLogThread } from '../src/audit/log-thread.js';
import { openVault } from '../src/quarantine/vault.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { b64lines, pick, prng } from './inputs.js';

/** The target: at least this many HTML mails per second through the core. */
const TARGET_HTML_PER_SECOND = 500;

const QUICK = process.argv.includes('--quick');
const PLAN = {
  // Messages in flight at once in the one process, as in the relay's workers:
  // disk waits (the quarantine's fsyncs) overlap with CPU work.
  html: { warmup: QUICK ? 50 : 200, count: QUICK ? 300 : 1000, maxSeconds: QUICK ? 8 : 20, concurrency: 8 },
  photo: { warmup: 2, count: QUICK ? 5 : 15, maxSeconds: QUICK ? 8 : 20, concurrency: 2 },
  stages: { warmup: 50, count: QUICK ? 100 : 300 },
};

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT_DIR = path.resolve(HERE, '..', '.bench');
const OUT_FILE = path.join(OUT_DIR, 'core.json');

// ---------------------------------------------------------------------------
// Deterministic inputs
// ---------------------------------------------------------------------------

const encodedWord = (text: string): string => `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;

const CITY = 'https://www.city.example.lg.jp';
const NEWS = [
  ['年末年始のごみ収集日程について', '/kurashi/gomi/nenmatsu.html'],
  ['マイナンバーカード出張申請窓口の開設', '/kurashi/mynumber/shutcho.html'],
  ['令和8年度 保育所入所申込みの受付開始', '/kosodate/hoiku/moushikomi.html'],
  ['インフルエンザ予防接種費用の助成', '/kenko/yobou/influenza.html'],
  ['市営住宅入居者の募集（12月期）', '/sumai/shiei/boshu.html'],
  ['道路工事に伴う通行止めのお知らせ', '/machi/doro/kouji.html'],
  ['パブリックコメント：第3次環境基本計画（案）', '/shisei/pubcom/kankyo.html'],
  ['児童手当の現況届の提出期限', '/kosodate/teate/genkyo.html'],
  ['図書館システム更新に伴う休館', '/kyoiku/toshokan/kyukan.html'],
  ['確定申告相談会場の開設日程', '/kurashi/zei/kakutei.html'],
] as const;
const EVENTS = [
  ['総合防災訓練', '市役所本庁舎 前広場', '/bousai/kunren.html'],
  ['親子料理教室「冬野菜でつくる鍋」', '中央公民館 調理室', '/kyoiku/kouza/ryouri.html'],
  ['市民音楽祭', '市民文化会館 大ホール', '/bunka/ongakusai.html'],
  ['健康ウォーキング大会', '河川敷運動公園', '/kenko/walking.html'],
  ['子育て相談会', '子育て支援センター', '/kosodate/soudan.html'],
  ['消費生活講座「ネット通販のトラブル」', '北部地区センター 会議室2', '/kurashi/shouhi/kouza.html'],
  ['歴史講演会「例示城下町のなりたち」', '郷土資料館 講堂', '/bunka/rekishi/kouenkai.html'],
  ['スポーツ少年団 体験会', '市民体育館 第1競技場', '/sports/taiken.html'],
] as const;
const PHRASES = [
  '市民の皆さまには、日頃より市政へのご理解とご協力を賜り、誠にありがとうございます。',
  '寒さが一段と厳しくなってまいりました。体調管理には十分お気をつけください。',
  '各種手続きは、市ホームページの電子申請サービスからも行うことができます。',
  '詳しい内容は、各担当課までお気軽にお問い合わせください。',
  '新型感染症対策のため、会場での手指消毒とマスクの着用にご協力をお願いします。',
  '申込みは先着順です。定員になり次第、締め切らせていただきます。',
] as const;

/** One multipart/alternative newsletter of `rows` event rows and `items` news items. */
function newsletter(seq: number, items: number, rows: number): Buffer {
  const rnd = prng(0x5eed + seq * 7919);
  const no = 100 + seq;
  const day = 1 + (seq % 28);
  const title = `例示市 市政だより メールマガジン 第${no}号`;
  const news = Array.from({ length: items }, () => pick(rnd, NEWS));
  const events = Array.from({ length: rows }, (_, i) => ({ e: pick(rnd, EVENTS), date: `12月${1 + ((day + i * 3) % 28)}日（${'日月火水木金土'[(day + i) % 7]}） ${9 + (i % 8)}:00〜` }));
  const para = (): string => Array.from({ length: 2 }, () => pick(rnd, PHRASES)).join('');
  const tracked = (p: string): string => `https://click.example.com/t/${seq.toString(36)}${Math.floor(rnd() * 1e6).toString(36)}?u=${encodeURIComponent(CITY + p)}`;

  const html = [
    '<!DOCTYPE html>',
    '<html lang="ja"><head><meta charset="utf-8">',
    `<title>${title}</title>`,
    '<style>body{font-family:"Hiragino Kaku Gothic ProN",Meiryo,sans-serif;color:#333}h2{border-left:6px solid #2a7;padding-left:8px}table.ev{border-collapse:collapse}table.ev td,table.ev th{border:1px solid #ccc;padding:4px 8px}</style>',
    '</head><body>',
    '<table width="640" align="center" cellpadding="0" cellspacing="0"><tr><td>',
    `<a href="${CITY}/"><img src="${CITY}/mailmag/img/logo.png" alt="例示市" width="180" height="48"></a>`,
    `<h1 style="font-size:20px">${title}（令和8年12月${day}日発行）</h1>`,
    `<p>${para()}</p>`,
    '<h2>今月のお知らせ</h2>',
    '<ul>',
    ...news.map(([t, p]) => `<li><a href="${tracked(p)}">${t}</a></li>`),
    '</ul>',
    '<h2>イベント情報</h2>',
    '<table class="ev"><tr><th>日時</th><th>イベント</th><th>会場</th></tr>',
    ...events.map(({ e: [name, place, p], date }) => `<tr><td>${date}</td><td><a href="${CITY}${p}">${name}</a></td><td>${place}</td></tr>`),
    '</table>',
    `<p><img src="${CITY}/mailmag/img/event-${no}.jpg" alt="イベントの様子" width="600"></p>`,
    `<p>${para()}</p>`,
    `<p>お問い合わせ：例示市 広報広聴課 電話 0120-000-${String(1000 + seq).slice(-4)}（平日 8:30〜17:15）<br>`,
    `メール：<a href="mailto:koho@city.example.lg.jp">koho@city.example.lg.jp</a></p>`,
    `<p style="font-size:12px;color:#888">配信停止・配信先の変更は<a href="${tracked('/mailmag/teishi.html')}">こちら</a>から。`,
    `このメールは送信専用アドレスから配信しています。</p>`,
    `<img src="https://click.example.com/o/${seq}.gif" width="1" height="1" alt="">`,
    '</td></tr></table></body></html>',
  ].join('\r\n');

  const text = [
    `${title}（令和8年12月${day}日発行）`,
    '',
    para(),
    '',
    '■今月のお知らせ',
    ...news.map(([t, p]) => `・${t}\r\n  ${CITY}${p}`),
    '',
    '■イベント情報',
    ...events.map(({ e: [name, place], date }) => `・${date} ${name}（${place}）`),
    '',
    `お問い合わせ：例示市 広報広聴課 koho@city.example.lg.jp`,
  ].join('\r\n');

  const boundary = `----=_Bench_${seq}_alt`;
  const head = [
    `From: ${encodedWord('例示市 広報広聴課')} <mailmag@city.example.jp>`,
    'To: staff@city.example.lg.jp',
    `Subject: ${encodedWord(title)}`,
    `Date: ${new Date(Date.UTC(2026, 11, day, 1, 0, 0)).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <mailmag-${no}-${seq}@city.example.jp>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ];
  const body = [
    `--${boundary}`,
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64lines(text),
    `--${boundary}`,
    'Content-Type: text/html; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64lines(html),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body.join('\r\n')}`, 'utf8');
}

const HTML_TARGET_BYTES = 10 * 1024;
const HTML_VARIANTS = 50;

/** 50 distinct newsletters, each grown row by row to ~10 KB raw. */
function htmlMails(): Buffer[] {
  return Array.from({ length: HTML_VARIANTS }, (_, seq) => {
    let rows = 1;
    let mail = newsletter(seq, 4, rows);
    while (mail.length < HTML_TARGET_BYTES - 150 && rows < 60) mail = newsletter(seq, 4, ++rows);
    return mail;
  });
}

const PHOTO = { width: 2400, height: 1800, quality: 90 };

/** A 2400x1800 photo-like JPEG: smooth colour fields plus enough noise not to compress away. */
async function photoJpeg(): Promise<Buffer> {
  const { width: W, height: H } = PHOTO;
  const rnd = prng(42);
  const px = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const base = [128 + 90 * Math.sin(x / 170 + y / 260), 128 + 90 * Math.sin(y / 130), 128 + 90 * Math.cos((x + y) / 210)];
      for (let c = 0; c < 3; c++) px[i + c] = Math.max(0, Math.min(255, base[c]! + (rnd() - 0.5) * 70));
    }
  }
  return sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: PHOTO.quality })
    .toBuffer();
}

function photoMail(jpeg: Buffer): Buffer {
  const boundary = '----=_Bench_photo_mixed';
  const head = [
    `From: ${encodedWord('見本 花子')} <hanako@example.jp>`,
    'To: doboku@city.example.lg.jp',
    `Subject: ${encodedWord('現場写真の送付（市道3号線 補修箇所）')}`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0900',
    'Message-ID: <bench-photo@example.jp>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
  ];
  const body = [
    `--${boundary}`,
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64lines('土木課 ご担当者様\r\n\r\n市道3号線の補修箇所の写真をお送りします。\r\nご確認のほどよろしくお願いいたします。\r\n'),
    `--${boundary}`,
    'Content-Type: image/jpeg; name="=?UTF-8?B?54++5aC05YaZ55yfLmpwZw==?="',
    'Content-Transfer-Encoding: base64',
    "Content-Disposition: attachment; filename*=utf-8''%E7%8F%BE%E5%A0%B4%E5%86%99%E7%9C%9F.jpg",
    '',
    b64lines(jpeg),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body.join('\r\n')}`, 'latin1');
}

// ---------------------------------------------------------------------------
// Measuring (in a child process per phase)
// ---------------------------------------------------------------------------

interface Figures {
  messages: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  peakRssMiB: number;
}

const PHASES = ['html-sanitize', 'html-parse', 'photo-sanitize', 'photo-sharp', 'html-stages'] as const;
type Phase = (typeof PHASES)[number];

type PhaseResult =
  { phase: Phase; figures: Figures; info: Record<string, number | string> } | { phase: 'html-stages'; stages: Record<string, number>; sanitizeMeanMs: number; info: Record<string, number | string> };

const percentile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

async function measure(inputs: readonly Buffer[], plan: { warmup: number; count: number; maxSeconds: number; concurrency: number }, one: (raw: Buffer) => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < plan.warmup; i++) await one(inputs[i % inputs.length]!);
  const times: number[] = [];
  const start = performance.now();
  const stopAt = start + plan.maxSeconds * 1000;
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < plan.count && performance.now() < stopAt; i = next++) {
      const t = performance.now();
      await one(inputs[i % inputs.length]!);
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, lane));
  const seconds = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return { messages: times.length, seconds, perSecond: times.length / seconds, p50ms: percentile(times, 0.5), p99ms: percentile(times, 0.99), peakRssMiB: peakRssMiB() };
}

async function realDeps(): Promise<{ deps: SanitizeDeps; done: () => Promise<void> }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mugaika-bench-'));
  // The gateway's own vault: SQLite row, audit record and sealed blob per put, all fsync'd.
  const store = await openSqliteStore(dataDir);
  const audit = await openAuditLogThread({ dataDir });
  const quarantine = await openVault({ dataDir, store, audit, env: {} });
  return {
    deps: { quarantine, images: createSharpTranscoder(), documents: noDocuments, now: () => new Date(), randomToken: () => randomUUID() },
    // The audit thread may still be writing (a checkpoint, audit/head.json): stop it before removing its folder.
    async done() {
      await audit.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function sanitizeOrFail(raw: Buffer, deps: SanitizeDeps): Promise<void> {
  const r = await sanitize({ raw }, defaultPolicy, deps);
  if (r.action !== 'deliver' || r.verdict === 'blocked') throw new Error(`bench input was not sanitized part by part: ${r.verdict} ${JSON.stringify(r.findings)}`);
}

async function runPhase(phase: Phase): Promise<PhaseResult> {
  if (phase === 'html-sanitize' || phase === 'html-parse' || phase === 'html-stages') {
    const mails = htmlMails();
    const info = { variants: mails.length, meanBytes: Math.round(mails.reduce((n, m) => n + m.length, 0) / mails.length) };
    if (phase === 'html-parse') return { phase, info, figures: await measure(mails, PLAN.html, (raw) => simpleParser(raw)) };
    const { deps, done } = await realDeps();
    try {
      if (phase === 'html-sanitize') return { phase, info, figures: await measure(mails, PLAN.html, (raw) => sanitizeOrFail(raw, deps)) };
      return { phase, info, ...(await stageBreakdown(mails, deps)) };
    } finally {
      await done();
    }
  }
  const jpeg = await photoJpeg();
  const mail = photoMail(jpeg);
  const info = { jpegBytes: jpeg.length, mailBytes: mail.length, width: PHOTO.width, height: PHOTO.height, quality: PHOTO.quality };
  if (phase === 'photo-sharp') {
    // What the transcoder must at least do: decode the JPEG, encode a new one (same quality setting as the policy).
    const one = (bytes: Buffer) => sharp(bytes).jpeg({ quality: defaultPolicy.output.jpegQuality }).toBuffer();
    return { phase, info, figures: await measure([jpeg], PLAN.photo, one) };
  }
  const { deps, done } = await realDeps();
  try {
    return { phase, info, figures: await measure([mail], PLAN.photo, (raw) => sanitizeOrFail(raw, deps)) };
  } finally {
    await done();
  }
}

/** Mean milliseconds of each stage of the HTML path, run on its own on the same mails. */
async function stageBreakdown(mails: readonly Buffer[], deps: SanitizeDeps): Promise<{ stages: Record<string, number>; sanitizeMeanMs: number }> {
  const policy = defaultPolicy;
  const labels = labelsFor(policy.language);
  const now = new Date();
  const parsed = await Promise.all(mails.map((m) => parseMessage(m)));
  const bodies = parsed.map((p) => sanitizeBody(p, labels, policy));
  const headers = parsed.map((p) => buildHeaders(p, policy, labels, now));
  const findings = bodies.map((b, i) => [...headers[i]!.findings, ...b.findings]);
  const notices = bodies.map((_, i) => buildNotice({ messageFindings: findings[i]!, attachments: [], quarantineId: 'Q-20261126-AAAAAAAAAA', blocked: false, notice: policy.notice }, labels));
  const meta = (i: number) => ({ receivedAt: now, envelopeFrom: null, envelopeTo: [], from: headers[i]!.headers.from.address, to: [], subject: headers[i]!.headers.subject, findings: findings[i]! });

  const stages: Record<string, (i: number) => unknown> = {
    scanShape: (i) => scanShape(mails[i]!, policy.limits),
    parseMessage: (i) => parseMessage(mails[i]!),
    sanitizeBody: (i) => sanitizeBody(parsed[i]!, labels, policy),
    'buildHeaders+buildNotice': (i) => {
      buildHeaders(parsed[i]!, policy, labels, now);
      return buildNotice({ messageFindings: findings[i]!, attachments: [], quarantineId: 'Q-20261126-AAAAAAAAAA', blocked: false, notice: policy.notice }, labels);
    },
    composeMessage: (i) =>
      composeMessage({
        headers: headers[i]!.headers,
        body: `${notices[i]}\n${bodies[i]!.text}\n`,
        parts: [],
        verdict: 'sanitized',
        quarantineId: 'Q-20261126-AAAAAAAAAA',
        messageId: `<${randomUUID()}@bench.invalid>`,
      }),
    'quarantine.put': (i) => deps.quarantine.put(mails[i]!, meta(i)),
  };
  const out: Record<string, number> = {};
  const { warmup, count } = PLAN.stages;
  for (const [name, fn] of Object.entries(stages)) {
    for (let i = 0; i < warmup; i++) await fn(i % mails.length);
    const t = performance.now();
    for (let i = 0; i < count; i++) await fn(i % mails.length);
    out[name] = (performance.now() - t) / count;
  }
  for (let i = 0; i < warmup; i++) await sanitizeOrFail(mails[i % mails.length]!, deps);
  const t = performance.now();
  for (let i = 0; i < count; i++) await sanitizeOrFail(mails[i % mails.length]!, deps);
  return { stages: out, sanitizeMeanMs: (performance.now() - t) / count };
}

function inChild(phase: Phase): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--phase', phase, ...(QUICK ? ['--quick'] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: PhaseResult | undefined;
    child.on('message', (m) => {
      result = m as PhaseResult;
    });
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`bench phase ${phase} exited with ${code}`))));
  });
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');

function table(title: string, baselineName: string, s: Figures, b: Figures): string[] {
  const rows: [string, number, number, number][] = [
    ['messages/s', s.perSecond, b.perSecond, 1],
    ['p50 latency (ms)', s.p50ms, b.p50ms, 2],
    ['p99 latency (ms)', s.p99ms, b.p99ms, 2],
    ['peak RSS (MiB)', s.peakRssMiB, b.peakRssMiB, 1],
  ];
  return [
    title,
    `  ${'metric'.padEnd(18)}${'sanitize'.padStart(12)}${'baseline'.padStart(12)}${'sanitize/baseline'.padStart(20)}`,
    ...rows.map(([name, x, y, d]) => `  ${name.padEnd(18)}${fmt(x, d).padStart(12)}${fmt(y, d).padStart(12)}${ratio(x, y).padStart(20)}`),
    `  (${s.messages} messages in ${fmt(s.seconds, 1)} s; baseline: ${baselineName}, ${b.messages} in ${fmt(b.seconds, 1)} s)`,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpu = os.cpus();
  console.log(
    `mugaika core bench${QUICK ? ' (quick)' : ''}: node ${process.version}, ${cpu.length} CPU(s) ${cpu[0]?.model ?? ''}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`each phase runs in a fresh process (one thread); ${PLAN.html.concurrency} HTML / ${PLAN.photo.concurrency} photo messages in flight at once, baselines alike\n`);

  const htmlS = await inChild('html-sanitize');
  const htmlB = await inChild('html-parse');
  const photoS = await inChild('photo-sanitize');
  const photoB = await inChild('photo-sharp');
  if (!('figures' in htmlS && 'figures' in htmlB && 'figures' in photoS && 'figures' in photoB)) throw new Error('a phase returned no figures');

  const pass = htmlS.figures.perSecond >= TARGET_HTML_PER_SECOND;
  const lines = [
    ...table(
      `HTML newsletter: multipart/alternative UTF-8, ${htmlS.info.meanBytes} bytes raw on average, ${htmlS.info.variants} variants`,
      'mailparser simpleParser alone (parse-only)',
      htmlS.figures,
      htmlB.figures,
    ),
    '',
    ...table(
      `Photo mail: ${photoS.info.width}x${photoS.info.height} JPEG q${photoS.info.quality}, ${fmt(Number(photoS.info.jpegBytes) / 1e6, 2)} MB (${photoS.info.mailBytes} bytes raw mail)`,
      `sharp decode + re-encode (JPEG q${defaultPolicy.output.jpegQuality}) of the same JPEG alone`,
      photoS.figures,
      photoB.figures,
    ),
    '',
    `Target (issue): >= ${TARGET_HTML_PER_SECOND} HTML mails/s through the core: ${pass ? 'PASS' : 'FAIL'} (${fmt(htmlS.figures.perSecond)}/s)`,
  ];
  console.log(lines.join('\n'));

  let stages: PhaseResult | undefined;
  if (!pass || process.argv.includes('--stages')) {
    stages = await inChild('html-stages');
    if ('stages' in stages) {
      const total = Object.values(stages.stages).reduce((a, b) => a + b, 0);
      console.log(`\nHTML path, stage by stage (mean ms per message, each stage run on its own ${PLAN.stages.count} times):`);
      for (const [name, ms] of Object.entries(stages.stages).sort((a, b) => b[1] - a[1])) {
        console.log(`  ${name.padEnd(26)}${fmt(ms, 3).padStart(9)} ms  ${fmt((100 * ms) / total, 0).padStart(3)}%`);
      }
      console.log(`  ${'sum of stages'.padEnd(26)}${fmt(total, 3).padStart(9)} ms`);
      console.log(`  ${'whole sanitize() (mean)'.padEnd(26)}${fmt(stages.sanitizeMeanMs, 3).padStart(9)} ms`);
    }
  }

  const seconds = (performance.now() - started) / 1000;
  console.log(`\nbench took ${fmt(seconds, 1)} s; figures in ${path.relative(process.cwd(), OUT_FILE)}`);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(
    OUT_FILE,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? null,
        quick: QUICK,
        target: { htmlMessagesPerSecond: TARGET_HTML_PER_SECOND, measured: htmlS.figures.perSecond, pass },
        html: {
          input: htmlS.info,
          sanitize: htmlS.figures,
          baseline: { name: 'mailparser simpleParser', ...htmlB.figures },
          ratio: {
            perSecond: htmlS.figures.perSecond / htmlB.figures.perSecond,
            p50: htmlS.figures.p50ms / htmlB.figures.p50ms,
            p99: htmlS.figures.p99ms / htmlB.figures.p99ms,
            peakRss: htmlS.figures.peakRssMiB / htmlB.figures.peakRssMiB,
          },
        },
        photo: {
          input: photoS.info,
          sanitize: photoS.figures,
          baseline: { name: 'sharp decode + re-encode', ...photoB.figures },
          ratio: {
            perSecond: photoS.figures.perSecond / photoB.figures.perSecond,
            p50: photoS.figures.p50ms / photoB.figures.p50ms,
            p99: photoS.figures.p99ms / photoB.figures.p99ms,
            peakRss: photoS.figures.peakRssMiB / photoB.figures.peakRssMiB,
          },
        },
        htmlStages: stages && 'stages' in stages ? { meanMs: stages.stages, sanitizeMeanMs: stages.sanitizeMeanMs } : null,
        seconds,
      },
      null,
      2,
    )}\n`,
  );
}

const phaseAt = process.argv.indexOf('--phase');
if (phaseAt >= 0) {
  const phase = process.argv[phaseAt + 1] as Phase;
  if (!PHASES.includes(phase)) throw new Error(`unknown phase ${phase}`);
  const result = await runPhase(phase);
  // Exit once the result is sent: the vault's audit thread would keep this process alive.
  if (process.send) process.send(result, () => process.exit(0));
  else process.exit(0);
} else {
  await main();
}
