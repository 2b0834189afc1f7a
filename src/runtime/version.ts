// The version in package.json, two folders up from src/runtime/ and from dist/runtime/ alike.
import { readFileSync } from 'node:fs';

export const packageVersion = (): string => (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
