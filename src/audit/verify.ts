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
// Records are read in pages, so memory stays flat for any length of log.
import { GENESIS_HASH, rowHash } from './chain.js';
import { readHeadFile } from './head-file.js';
import type { AuditTrust } from './signer.js';
import { deriveIndexFromText } from '../store/derive.js';
import type { ChainHead, Checkpoint, IndexedAuditRow, Store } from '../store/types.js';

export type VerifyProblemKind =
  | 'missing-record'
  | 'edited-record'
  | 'rehashed-record'
  | 'inserted-records'
  | 'broken-link'
  | 'index-mismatch'
  | 'checkpoint-bad-signature'
  | 'checkpoint-unknown-key'
  | 'checkpoint-mismatch'
  | 'records-deleted-at-end'
  | 'head-file-bad-signature'
  | 'head-file-unknown-key'
  | 'head-file-mismatch';

export interface VerifyOk {
  ok: true;
  /** Records checked (= the head seq). */
  records: number;
  head: ChainHead;
  /** Checkpoints whose signature and hash were checked. */
  checkpoints: number;
  /** Records after the last checkpoint (not yet signed). */
  unsignedTail: number;
  /** Whether head.json was found and matched (absent: a fresh data dir, or another gateway's). */
  headFile: 'matched' | 'absent' | 'not-checked';
}

export interface VerifyFailed {
  ok: false;
  /** The first record that cannot be trusted. */
  firstBadSeq: number;
  kind: VerifyProblemKind;
  /** What is wrong, in Japanese then English. */
  problem: string;
  /** Records checked before the problem was found. */
  records: number;
  checkpoints: number;
}

export type VerifyResult = VerifyOk | VerifyFailed;

export interface VerifyOptions {
  /** head.json to check (headFilePath(dataDir)); null to skip. */
  headFile: string | null;
  pageSize?: number;
  onProgress?: (seq: number) => void;
  /** Checks the second half of a long log on another thread (src/audit/verify-segment-worker.ts). */
  parallel?: (job: SegmentJob) => Promise<SegmentResult>;
  /** Logs shorter than this are checked on one thread (default 200,000). */
  parallelMinRecords?: number;
}

/** How many recent hashes are kept to tell inserted records from edited ones. */
const LOOKBACK = 1024;

const sameSet = (a: readonly unknown[], b: readonly unknown[]): boolean => {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
};


export interface SegmentStart {
  /** The record before the segment; hash '' when the segment starts mid-chain on another thread. */
  prev: ChainHead;
  lastGoodCheckpoint: number;
  checked: number;
}

export type SegmentResult = { ok: true; prev: ChainHead; lastGoodCheckpoint: number; checked: number; firstPrevHash: string | null } | VerifyFailed;

export type CheckpointsBySeq = Map<number, { c: Checkpoint; source: 'db' | 'head-file' }[]>;

/** What a second thread is asked to check: records afterSeq+1 .. untilSeq. */
export interface SegmentJob {
  afterSeq: number;
  untilSeq: number;
  lastGoodCheckpoint: number;
  checkpoints: [number, { c: Checkpoint; source: 'db' | 'head-file' }[]][];
}

/** Below this many records one thread is quick enough. */
const PARALLEL_MIN_RECORDS = 200_000;

/** Reads records after `afterSeq`, at most `limit`, one row at a time (Store.scanAuditIndexed). */
export type ScanRecords = (afterSeq: number, limit: number, visit: (row: IndexedAuditRow) => boolean) => Promise<number>;

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

/** Checks the records after `start.prev` up to `untilSeq`, page by page, each row as it is read. */
export async function checkSegment(
  scan: ScanRecords,
  start: SegmentStart,
  bySeq: CheckpointsBySeq,
  untilSeq: number,
  pageSize: number,
  onProgress?: (seq: number) => void,
): Promise<SegmentResult> {
  /** The last LOOKBACK hashes, by seq % LOOKBACK. */
  const recent = new Array<string>(LOOKBACK);
  let prevSeq = start.prev.seq;
  let prevHash = start.prev.hash;
  let lastGoodCheckpoint = start.lastGoodCheckpoint;
  let checked = start.checked;
  // A segment that starts mid-chain (hash ''): its first record's link is checked by whoever joins segments.
  let linkUnknown = start.prev.seq > 0 && start.prev.hash === '';
  /** The hash prev-linked by the segment's first record, when linkUnknown. */
  let firstPrevHash: string | null = null;
  let failed: VerifyFailed | null = null;
  const fail = (firstBadSeq: number, kind: VerifyProblemKind, problem: string, records: number): false => {
    failed = { ok: false, firstBadSeq, kind, problem, records, checkpoints: checked };
    return false;
  };

  const visit = (r: IndexedAuditRow): boolean => {
    const seq = r[0];
    const done = prevSeq;
    if (seq !== prevSeq + 1) {
      return fail(prevSeq + 1, 'missing-record', `連番 ${prevSeq + 1} の記録がありません (削除されています)。次の記録は連番 ${seq} です / record ${prevSeq + 1} is missing (deleted); the next record is ${seq}`, done);
    }
    const linked = r[6];
    const hash = r[7];
    if (linkUnknown) {
      linkUnknown = false;
      firstPrevHash = linked;
      prevHash = linked;
    }
    const selfHash = rowHash(linked, r);
    if (linked !== prevHash) {
      let earlier = 0;
      for (let j = prevSeq - 1; j >= 1 && j > prevSeq - LOOKBACK; j--) {
        if (recent[j % LOOKBACK] === linked) {
          earlier = j;
          break;
        }
      }
      // Records inserted before r renumber it: its hash was made with its old seq.
      if (earlier > 0 && (selfHash === hash || rowHash(linked, r, seq - (prevSeq - earlier)) === hash)) {
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
      return fail(seq, 'broken-link', `連番 ${seq} の記録が前の記録とつながっていません (変更・挿入・並べ替え) / record ${seq} does not link to record ${prevSeq}: it was changed, inserted or moved`, done);
    }
    if (selfHash !== hash) {
      return fail(seq, 'edited-record', `連番 ${seq} の記録が変更されています (ハッシュ不一致) / record ${seq} was altered: its hash does not match its content`, done);
    }
    const idx = deriveIndexFromText(r[5]);
    if (idx.sender !== r[8] || idx.verdict !== r[9] || !sameRecipients(idx.recipients, r[10])) {
      return fail(seq, 'index-mismatch', `連番 ${seq} の検索用の列 (差出人・宛先・判定) が詳細と一致しません / record ${seq}: the search columns (sender, recipients, verdict) were altered and no longer match its details`, done);
    }
    const cps = bySeq.get(seq);
    if (cps) {
      for (const { c, source } of cps) {
        checked++;
        if (c.hash !== hash) {
          const from = lastGoodCheckpoint + 1;
          return fail(
            from,
            source === 'head-file' ? 'head-file-mismatch' : 'checkpoint-mismatch',
            `連番 ${seq} の署名付きチェックポイントと記録のハッシュが一致しません。連番 ${from}〜${seq} が書き換えられています / the signed ${source === 'head-file' ? 'head file' : 'checkpoint'} at seq ${seq} does not match the record: records ${from} to ${seq} were rewritten`,
            lastGoodCheckpoint,
          );
        }
      }
      lastGoodCheckpoint = seq;
    }
    recent[seq % LOOKBACK] = hash;
    prevSeq = seq;
    prevHash = hash;
    return true;
  };

  for (let afterSeq = start.prev.seq; afterSeq < untilSeq; afterSeq = prevSeq) {
    // Records are consecutive (a gap fails), so this page ends at untilSeq at the latest.
    const limit = Math.min(pageSize, untilSeq - afterSeq);
    const n = await scan(afterSeq, limit, visit);
    if (failed) return failed;
    if (n > 0) onProgress?.(prevSeq);
    // Fewer than asked for: the end of the log.
    if (n < limit) break;
  }
  return { ok: true, prev: { seq: prevSeq, hash: prevHash }, lastGoodCheckpoint, checked, firstPrevHash };
}

export async function verifyAudit(store: Store, trust: AuditTrust, opts: VerifyOptions): Promise<VerifyResult> {
  const pageSize = opts.pageSize ?? 5000;
  const scan: ScanRecords = (after, limit, visit) => store.scanAuditIndexed(after, limit, visit);
  const allCheckpoints = await store.checkpoints();
  let checked = 0;
  const fail = (firstBadSeq: number, kind: VerifyProblemKind, problem: string, records: number): VerifyFailed => ({
    ok: false,
    firstBadSeq,
    kind,
    problem,
    records,
    checkpoints: checked,
  });

  // Signatures first: a checkpoint counts only when a trusted key made it.
  const bySeq = new Map<number, { c: Checkpoint; source: 'db' | 'head-file' }[]>();
  for (const c of allCheckpoints) {
    const check = trust.check(c);
    if (check === 'bad-signature') {
      return fail(c.seq, 'checkpoint-bad-signature', `連番 ${c.seq} のチェックポイントの署名が不正です (改ざんされています) / the checkpoint at seq ${c.seq} has an invalid signature: it was forged or altered`, 0);
    }
    if (check === 'unknown-key') {
      return fail(
        c.seq,
        'checkpoint-unknown-key',
        `連番 ${c.seq} のチェックポイントは未知の鍵 ${c.keyId} で署名されています。別のゲートウェイの鍵なら、その audit-signing.pub を keys/trusted/ に置いてください / the checkpoint at seq ${c.seq} is signed by unknown key ${c.keyId}: if another gateway made it, copy its audit-signing.pub into keys/trusted/`,
        0,
      );
    }
    const list = bySeq.get(c.seq) ?? [];
    list.push({ c, source: 'db' });
    bySeq.set(c.seq, list);
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
      const list = bySeq.get(headCheckpoint.seq) ?? [];
      list.push({ c: headCheckpoint, source: 'head-file' });
      bySeq.set(headCheckpoint.seq, list);
    }
  }

  // Long logs are checked in two halves at once (the first here, the second on
  // another thread, each reading its own pages), then joined; whatever was
  // appended meanwhile is checked here after them.
  let start: SegmentStart = { prev: { seq: 0, hash: GENESIS_HASH }, lastGoodCheckpoint: 0, checked: 0 };
  const split = opts.parallel ? (await store.head()).seq : 0;
  if (split >= (opts.parallelMinRecords ?? PARALLEL_MIN_RECORDS)) {
    const middle = Math.floor(split / 2);
    const goodBefore = Math.max(0, ...[...bySeq.keys()].filter((k) => k <= middle));
    const second = opts.parallel!({ afterSeq: middle, untilSeq: split, lastGoodCheckpoint: goodBefore, checkpoints: [...bySeq] });
    const first = await checkSegment(scan, start, bySeq, middle, pageSize);
    const tail = await second;
    if (!first.ok) return first;
    if (!tail.ok) return { ...tail, checkpoints: first.checked + tail.checkpoints };
    if (tail.firstPrevHash !== first.prev.hash) {
      return fail(middle + 1, 'broken-link', `連番 ${middle + 1} の記録が前の記録とつながっていません (変更・挿入・並べ替え) / record ${middle + 1} does not link to record ${middle}: it was changed, inserted or moved`, middle);
    }
    start = { prev: tail.prev, lastGoodCheckpoint: tail.lastGoodCheckpoint, checked: first.checked + tail.checked };
  }
  const rest = await checkSegment(scan, start, bySeq, Infinity, pageSize, opts.onProgress);
  if (!rest.ok) return rest;
  const prev = rest.prev;
  const lastGoodCheckpoint = rest.lastGoodCheckpoint;
  checked = rest.checked;

  const beyond = [...bySeq.keys()].filter((s) => s > prev.seq).sort((a, b) => a - b)[0];
  if (beyond !== undefined) {
    const fromHead = bySeq.get(beyond)?.some((x) => x.source === 'head-file') === true;
    return fail(
      prev.seq + 1,
      'records-deleted-at-end',
      `${fromHead ? '監査ログの head.json' : '署名付きチェックポイント'}は連番 ${beyond} を記録していますが、記録は連番 ${prev.seq} までしかありません (末尾が削除されています) / the ${fromHead ? 'head file' : 'signed checkpoint'} names record ${beyond} but the log ends at ${prev.seq}: the newest records were deleted`,
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
