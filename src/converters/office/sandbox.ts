// How a LibreOffice converter process is started: /usr/bin/python3 running
// convert.py (python3-uno), under prlimit (writable memory capped, no core
// dumps) and, unless the operator opted out, inside bubblewrap: no network or
// any other shared namespace, no capabilities, a new session, a read-only view
// of the system parts LibreOffice needs, a private tmpfs /tmp holding the
// fresh profile and the one document, and death with its parent.
import { runtimeFile } from '../../runtime/files.js';
import { ISOLATION, systemBind } from '../bwrap.js';

export interface OfficeCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

const PYTHON = '/usr/bin/python3';
const SANDBOX_SCRIPT = '/sandbox/convert.py';

/** The LibreOffice driver script (not compiled: the build copies it into dist/). */
export const converterScript = (): string => runtimeFile('converters/office/convert.py');

/** The only fonts LibreOffice may render with (see fonts.conf): what the host has installed beside them makes no difference. */
export const fontConfig = (): string => runtimeFile('converters/office/fonts.conf');
const SANDBOX_FONTS = '/sandbox/fonts.conf';

function bwrapArgs(script: string, pipeName: string): string[] {
  return [
    ...ISOLATION,
    '--setenv',
    'HOME',
    '/tmp/home',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--setenv',
    'FONTCONFIG_FILE',
    SANDBOX_FONTS,
    ...systemBind('/usr'),
    ...systemBind('/lib'),
    ...systemBind('/lib64'),
    ...systemBind('/bin'),
    // Of /etc only what LibreOffice, fontconfig and the loader read.
    '--ro-bind',
    '/etc/libreoffice',
    '/etc/libreoffice',
    '--ro-bind',
    '/etc/fonts',
    '/etc/fonts',
    '--ro-bind-try',
    '/etc/ld.so.cache',
    '/etc/ld.so.cache',
    '--ro-bind-try',
    '/var/cache/fontconfig',
    '/var/cache/fontconfig',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--dir',
    '/tmp/home',
    '--ro-bind',
    script,
    SANDBOX_SCRIPT,
    '--ro-bind',
    fontConfig(),
    SANDBOX_FONTS,
    '--chdir',
    '/tmp',
    PYTHON,
    SANDBOX_SCRIPT,
    '/tmp',
    pipeName,
  ];
}

function limits(memoryCapMb: number): string[] {
  return [`--data=${memoryCapMb * 1024 * 1024}`, '--core=0', '--'];
}

/** Inside bubblewrap: the whole of /tmp is the sandbox's own. */
export function sandboxedCommand(bwrap: string, memoryCapMb: number, pipeName: string): OfficeCommand {
  return { file: 'prlimit', args: [...limits(memoryCapMb), bwrap, ...bwrapArgs(converterScript(), pipeName)], env: {} };
}

/**
 * Without bubblewrap (explicitly allowed only): the profile and the document
 * live in `workDir`, and the UNO pipe needs a name no other process uses.
 */
export function unsandboxedCommand(memoryCapMb: number, workDir: string, pipeName: string): OfficeCommand {
  return {
    file: 'prlimit',
    args: [...limits(memoryCapMb), PYTHON, converterScript(), workDir, pipeName],
    env: { HOME: workDir, PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', FONTCONFIG_FILE: fontConfig() },
  };
}
