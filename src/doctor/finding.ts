// One thing `mugaika doctor` found: how bad it is, what it is (Japanese
// first, English beside it) and what the operator should do.
export type Level = 'ok' | 'info' | 'warn' | 'error';

export interface Finding {
  level: Level;
  /** A stable name for scripts and tests, e.g. 'master-key-mode'. */
  check: string;
  ja: string;
  en: string;
  /** What to do, when something is to be done. */
  todo?: { ja: string; en: string };
}

export const finding = (level: Level, check: string, ja: string, en: string, todo?: { ja: string; en: string }): Finding => ({ level, check, ja, en, ...(todo && { todo }) });

const LABEL: Record<Level, string> = { ok: '[OK]    ', info: '[情報]  ', warn: '[注意]  ', error: '[エラー]' };

/** The report as an operator reads it in a terminal. */
export function formatFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${LABEL[f.level]} ${f.ja}`);
    if (f.todo) lines.push(`         対処: ${f.todo.ja}`);
    lines.push(`         (${f.level}) ${f.en}${f.todo ? ` -> ${f.todo.en}` : ''}`);
  }
  const errors = findings.filter((f) => f.level === 'error').length;
  const warnings = findings.filter((f) => f.level === 'warn').length;
  lines.push('');
  lines.push(
    errors === 0 && warnings === 0
      ? '問題は見つかりませんでした。/ no problems found'
      : `エラー ${errors} 件、注意 ${warnings} 件です。/ ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
  );
  return `${lines.join('\n')}\n`;
}
