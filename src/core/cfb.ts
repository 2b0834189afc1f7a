// Old Office files (.doc, .xls, .ppt) and password-protected new ones (.docx
// and friends wrapped in an "EncryptedPackage") are all Compound File Binary
// containers (MS-CFB); file-type only says "cfb". What is inside is told by
// the names of the streams in the container's directory.

export type CfbContent = 'doc' | 'xls' | 'ppt' | 'encrypted-ooxml' | 'outlook-message' | 'other';

const CFB_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const ENTRY_BYTES = 128;
/** Enough for the directory of any real document; a longer scan proves nothing more. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;

const STREAMS: ReadonlyArray<[string, CfbContent]> = [
  ['EncryptedPackage', 'encrypted-ooxml'],
  ['WordDocument', 'doc'],
  ['Workbook', 'xls'],
  ['Book', 'xls'],
  ['PowerPoint Document', 'ppt'],
];

const isCfb = (b: Uint8Array): boolean => CFB_MAGIC.every((m, i) => b[i] === m);

/**
 * The names of the directory entries found in the container. Directory
 * sectors start on 512-byte boundaries and hold 128-byte entries whose
 * length field matches the UTF-16 name, so only such aligned entries count.
 */
function entryNames(b: Uint8Array): Set<string> {
  const names = new Set<string>();
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const end = Math.min(b.length, MAX_SCAN_BYTES) - ENTRY_BYTES;
  for (let at = 512; at <= end; at += ENTRY_BYTES) {
    const nameBytes = view.getUint16(at + 64, true);
    const type = b[at + 66];
    if (nameBytes < 4 || nameBytes > 64 || nameBytes % 2 !== 0 || (type !== 1 && type !== 2)) continue;
    if (view.getUint16(at + nameBytes - 2, true) !== 0) continue;
    let name = '';
    let printable = true;
    for (let i = 0; i < nameBytes - 2; i += 2) {
      const c = view.getUint16(at + i, true);
      if (c < 0x20 && c !== 0x01 && c !== 0x05) {
        printable = false;
        break;
      }
      name += String.fromCharCode(c);
    }
    if (printable) names.add(name);
  }
  return names;
}

// The storages and streams VBA macros live in: Word's "Macros", Excel's
// "_VBA_PROJECT_CUR", PowerPoint's "_VBA_PROJECT", and the "VBA" storage in each.
const MACRO_STREAMS = ['Macros', '_VBA_PROJECT_CUR', '_VBA_PROJECT', 'VBA'];

/** Whether an old Office file (.doc, .xls, .ppt) carries VBA macros. */
export function cfbHasMacros(bytes: Uint8Array): boolean {
  if (!isCfb(bytes)) return false;
  const names = entryNames(bytes);
  return MACRO_STREAMS.some((n) => names.has(n));
}

/** What a CFB container holds, or null when the bytes are not one. */
export function cfbContent(bytes: Uint8Array): CfbContent | null {
  if (!isCfb(bytes)) return null;
  const names = entryNames(bytes);
  for (const [stream, content] of STREAMS) if (names.has(stream)) return content;
  for (const n of names) if (n.startsWith('__substg1.0_')) return 'outlook-message';
  return 'other';
}
