// The policy: every limit and switch the sanitizer obeys. One zod schema is the
// single source of truth for names, types, allowed values and defaults; the YAML
// file under policies/ only overrides what it names.
import { z } from 'zod';
import { findingCodes } from './findings.js';
import { sendersSchema } from './sender-policy.js';

const MiB = 1024 * 1024;

const positiveInt = (max: number) => z.number().int().positive().max(max);

export const policySchema = z
  .object({
    /** Language of the notice placed in every delivered message. */
    language: z.enum(['ja', 'en']).default('ja'),
    limits: z
      .object({
        /** Whole raw message, in bytes. */
        maxMessageBytes: positiveInt(2 * 1024 * MiB).default(50 * MiB),
        /** Nesting of multipart and message/rfc822 entities. */
        maxMimeDepth: positiveInt(1000).default(20),
        /** MIME entities of any kind in the whole message. */
        maxParts: positiveInt(100_000).default(500),
        /** Bytes of one header block (the top-level one or any part's). */
        maxHeaderBytes: positiveInt(64 * MiB).default(256 * 1024),
        /** Decoded pixels of one image (width x height). */
        maxImagePixels: positiveInt(1_000_000_000).default(50_000_000),
        /** Wall-clock budget for one message, in milliseconds. */
        timeoutMs: positiveInt(3_600_000).default(60_000),
        /**
         * What one delivered message may carry (body and parts, as encoded for
         * sending), in bytes; parts past it are removed. Defaults to
         * maxMessageBytes, so what comes out is never larger than what may come in.
         */
        maxOutputBytes: positiveInt(4 * 1024 * MiB).optional(),
      })
      .strict()
      .transform((l) => ({ ...l, maxOutputBytes: l.maxOutputBytes ?? l.maxMessageBytes }))
      .prefault({}),
    documents: z
      .object({
        /** Pages of one document; a longer one is removed. */
        maxPages: positiveInt(10_000).default(200),
        /** Resolution at which pages are rendered to pixels. */
        dpi: z.number().int().min(36).max(600).default(150),
        /** Pixels of one rendered page (width x height); A0 at 150 dpi is about 35 million. */
        maxPixelsPerPage: positiveInt(1_000_000_000).default(40_000_000),
        /** Run the converter even when its sandbox (bubblewrap) is missing. Read by the converter. */
        allowUnsandboxed: z.boolean().default(false),
        /** Beside a workbook's PDF (xlsx, xls, ods), each sheet's values as they were saved, as CSV. */
        sheetValuesCsv: z.boolean().default(true),
        /** Hidden sheets, rows and columns in those CSVs: left out (the notice says so) or included. */
        hiddenCells: z.enum(['omit', 'include']).default('omit'),
        /** Cells (rows x columns) of one sheet's CSV; past it the rows after are left out and the notice says so. */
        sheetMaxCells: positiveInt(50_000_000).default(1_000_000),
        /** OCR (Tesseract, Japanese and English) of rendered pages without text, for their text layer, within the message's time. */
        ocr: z.boolean().default(false),
        /** Pages of one document OCR reads at most; the notice says when pages were left unread. */
        ocrMaxPages: positiveInt(10_000).default(30),
        /**
         * Draw each page's visible text invisibly over its image (as a scanner's
         * OCR layer), so the text can be searched and copied. Text the page does
         * not show is left out.
         */
        textLayer: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    archives: z
      .object({
        /** Archives inside archives: 3 allows a zip in a zip in a zip. */
        maxDepth: positiveInt(20).default(3),
        /** Files in all the archives of one message together. */
        maxEntries: positiveInt(100_000).default(1000),
        /** Uncompressed bytes of all the archives of one message together. */
        maxTotalBytes: positiveInt(4 * 1024 * MiB).default(200 * MiB),
        /** Uncompressed size / compressed size of one file over 1 MiB uncompressed. */
        maxRatio: positiveInt(1_000_000).default(100),
      })
      .strict()
      .prefault({}),
    actions: z
      .object({
        /** What happens to a message over limits.maxMessageBytes. */
        oversize: z.enum(['reject', 'quarantine']).default('reject'),
        /**
         * What happens to a message over the depth, part or header limits, or with no header fields.
         * quarantine: the original is kept; what lies within the depth and part limits is delivered.
         */
        structureLimit: z.enum(['reject', 'quarantine']).default('quarantine'),
      })
      .strict()
      .prefault({}),
    output: z
      .object({
        /** Tag put in front of every delivered subject, once (taken out of stacked Re: prefixes); empty for none. */
        subjectTag: z.string().max(64).default('[無害化]'),
        /** Domain of the Message-IDs we create. */
        messageIdDomain: z
          .string()
          .regex(/^[A-Za-z0-9.-]+$/, 'ASCII letters, digits, dots and hyphens only')
          .default('mugaika.invalid'),
        /** Re-encode photos (JPEG input) as JPEG; everything else becomes PNG. */
        jpegQuality: positiveInt(100).default(85),
      })
      .strict()
      .prefault({}),
    text: z
      .object({
        /**
         * A file encoded in a text we deliver (uuencode, yEnc, BinHex, a pasted
         * base64 MIME part), in a body or a text attachment, which some mail
         * clients decode into an attachment: 'remove' replaces it with a line
         * saying so; 'quarantine' holds the whole message (notice only).
         */
        encodedFiles: z.enum(['remove', 'quarantine']).default('remove'),
      })
      .strict()
      .prefault({}),
    notice: z
      .object({
        /** Whom recipients consult or ask for an original (a department); shown in the notice. */
        contact: z.string().trim().min(1).max(100).default('情報政策担当'),
        /** How to reach it by phone, as written in the notice ("内線 1234"); empty for none. */
        contactPhone: z.string().trim().max(50).default(''),
        /** Its mail address on the LGWAN side; empty for none. */
        contactMail: z.string().trim().max(100).default(''),
        /**
         * The notice's sentence for a finding, replacing ours (docs/notice.md lists
         * them), in the policy's language: e.g. 'attachment-removed': '…'.
         */
        findings: z.partialRecord(z.enum(findingCodes), z.string().trim().min(1).max(500)).default({}),
      })
      .strict()
      .prefault({}),
    quarantine: z
      .object({
        /**
         * Which originals are kept: always (every changed one), or content-changed:
         * not when the only changes lose nothing (links made inert, a Reply-To
         * shown in the notice, a missing date or sender).
         */
        keepOriginals: z.enum(['always', 'content-changed']).default('always'),
      })
      .strict()
      .prefault({}),
    scan: z
      .object({
        /**
         * When a malware scanner is configured (scan.clamdSocket) but cannot answer
         * (not running, no answer in time, died mid-scan): 'tempfail' keeps the
         * message to try again later (nothing delivered, nothing lost: the relay
         * defers it, `mugaika sanitize` exits 75); 'block' delivers the notice
         * only and quarantines the original. A file larger than the scanner
         * accepts (clamd's StreamMaxLength) is removed either way.
         */
        unavailable: z.enum(['tempfail', 'block']).default('tempfail'),
      })
      .strict()
      .prefault({}),
    release: z
      .object({
        /** Put in front of a released original's subject; empty for none. */
        subjectPrefix: z.string().max(32).default('【原本】'),
        /** Administrators who must approve a release: 2 means a second, different administrator releases it. */
        approvals: z.union([z.literal(1), z.literal(2)]).default(1),
      })
      .strict()
      .prefault({}),
    /**
     * Who sent it: the allow and exclusion lists, recipient groups, and rules that
     * make the treatment stricter (sender-policy.ts, docs/sender-rules.md).
     */
    senders: sendersSchema.prefault({}),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** The embedded defaults: what runs when no policy file is given. */
export const defaultPolicy: Policy = policySchema.parse({});
