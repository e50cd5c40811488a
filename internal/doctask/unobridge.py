# stor's warm LibreOffice converter: starts one headless soffice listening
# on a private pipe, connects to it over UNO, then converts the documents
# named on stdin, one per line ("IN<TAB>OUT"), answering "ok" or
# "err MESSAGE" per line. Macros never run (MacroExecutionMode NEVER),
# links are not updated (UpdateDocMode NO_UPDATE). EOF on stdin ends it.
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue


def props(**kw):
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)


def main():
    soffice, profile, pipe = sys.argv[1], sys.argv[2], sys.argv[3]
    start_timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 120
    office = subprocess.Popen([soffice, "-env:UserInstallation=" + profile, "--headless", "--invisible",
                               "--nologo", "--norestore", "--nodefault", "--nolockcheck", "--nofirststartwizard",
                               "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    ctx = None
    deadline = time.time() + start_timeout
    while ctx is None:
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        except Exception:
            if office.poll() is not None or time.time() > deadline:
                print("err soffice did not start", flush=True)
                return 1
            time.sleep(0.2)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    print("ready", flush=True)
    for line in sys.stdin:
        src, _, dst = line.rstrip("\n").partition("\t")
        doc = None
        try:
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
                                               props(Hidden=True, ReadOnly=True, MacroExecutionMode=0,
                                                     UpdateDocMode=0, Silent=True))
            if doc is None:
                raise RuntimeError("the document cannot be loaded")
            if doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
                f = "calc_pdf_Export"
            elif doc.supportsService("com.sun.star.presentation.PresentationDocument"):
                f = "impress_pdf_Export"
            elif doc.supportsService("com.sun.star.drawing.DrawingDocument"):
                f = "draw_pdf_Export"
            else:
                f = "writer_pdf_Export"
            doc.storeToURL(uno.systemPathToFileUrl(dst), props(FilterName=f))
            print("ok", flush=True)
        except Exception as e:
            msg = " ".join(str(getattr(e, "Message", "") or e).split()) or type(e).__name__
            print("err " + msg[:500], flush=True)
        finally:
            if doc is not None:
                try:
                    doc.close(True)
                except Exception:
                    pass
    try:
        desktop.terminate()
    except Exception:
        pass
    office.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
