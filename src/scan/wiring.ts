// clamd's settings from the configuration (scan.clamdSocket, or MUGAIKA_CLAMD_SOCKET).
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { ClamdOptions } from './clamd.js';

/** The scanner the workers use, or none when no socket is configured. */
export const clamdOf = (config: Config): ClamdOptions | undefined => (config.scan.clamdSocket ? { socketPath: path.resolve(config.scan.clamdSocket), timeoutMs: config.scan.timeoutMs } : undefined);
