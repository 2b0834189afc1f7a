# Runs inside the bubblewrap sandbox that sandbox.ts builds (outside one only
# when the policy explicitly allows running unsandboxed).
#
# One-shot converter: starts LibreOffice with a fresh profile in the private
# /tmp, connects to it over a UNO pipe, pre-loads the Writer, Calc and Impress
# modules and the PDF export, then says it is ready and blocks until exactly
# one job arrives on stdin. It converts that one document and exits; the
# sandbox (and every process in it) dies with it.
#
# Protocol (stdout carries only this; LibreOffice's own output goes to stderr):
#   out: "READY\n"
#   in:  "<format>[ sheets=<max cells>,<max bytes>,<omit|include>]\n" followed
#        by the document bytes until EOF
#   out: "OK <n>\n" followed by n bytes of PDF, or "ERR <code>\n"
#   and, for a workbook when sheets= was asked for, after the PDF:
#        "SHEETS <k>\n" and k times
#        "SHEET <hidden> <left out: 0, 1 hidden, 2 size> <hidden rows> <hidden columns> <truncated> <name bytes> <csv bytes>\n"
#        followed by the sheet's name (UTF-8) and its values as CSV (UTF-8, comma).
# Only codes cross the boundary: encrypted, undecodable, converter-failed.
import ctypes
import os
import signal
import subprocess
import sys
import time
import zipfile

import uno
import unohelper
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.task import XInteractionHandler

# argv: the directory that is ours alone (the sandbox's /tmp) and a UNO pipe
# name no other process uses.
ROOT = sys.argv[1]
PIPE = sys.argv[2]
PROFILE = ROOT + '/profile'
WORK = ROOT + '/work'

# Explicit import filters: bytes that are not what the classifier sniffed fail
# to load instead of falling back to plain-text import.
IMPORT_FILTERS = {
    'docx': 'MS Word 2007 XML',
    'doc': 'MS Word 97',
    'rtf': 'Rich Text Format',
    'odt': 'writer8',
    'xlsx': 'Calc MS Excel 2007 XML',
    'xls': 'MS Excel 97',
    'ods': 'calc8',
    'pptx': 'Impress MS PowerPoint 2007 XML',
    'ppt': 'MS PowerPoint 97',
    'odp': 'impress8',
}
EXPORT_FILTERS = {
    'docx': 'writer_pdf_Export', 'doc': 'writer_pdf_Export', 'rtf': 'writer_pdf_Export', 'odt': 'writer_pdf_Export',
    'xlsx': 'calc_pdf_Export', 'xls': 'calc_pdf_Export', 'ods': 'calc_pdf_Export',
    'pptx': 'impress_pdf_Export', 'ppt': 'impress_pdf_Export', 'odp': 'impress_pdf_Export',
}

# Macros never run, nothing linked is fetched or updated, no first-start work.
REGISTRY = '''<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="TrustedAuthors" oor:op="fuse"/></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="SecureURL" oor:op="fuse"><value/></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Save/Document"><prop oor:name="AutoSave" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Recovery/AutoSave"><prop oor:name="Enabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Recovery/RecoveryInfo"><prop oor:name="Enabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Update/Update"><prop oor:name="Enabled" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
'''

# Calc: links to other files are never updated (1 = never; 2 was "ask", which
# the interaction handler aborts) and formulas are never recalculated on load
# (1 = never): the PDF and the CSV show the values the workbook was saved with.

# soffice.bin exits with 81 after creating a new profile and must be started
# again (oosplash, the usual launcher, does this).
RESTART_AFTER_FIRST_START = 81
MACRO_NEVER = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
UPDATE_NEVER = 0  # com.sun.star.document.UpdateDocMode.NO_UPDATE


class Failure(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class RefusePasswords(unohelper.Base, XInteractionHandler):
    """Answers every question LibreOffice asks with Abort, so that nothing waits
    for a user; remembers password requests (7.4 loading headless does not ask
    for passwords at all: see is_encrypted)."""

    def __init__(self):
        self.password_requested = False

    def handle(self, request):
        question = request.getRequest()
        name = getattr(question, 'typeName', None) or type(question).__name__
        if 'Password' in name:
            self.password_requested = True
        for continuation in request.getContinuations():
            if continuation.queryInterface(uno.getTypeByName('com.sun.star.task.XInteractionAbort')):
                continuation.select()
                return


def props(**values):
    out = []
    for key, value in values.items():
        p = PropertyValue()
        p.Name = key
        p.Value = value
        out.append(p)
    return tuple(out)


def log(message):
    sys.stderr.write('convert.py: %s\n' % message)
    sys.stderr.flush()


def launch_office():
    return subprocess.Popen(
        ['/usr/lib/libreoffice/program/soffice.bin', '-env:UserInstallation=file://' + PROFILE,
         '--headless', '--invisible', '--nologo', '--norestore', '--nodefault', '--nolockcheck',
         '--accept=pipe,name=%s;urp;StarOffice.ComponentContext' % PIPE],
        stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr, preexec_fn=die_with_parent)


def die_with_parent():
    # PR_SET_PDEATHSIG: soffice is killed when we are, also outside a sandbox.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def start_office():
    os.makedirs(PROFILE + '/user', exist_ok=True)
    with open(PROFILE + '/user/registrymodifications.xcu', 'w', encoding='utf-8') as f:
        f.write(REGISTRY)
    office = launch_office()
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext('com.sun.star.bridge.UnoUrlResolver', local)
    started = time.monotonic()
    while True:
        try:
            ctx = resolver.resolve('uno:pipe,name=%s;urp;StarOffice.ComponentContext' % PIPE)
            break
        except NoConnectException:
            code = office.poll()
            if code == RESTART_AFTER_FIRST_START:
                office = launch_office()
            elif code is not None or time.monotonic() - started > 60:
                log('soffice exited with %s before accepting a connection' % code)
                raise Failure('converter-failed')
            time.sleep(0.05)
    return office, ctx.ServiceManager.createInstanceWithContext('com.sun.star.frame.Desktop', ctx)


def warm_up(desktop):
    """Loads the three modules and the PDF export once, so the job pays neither."""
    os.makedirs(WORK, exist_ok=True)
    for factory, export in (('swriter', 'writer_pdf_Export'), ('scalc', 'calc_pdf_Export'),
                            ('simpress', 'impress_pdf_Export')):
        doc = desktop.loadComponentFromURL('private:factory/' + factory, '_blank', 0, props(Hidden=True))
        doc.storeToURL(uno.systemPathToFileUrl(WORK + '/warm-up.pdf'), props(FilterName=export))
        doc.close(True)
    os.unlink(WORK + '/warm-up.pdf')


def read_job():
    stdin = sys.stdin.buffer
    words = stdin.readline().decode('ascii', 'replace').split()
    fmt = words[0] if words else ''
    if fmt not in IMPORT_FILTERS:
        raise Failure('converter-failed')
    sheets = None
    if len(words) == 2 and words[1].startswith('sheets=') and fmt in SHEET_FORMATS:
        cells, size, hidden = words[1][len('sheets='):].split(',')
        sheets = (int(cells), int(size), hidden == 'include')
    data = stdin.read()
    path = '%s/document.%s' % (WORK, fmt)
    with open(path, 'wb') as f:
        f.write(data)
    return fmt, path, sheets


CFB_MAGIC = bytes.fromhex('d0cf11e0a1b11ae1')
ENCRYPTED_PACKAGE = 'EncryptedPackage'.encode('utf-16-le')


def is_encrypted(fmt, path):
    """After a failed load: was it for want of a password? (LibreOffice 7.4 does
    not ask the interaction handler when loading headless, so look.)"""
    if fmt in ('odt', 'ods', 'odp'):
        # ODF: the manifest describes how each encrypted part is encrypted.
        try:
            with zipfile.ZipFile(path) as z:
                return b'encryption-data' in z.read('META-INF/manifest.xml')
        except Exception:
            return False
    if fmt in ('docx', 'xlsx', 'pptx'):
        # OOXML with a password is a CFB container holding an "EncryptedPackage" stream.
        with open(path, 'rb') as f:
            head = f.read(1024 * 1024)
        return head.startswith(CFB_MAGIC) and ENCRYPTED_PACKAGE in head
    return False


def convert(office, desktop, fmt, path):
    handler = RefusePasswords()
    load = props(Hidden=True, ReadOnly=True, FilterName=IMPORT_FILTERS[fmt],
                 MacroExecutionMode=MACRO_NEVER, UpdateDocMode=UPDATE_NEVER,
                 InteractionHandler=handler, RepairPackage=False)
    try:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), '_blank', 0, load)
    except Exception as e:  # IllegalArgumentException, IOException, ...
        log('load failed: %s' % type(e).__name__)
        doc = None
        if type(e).__name__ in ('DisposedException', 'RuntimeException'):
            raise Failure('converter-failed')  # the bridge to soffice is gone: it crashed
    if office.poll() is not None:
        log('soffice died while loading (exit %s)' % office.returncode)
        raise Failure('converter-failed')
    if doc is None and (handler.password_requested or is_encrypted(fmt, path)):
        raise Failure('encrypted')
    if doc is None:
        raise Failure('undecodable')
    out = WORK + '/document.pdf'
    try:
        doc.storeToURL(uno.systemPathToFileUrl(out), props(FilterName=EXPORT_FILTERS[fmt]))
    except Exception as e:
        log('export failed: %s' % type(e).__name__)
        raise Failure('converter-failed')
    with open(out, 'rb') as f:
        return doc, f.read()


SHEET_FORMATS = ('xlsx', 'xls', 'ods')
MAX_SHEETS = 256
MAX_COLUMNS = 1024
# "Text - txt - csv (StarCalc)" export: comma, double quote, UTF-8, from line 1,
# cells as shown (dates and amounts as formatted), no formulas, only sheet N.
CSV_OPTIONS = '44,34,76,1,,0,false,true,true,false,false,%d'


def gaps(spans, length):
    """The stretches of 0..length-1 that no (start, end) span covers."""
    out, at = [], 0
    for start, end in sorted(spans):
        if start > at:
            out.append((at, min(start, length) - 1))
        at = max(at, end + 1)
    if at < length:
        out.append((at, length - 1))
    return [g for g in out if g[0] <= g[1]]


def used_area(sheet):
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    a = cursor.getRangeAddress()
    return a.EndRow + 1, a.EndColumn + 1


def sheet_values(doc, max_cells, max_bytes, include_hidden):
    """Each sheet's values as LibreOffice shows them, as CSV. Automatic
    calculation is off first, so that taking out hidden rows and columns and
    the rows past the cap changes no value (a total keeps the hidden rows)."""
    doc.enableAutomaticCalculation(False)
    sheets = doc.Sheets
    out, left = [], max_bytes
    for i in range(min(sheets.Count, MAX_SHEETS)):
        sheet = sheets.getByIndex(i)
        name = sheet.Name.encode('utf-8')[:1024]
        hidden = not sheet.IsVisible
        rows, cols = used_area(sheet)
        visible = sheet.getCellRangeByPosition(0, 0, cols - 1, rows - 1).queryVisibleCells().getRangeAddresses()
        hidden_rows = gaps([(r.StartRow, r.EndRow) for r in visible], rows)
        hidden_cols = gaps([(r.StartColumn, r.EndColumn) for r in visible], cols)
        counts = (sum(e - s + 1 for s, e in hidden_rows), sum(e - s + 1 for s, e in hidden_cols))
        csv, truncated, left_out = b'', False, 0
        if hidden and not include_hidden:
            left_out = 1  # hidden
        else:
            if not include_hidden:
                for s, e in reversed(hidden_rows):
                    sheet.getRows().removeByIndex(s, e - s + 1)
                for s, e in reversed(hidden_cols):
                    sheet.getColumns().removeByIndex(s, e - s + 1)
                rows, cols = used_area(sheet)
            keep_cols = min(cols, MAX_COLUMNS)
            keep_rows = max(1, max_cells // keep_cols)
            if cols > keep_cols:
                sheet.getColumns().removeByIndex(keep_cols, cols - keep_cols)
            if rows > keep_rows:
                sheet.getRows().removeByIndex(keep_rows, rows - keep_rows)
            truncated = cols > keep_cols or rows > keep_rows
            csv = export_sheet(doc, i)
            if len(csv) > left:
                csv, left_out = b'', 2  # past max_bytes
            left -= len(csv)
        head = b'SHEET %d %d %d %d %d %d %d\n' % (hidden, left_out, counts[0], counts[1], truncated, len(name), len(csv))
        out.append(head + name + csv)
    return out


def export_sheet(doc, i):
    # The filter adds "-<sheet name>" to the file name: one folder per sheet.
    folder = '%s/sheet-%d' % (WORK, i)
    os.makedirs(folder)
    doc.storeToURL(uno.systemPathToFileUrl(folder + '/values.csv'),
                   props(FilterName='Text - txt - csv (StarCalc)', FilterOptions=CSV_OPTIONS % (i + 1)))
    files = os.listdir(folder)
    if len(files) != 1:
        return b''
    with open(os.path.join(folder, files[0]), 'rb') as f:
        return f.read()


def main():
    out = sys.stdout.buffer
    try:
        office, desktop = start_office()
        warm_up(desktop)
    except Failure as f:
        out.write(b'ERR %s\n' % f.code.encode())
        out.flush()
        return 1
    out.write(b'READY\n')
    out.flush()
    try:
        fmt, path, sheets = read_job()
        doc, pdf = convert(office, desktop, fmt, path)
    except Failure as f:
        out.write(b'ERR %s\n' % f.code.encode())
        out.flush()
        return 0
    out.write(b'OK %d\n' % len(pdf))
    out.write(pdf)
    out.flush()
    if sheets is not None:
        # After the PDF, which is already out: a failure here costs the CSVs only.
        try:
            values = sheet_values(doc, *sheets)
        except Exception as e:
            log('sheet values failed: %s' % type(e).__name__)
            values = []
        out.write(b'SHEETS %d\n' % len(values))
        for v in values:
            out.write(v)
        out.flush()
    return 0


if __name__ == '__main__':
    # os._exit: skip LibreOffice's slow teardown. soffice dies with us: the
    # sandbox's PID namespace ends, and outside one PR_SET_PDEATHSIG kills it.
    code = main()
    sys.stdout.flush()
    os._exit(code)
