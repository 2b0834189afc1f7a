// Reads a policy file (YAML) and validates it against the schema. A bad file
// stops the program with an error that names each bad key and what it allows,
// in Japanese and in English, so an administrator can fix it without the code.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { defaultPolicy, policySchema, type Policy } from '../core/policy.js';

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

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

/** Validates an already-parsed policy document. */
export function validatePolicy(document: unknown, source: string): Policy {
  const result = policySchema.safeParse(document ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(top level)';
    const { ja, en } = explain(issue);
    return `  - ${key}: ${ja}\n    ${key}: ${en}`;
  });
  throw new PolicyError(
    `ポリシーファイル ${source} に誤りがあります。/ The policy file ${source} is invalid.\n${lines.join('\n')}`,
  );
}

/** Loads the policy file, or the embedded defaults when no file is given. */
export async function loadPolicy(file: string | undefined): Promise<Policy> {
  if (!file) return defaultPolicy;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PolicyError(
      `ポリシーファイル ${file} を読めません。/ Cannot read the policy file ${file}: ${(err as Error).message}`,
    );
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new PolicyError(`ポリシーファイル ${file} は YAML として読めません${where}。/ The policy file ${file} is not valid YAML${where}: ${(err as Error).message}`);
  }
  return validatePolicy(document, file);
}
