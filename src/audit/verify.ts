// Verifies the audit log end to end:
//
//  - records are numbered 1, 2, 3, ... without gaps;
//  - each record's prevHash is the previous record's hash, and its hash is
//    SHA-256 over prevHash and its stored fields;
//  - the search columns (sender, recipients, verdict) agree with details;
//  - every checkpoint is signed by a trusted key and the record at its seq
//    has its hash (this catches a chain rewritten forward from an edit);
//  - the checkpoint in <data dir>/audit/head.json is in the chain (this
//    catches deleting the newest records together with their checkpoints).
//
// Records are read in pages, each with the checkpoints among its records, so
// memory stays flat for any length of log and any number of checkpoints.
import { GENESIS_HASH, renderedHash, valuesHash } from './chain.js';
import { readHeadFile } from './head-file.js';
import type { AuditTrust, CheckpointCheck } from './signer.js';
import { deriveIndexFromText } from '../store/derive.js';
import type { Checkpoint, IndexedAuditRow, Store } from '../store/types.js';
import type { ChunkJob, ChunkResult, SegmentContext, SegmentResult, SegmentStart, VerifyFailed, VerifyOptions, VerifyProblemKind, VerifyResult } from './verify-types.js';

export type * from './verify-types.js';

const LOOKBACK = 1024;

const sameSet = (a: readonly unknown[], b: readonly unknown[]): boolean => {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
};

/** A checkpoint whose signature does not hold. */
function signatureProblem(c: Checkpoint, check: Exclude<CheckpointCheck, 'valid'>, records: number, checkpoints: number): VerifyFailed {
  return check === 'bad-signature'
    ? {
        ok: false,
        firstBadSeq: c.seq,
        kind: 'checkpoint-bad-signature',
        problem: `連番 ${c.seq} のチェックポイントの署名が不正です (改ざんされています) / the checkpoint at seq ${c.seq} has an invalid signature: it was forged or altered`,
        records,
        checkpoints,
      }
    : {
        ok: false,
        firstBadSeq: c.seq,
        kind: 'checkpoint-unknown-key',
        problem: `連番 ${c.seq} のチェックポイントは未知の鍵 ${c.keyId} で署名されています。別のゲートウェイの鍵なら、その audit-signing.pub を keys/trusted/ に置いてください / the checkpoint at seq ${c.seq} is signed by unknown key ${c.keyId}: if another gateway made it, copy its audit-signing.pub into keys/trusted/`,
        records,
        checkpoints,
      };
}

/** Below this many records one thread is quick enough. */
const PARALLEL_MIN_RECORDS = 200_000;
const CHUNK_RECORDS = 25_000;

/**
 * Whether the stored recipients (a JSON array text) are the derived set. The
 * text is what JSON.stringify makes of the derived list when the database
 * holds the same addresses in the same order (the usual case); any other
 * text is parsed and compared as a set.
 */
function sameRecipients(derived: readonly string[], stored: string): boolean {
  if (JSON.stringify(derived) === stored) return true;
  let list: unknown;
  try {
    list = JSON.parse(stored);
  } catch {
    return false;
  }
  return Array.isArray(list) && sameSet(derived, list);
}

/**
 * The hashes of the LOOKBACK records up to `seq` as the store holds them, by
 * seq % LOOKBACK, and the hash of record `seq` ('' when it has none): what a
 * segment starting after `seq` needs to name problems at its start as one
 * thread reading from the first record would. Whoever checked those records
 * vouches for them.
 */
async function hashesUpTo(store: SegmentContext['store'], seq: number): Promise<{ recent: string[]; hash: string }> {
  const recent = new Array<string>(LOOKBACK);
  let hash = '';
  if (seq <= 0) return { recent, hash };
  const from = Math.max(0, seq - LOOKBACK);
  await store.scanAuditIndexed(from, seq - from, (r) => {
    if (r[0] > seq) return false;
    recent[r[0] % LOOKBACK] = r[4];
    if (r[0] === seq) hash = r[4];
    return true;
  });
  return { recent, hash };
}

/**
 * Checks the records after `start.prev` up to `untilSeq`, page by page, each
 * row as it is read. `recent`: the hashes before start.prev (hashesUpTo).
 */
export async function checkSegment(ctx: SegmentContext, start: SegmentStart, untilSeq: number, recent: string[] = new Array<string>(LOOKBACK)): Promise<SegmentResult> {
  const { store, trust, headCheckpoint: head, pageSize } = ctx;
  let prevSeq = start.prev.seq;
  let prevHash = start.prev.hash;
  let lastGoodCheckpoint = start.lastGoodCheckpoint;
  let checked = start.checked;
  let failed: VerifyFailed | null = null;
  const fail = (firstBadSeq: number, kind: VerifyProblemKind, problem: string, records: number): false => {
    failed = { ok: false, firstBadSeq, kind, problem, records, checkpoints: checked };
    return false;
  };
  const mismatch = (source: 'db' | 'head-file', seq: number): false => {
    const from = lastGoodCheckpoint + 1;
    return fail(
      from,
      source === 'head-file' ? 'head-file-mismatch' : 'checkpoint-mismatch',
      `連番 ${seq} の署名付きチェックポイントと記録のハッシュが一致しません。連番 ${from}〜${seq} が書き換えられています / the signed ${source === 'head-file' ? 'head file' : 'checkpoint'} at seq ${seq} does not match the record: records ${from} to ${seq} were rewritten`,
      lastGoodCheckpoint,
    );
  };
  /** The checkpoints among the page's records, in seq order, and the next one to check. */
  let cps: Checkpoint[] = [];
  let next = 0;

  const visit = (r: IndexedAuditRow): boolean => {
    const seq = r[0];
    const done = prevSeq;
    if (seq !== prevSeq + 1) {
      return fail(
        prevSeq + 1,
        'missing-record',
        `連番 ${prevSeq + 1} の記録がありません (削除されています)。次の記録は連番 ${seq} です / record ${prevSeq + 1} is missing (deleted); the next record is ${seq}`,
        done,
      );
    }
    const canonical = r[1];
    const linked = r[3];
    const hash = r[4];
    let selfHash = renderedHash(linked, canonical);
    // The store's JSON may say the same values otherwise than JSON.stringify: hash them as the log wrote them.
    if (selfHash !== hash) selfHash = valuesHash(linked, canonical) ?? selfHash;
    if (linked !== prevHash) {
      let earlier = 0;
      for (let j = prevSeq - 1; j >= 1 && j > prevSeq - LOOKBACK; j--) {
        if (recent[j % LOOKBACK] === linked) {
          earlier = j;
          break;
        }
      }
      // Records inserted before r renumber it: its hash was made with its old seq.
      if (earlier > 0 && (selfHash === hash || valuesHash(linked, canonical, seq - (prevSeq - earlier)) === hash)) {
        // It links to an earlier record: those in between were inserted.
        const from = earlier + 1;
        return fail(from, 'inserted-records', `連番 ${from}〜${prevSeq} の記録が挿入されています / records ${from} to ${prevSeq} were inserted into the chain`, from - 1);
      }
      if (selfHash === hash) {
        return fail(
          prevSeq,
          'rehashed-record',
          `連番 ${prevSeq} の記録が変更され、ハッシュが再計算されています / record ${prevSeq} was changed and its hash recomputed: record ${seq} no longer links to it`,
          done - 1,
        );
      }
      return fail(
        seq,
        'broken-link',
        `連番 ${seq} の記録が前の記録とつながっていません (変更・挿入・並べ替え) / record ${seq} does not link to record ${prevSeq}: it was changed, inserted or moved`,
        done,
      );
    }
    if (selfHash !== hash) {
      return fail(seq, 'edited-record', `連番 ${seq} の記録が変更されています (ハッシュ不一致) / record ${seq} was altered: its hash does not match its content`, done);
    }
    const idx = deriveIndexFromText(r[2]);
    if (idx.sender !== r[5] || idx.verdict !== r[6] || !sameRecipients(idx.recipients, r[7])) {
      return fail(
        seq,
        'index-mismatch',
        `連番 ${seq} の検索用の列 (差出人・宛先・判定) が詳細と一致しません / record ${seq}: the search columns (sender, recipients, verdict) were altered and no longer match its details`,
        done,
      );
    }
    // A checkpoint counts only when a trusted key made it. One at a seq that is
    // no record's (only a tampered table has one) gets its signature checked too.
    let vouched = false;
    while (next < cps.length && !((cps[next] as Checkpoint).seq > seq)) {
      const c = cps[next++] as Checkpoint;
      const check = trust.check(c);
      if (check !== 'valid') {
        failed = signatureProblem(c, check, done, checked);
        return false;
      }
      if (c.seq !== seq) continue;
      checked++;
      if (c.hash !== hash) return mismatch('db', seq);
      vouched = true;
    }
    if (head?.seq === seq) {
      checked++;
      if (head.hash !== hash) return mismatch('head-file', seq);
      vouched = true;
    }
    if (vouched) lastGoodCheckpoint = seq;
    recent[seq % LOOKBACK] = hash;
    prevSeq = seq;
    prevHash = hash;
    return true;
  };

  for (let afterSeq = start.prev.seq; afterSeq < untilSeq; afterSeq = prevSeq) {
    // Records are consecutive (a gap fails), so this page ends at untilSeq at the latest.
    const limit = Math.min(pageSize, untilSeq - afterSeq);
    cps = await store.checkpoints({ afterSeq, untilSeq: afterSeq + limit });
    next = 0;
    const n = await store.scanAuditIndexed(afterSeq, limit, visit);
    if (failed) return failed;
    if (n > 0) ctx.onProgress?.(prevSeq);
    // Fewer than asked for: the end of the log.
    if (n < limit) break;
  }
  return { ok: true, prev: { seq: prevSeq, hash: prevHash }, lastGoodCheckpoint, checked };
}

/** Claims chunks of `job` and checks them until none is left: each thread runs this. */
export async function checkChunks(ctx: SegmentContext, job: ChunkJob): Promise<ChunkResult[]> {
  const claims = new Int32Array(job.claims);
  const out: ChunkResult[] = [];
  for (;;) {
    const chunk = Atomics.add(claims, 0, 1);
    // Past the last chunk, or past one found bad: what comes after it is not reported.
    if (chunk >= job.bounds.length - 1 || chunk > Atomics.load(claims, 1)) return out;
    const afterSeq = job.bounds[chunk] as number;
    const { recent, hash } = afterSeq === 0 ? { recent: undefined, hash: GENESIS_HASH } : await hashesUpTo(ctx.store, afterSeq);
    const head = ctx.headCheckpoint;
    const lastGoodCheckpoint = Math.max(head && head.seq <= afterSeq ? head.seq : 0, await ctx.store.lastCheckpointSeq(afterSeq));
    const result = await checkSegment(ctx, { prev: { seq: afterSeq, hash }, lastGoodCheckpoint, checked: 0 }, job.bounds[chunk + 1] as number, recent);
    out.push({ chunk, startHash: hash, result });
    if (!result.ok) {
      for (let bad = Atomics.load(claims, 1); chunk < bad;) {
        const was = Atomics.compareExchange(claims, 1, bad, chunk);
        if (was === bad) break;
        bad = was;
      }
    }
  }
}

export async function verifyAudit(store: Store, trust: AuditTrust, opts: VerifyOptions): Promise<VerifyResult> {
  const pageSize = opts.pageSize ?? 5000;
  let checked = 0;
  const fail = (firstBadSeq: number, kind: VerifyProblemKind, problem: string, records: number): VerifyFailed => ({
    ok: false,
    firstBadSeq,
    kind,
    problem,
    records,
    checkpoints: checked,
  });

  // Checkpoints are checked with the records they vouch for (checkSegment);
  // those at seq 0 or below vouch for none, but a forged one is still forgery.
  for (const c of await store.checkpoints({ untilSeq: 0 })) {
    const check = trust.check(c);
    if (check !== 'valid') return signatureProblem(c, check, 0, 0);
  }
  let headCheckpoint: Checkpoint | null = null;
  if (opts.headFile) {
    headCheckpoint = await readHeadFile(opts.headFile);
    if (headCheckpoint) {
      const check = trust.check(headCheckpoint);
      if (check !== 'valid') {
        return fail(
          headCheckpoint.seq,
          check === 'bad-signature' ? 'head-file-bad-signature' : 'head-file-unknown-key',
          check === 'bad-signature'
            ? `${opts.headFile} の署名が不正です / ${opts.headFile} has an invalid signature: it was altered`
            : `${opts.headFile} は未知の鍵 ${headCheckpoint.keyId} で署名されています / ${opts.headFile} is signed by unknown key ${headCheckpoint.keyId}`,
          0,
        );
      }
    }
  }
  const ctx: SegmentContext = { store, trust, headCheckpoint, pageSize };

  // Long logs are cut into chunks that this thread and another check at once,
  // then joined in order; whatever was appended meanwhile is checked here after them.
  let start: SegmentStart = { prev: { seq: 0, hash: GENESIS_HASH }, lastGoodCheckpoint: 0, checked: 0 };
  const split = opts.parallel ? (await store.head()).seq : 0;
  if (split >= (opts.parallelMinRecords ?? PARALLEL_MIN_RECORDS)) {
    const count = Math.max(2, Math.ceil(split / (opts.chunkRecords ?? CHUNK_RECORDS)));
    const bounds = Array.from({ length: count + 1 }, (_, i) => Math.round((i * split) / count));
    const claims = new SharedArrayBuffer(8);
    new Int32Array(claims).set([0, count]);
    const job: ChunkJob = { bounds, claims, headCheckpoint, trustedKeys: trust.publicKeysPem };
    const theirs = opts.parallel!(job);
    // Awaited below; until then its failure must not go unhandled (that ends the process).
    theirs.catch(() => undefined);
    const mine = await checkChunks(ctx, job);
    const chunks = new Map([...mine, ...(await theirs)].map((c) => [c.chunk, c]));
    for (let i = 0; i < count; i++) {
      const c = chunks.get(i);
      if (!c) throw new Error(`audit verify: chunk ${i} of ${count} was not checked`);
      if (c.startHash !== start.prev.hash) {
        const at = bounds[i] as number;
        return fail(
          at + 1,
          'broken-link',
          `連番 ${at + 1} の記録が前の記録とつながっていません (変更・挿入・並べ替え) / record ${at + 1} does not link to record ${at}: it was changed, inserted or moved`,
          at,
        );
      }
      if (!c.result.ok) return { ...c.result, checkpoints: start.checked + c.result.checkpoints };
      start = { prev: c.result.prev, lastGoodCheckpoint: c.result.lastGoodCheckpoint, checked: start.checked + c.result.checked };
    }
  }
  const rest = await checkSegment({ ...ctx, onProgress: opts.onProgress }, start, Infinity, (await hashesUpTo(store, start.prev.seq)).recent);
  if (!rest.ok) return rest;
  const prev = rest.prev;
  const lastGoodCheckpoint = rest.lastGoodCheckpoint;
  checked = rest.checked;

  // Checkpoints past the last record: signed ones mean records were deleted.
  const later = await store.checkpoints({ afterSeq: prev.seq });
  for (const c of later) {
    const check = trust.check(c);
    if (check !== 'valid') return signatureProblem(c, check, prev.seq, checked);
  }
  const beyond = [...later.map((c) => ({ seq: c.seq, fromHead: false })), ...(headCheckpoint ? [{ seq: headCheckpoint.seq, fromHead: true }] : [])]
    .filter((x) => x.seq > prev.seq)
    .sort((a, b) => a.seq - b.seq || Number(b.fromHead) - Number(a.fromHead))[0];
  if (beyond !== undefined) {
    const { fromHead } = beyond;
    return fail(
      prev.seq + 1,
      'records-deleted-at-end',
      `${fromHead ? '監査ログの head.json' : '署名付きチェックポイント'}は連番 ${beyond.seq} を記録していますが、記録は連番 ${prev.seq} までしかありません (末尾が削除されています) / the ${fromHead ? 'head file' : 'signed checkpoint'} names record ${beyond.seq} but the log ends at ${prev.seq}: the newest records were deleted`,
      prev.seq,
    );
  }
  return {
    ok: true,
    records: prev.seq,
    head: prev,
    checkpoints: checked,
    unsignedTail: prev.seq - lastGoodCheckpoint,
    headFile: opts.headFile === null ? 'not-checked' : headCheckpoint ? 'matched' : 'absent',
  };
}
