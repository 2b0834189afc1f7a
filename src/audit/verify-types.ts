// What verifying the audit log answers, and the jobs it hands to threads
// (verify.ts does the checking; verify-parallel.ts runs chunks on a thread).
import type { AuditTrust } from './signer.js';
import type { ChainHead, Checkpoint, Store } from '../store/types.js';

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
  /** Checks chunks of a long log on another thread too (segmentsOnThreads, src/audit/verify-parallel.ts). */
  parallel?: (job: ChunkJob) => Promise<ChunkResult[]>;
  /** Logs shorter than this are checked on one thread (default 200,000). */
  parallelMinRecords?: number;
  /** Records per chunk when checked on two threads (default 25,000). */
  chunkRecords?: number;
}

/** How many recent hashes are kept to tell inserted records from edited ones. */

export interface SegmentStart {
  /** The record before the segment: verified, or as the store holds it (checked when chunks are joined). */
  prev: ChainHead;
  lastGoodCheckpoint: number;
  checked: number;
}

export type SegmentResult = { ok: true; prev: ChainHead; lastGoodCheckpoint: number; checked: number } | VerifyFailed;

/**
 * A long log cut into chunks that two threads check at once, each claiming
 * the next unclaimed chunk when done with one, so that neither waits for the
 * other (a thread that starts later, or runs slower, just checks fewer).
 */
export interface ChunkJob {
  /** Chunk i is records bounds[i]+1 .. bounds[i+1]. */
  bounds: number[];
  /** Int32Array [next chunk to claim, first chunk found bad (bounds.length until one is)], shared by the threads. */
  claims: SharedArrayBuffer;
  /** head.json's checkpoint, its signature already checked. */
  headCheckpoint: Checkpoint | null;
  /** The trusted keys (AuditTrust.publicKeysPem). */
  trustedKeys: readonly string[];
}

/** A checked chunk, and the hash it took the record before it to have (the store's). */
export interface ChunkResult {
  chunk: number;
  startHash: string;
  result: SegmentResult;
}

/** What a segment reads and checks against. */
export interface SegmentContext {
  store: Pick<Store, 'scanAuditIndexed' | 'checkpoints' | 'lastCheckpointSeq'>;
  trust: AuditTrust;
  /** head.json's checkpoint, its signature already checked; null when there is none (or it is not checked). */
  headCheckpoint: Checkpoint | null;
  pageSize: number;
  onProgress?: (seq: number) => void;
}
