// Minimal typing for the parts of mailsplit that mugaika uses.
declare module 'mailsplit' {
  import { Transform } from 'node:stream';
  export interface SplitterNode {
    type: 'node';
    root: boolean;
    parentNode: SplitterNode | false | null | undefined;
    contentType: string | false;
    multipart: string | false;
    _headerlen: number;
    headers: { getList(): { key: string; line: string }[] } | false;
  }
  export type SplitterChunk = SplitterNode | { type: 'body' | 'data' | 'none' };
  export class Splitter extends Transform {
    constructor(config?: { maxHeadSize?: number; maxChildNodes?: number; ignoreEmbedded?: boolean });
  }
  const mailsplit: { Splitter: typeof Splitter };
  export default mailsplit;
}
