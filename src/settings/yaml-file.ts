// Settings files (the policy, the gateway's configuration) are YAML checked
// against a zod schema. A bad file stops the program with an error that names
// each bad key and what it allows, in Japanese and in English, so that an
// administrator can fix it without reading code.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { EXIT, OperatorError } from '../model/operator-error.js';

export class SettingsError extends OperatorError {
  override readonly name = 'SettingsError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.usage, options);
  }
}

/** What kind of file it is, for messages: ["ポリシーファイル", "policy file"]. */
export type FileKind = readonly [ja: string, en: string];

type Issue = z.core.$ZodIssue;

const TYPE_JA: Record<string, string> = { number: '数値', string: '文字列', object: '項目の一覧', boolean: 'true または false' };

function explain(issue: Issue): { ja: string; en: string } {
  switch (issue.code) {
    case 'invalid_type':
      return { ja: `${TYPE_JA[issue.expected] ?? issue.expected} を指定してください`, en: `must be a ${issue.expected}` };
    case 'invalid_value':
      return {
        ja: `次のいずれかを指定してください: ${issue.values.map(String).join(', ')}`,
        en: `must be one of: ${issue.values.map(String).join(', ')}`,
      };
    case 'unrecognized_keys':
      return { ja: `不明な設定項目です: ${issue.keys.join(', ')}`, en: `unknown key(s): ${issue.keys.join(', ')}` };
    case 'too_small':
      return { ja: `${String(issue.minimum)} 以上を指定してください`, en: `must be at least ${String(issue.minimum)}` };
    case 'too_big':
      return { ja: `${String(issue.maximum)} 以下を指定してください`, en: `must be at most ${String(issue.maximum)}` };
    default:
      return { ja: `値が不正です（${issue.message}）`, en: issue.message };
  }
}

/** Validates an already-parsed document against `schema`. */
export function validateDocument<S extends z.ZodType>(schema: S, document: unknown, source: string, kind: FileKind): z.infer<S> {
  const result = schema.safeParse(document ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(top level)';
    const { ja, en } = explain(issue);
    return `  - ${key}: ${ja}\n    ${key}: ${en}`;
  });
  throw new SettingsError(`${kind[0]} ${source} に誤りがあります。/ The ${kind[1]} ${source} is invalid.\n${lines.join('\n')}`);
}

/** Reads and validates a YAML settings file. */
export async function readSettingsFile<S extends z.ZodType>(schema: S, file: string, kind: FileKind): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SettingsError(`${kind[0]} ${file} を読めません。/ Cannot read the ${kind[1]} ${file}: ${(err as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new SettingsError(`${kind[0]} ${file} は YAML として読めません${where}。/ The ${kind[1]} ${file} is not valid YAML${where}: ${(err as Error).message}`);
  }
  return validateDocument(schema, document, file, kind);
}
