"""The import page: customers, transactions and survey responses from an Excel or CSV file,
checked first or imported at once, with every problem named by line, column and value in the
reader's language (see :mod:`patronage.storage.importing.upload`). Admins and analysts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from patronage.messages import Term, UserError
from patronage.storage.importing import upload
from patronage.web.deps import check_csrf, gettext_for, render, require_user

router = APIRouter()
CSRF = [Depends(check_csrf)]
ROLES = ("admin", "analyst")
#: Problems listed on the page (the count says how many more there are).
SHOWN_PROBLEMS = 200
DATE_ORDERS = ("ymd", "dmy", "mdy")
ENCODINGS = ("utf-8", "gb18030", "utf-16")


def _page(request: Request, kind: str, status: int = 200, **context):
    kind = kind if kind in upload.KINDS else upload.KINDS[0]
    gettext = gettext_for(request)
    guide = {k: upload.fields_of(k, gettext) for k in upload.KINDS}
    def column(name):  # a column the file lacks is named in the reader's language
        return gettext(name) if isinstance(name, Term) else name

    return render(request, "import.html", status, kind=kind, kinds=upload.KINDS, column=column,
                  kind_names=upload.KIND_NAMES, guide=guide, date_orders=DATE_ORDERS,
                  encodings=ENCODINGS, shown_problems=SHOWN_PROBLEMS,
                  suffixes=",".join(upload.SUFFIXES), **context)


@router.get("/import")
def import_page(request: Request, kind: str = "customers"):
    require_user(request, *ROLES)
    return _page(request, kind)


@router.post("/import", dependencies=CSRF)
def import_posted(request: Request, kind: str = Form("customers"),
                  file: UploadFile | None = File(None), action: str = Form("check"),
                  date_order: str = Form(""), encoding: str = Form(""), sheet: str = Form(""),
                  create_customers: str = Form("")):
    require_user(request, *ROLES)
    options = {"date_order": date_order if date_order in DATE_ORDERS else None,
               "encoding": encoding if encoding in ENCODINGS else None,
               "sheet": sheet.strip() or None, "create_customers": bool(create_customers)}
    try:
        report = upload.import_upload(
            request.app.state.engine, kind, file.filename if file else "",
            file.file if file else None, dry_run=action != "import",
            max_rows=request.app.state.settings.import_max_rows, **options)
    except ValueError as exc:  # a UserError, said in the reader's language
        return _page(request, kind, 400, error=exc, chosen=options)
    return _page(request, kind, 200 if report.ok else 400, report=report, chosen=options)


@router.get("/import/template/{kind}")
def import_template(request: Request, kind: str):
    require_user(request, *ROLES)
    try:
        body = upload.template_csv(kind, gettext_for(request))
    except UserError:
        return Response(status_code=404)
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{kind}-template.csv"'})


__all__ = ["router"]
