import { describe, expect, it } from 'vitest';
import { documentKind } from '../../src/core/documents.js';
import { claimedKind, fileKind, MACRO_FORMATS } from '../../src/core/file-kinds.js';

// One table (office-formats.ts) answers both what a clerk calls an Office file and how it is opened.
describe('the Office table', () => {
  it('gives the kind and the format of the same extension', () => {
    expect(fileKind('office', 'xltm', null)).toBe('excel');
    expect(documentKind(new Uint8Array(), 'xltm', 'xltm')).toEqual({ ok: true, format: 'xlsx', lie: null });
    expect(documentKind(new Uint8Array(), 'potx', 'doc')).toEqual({ ok: true, format: 'pptx', lie: 'named .doc, actually pptx' });
    expect([...MACRO_FORMATS].sort()).toEqual(['docm', 'dotm', 'potm', 'ppsm', 'pptm', 'xlsm', 'xltm']);
  });

  it('never opens a binary Office format on a format name alone, only after reading the CFB container', () => {
    expect(documentKind(new Uint8Array(), 'xls', 'xls')).toMatchObject({ ok: false, code: 'attachment-removed' });
  });

  it('takes a hostile extension that names an Object property for what it is: nothing', () => {
    expect(claimedKind('constructor')).toBeNull();
    expect(fileKind('office', null, 'constructor')).toBe('office');
    expect(documentKind(new Uint8Array(), 'docx', 'constructor')).toEqual({ ok: true, format: 'docx', lie: null });
  });
});
