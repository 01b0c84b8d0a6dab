"""Texts of the web pages, Thai first, and the choice of language (``?lang=en`` or a cookie)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import Request

from com.text.thai import format_thai_date, to_thai_digits

LANGS = ("th", "en")
LANG_COOKIE = "com_lang"
BANGKOK = ZoneInfo("Asia/Bangkok")

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Thai, English)
    "app_name": ("แผนที่ปฏิบัติการร่วม (COM)", "Common Operation Map (COM)"),
    "nav_map": ("แผนที่", "Map"),
    "nav_upload": ("นำเข้าข้อมูล", "Upload"),
    "nav_history": ("ประวัติการนำเข้า", "Upload history"),
    "nav_targets": ("พื้นที่เป้าหมาย", "Target areas"),
    "nav_cctv": ("วางแผนกล้อง CCTV", "CCTV planner"),
    "nav_users": ("ผู้ใช้", "Users"),
    "login": ("เข้าสู่ระบบ", "Sign in"),
    "logout": ("ออกจากระบบ", "Sign out"),
    "username": ("ชื่อผู้ใช้", "Username"),
    "password": ("รหัสผ่าน", "Password"),
    "bad_login": ("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", "Wrong username or password"),
    "throttled": (
        "ลองเข้าสู่ระบบผิดหลายครั้งเกินไป กรุณารอ {s} วินาทีแล้วลองใหม่",
        "Too many failed sign-ins: wait {s} seconds and try again",
    ),
    "csrf_failed": (
        "แบบฟอร์มหมดอายุ กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง",
        "The form expired: reload the page and try again",
    ),
    "anonymous": ("ผู้เยี่ยมชม", "Guest"),
    "role_viewer": ("ผู้ชม", "Viewer"),
    "role_staff": ("เจ้าหน้าที่", "Staff"),
    "role_planner": ("ผู้วางแผน", "Planner"),
    "role_admin": ("ผู้ดูแลระบบ", "Administrator"),
    "forbidden_title": ("ไม่มีสิทธิ์เข้าถึง", "Not allowed"),
    "forbidden": (
        "บัญชีของท่านไม่มีสิทธิ์ใช้หน้านี้ (ต้องเป็น{role}ขึ้นไป)",
        "Your account may not use this page (needs the {role} role or above)",
    ),
    "error_title": ("ข้อมูลไม่ถูกต้อง", "Invalid request"),
    "province": ("จังหวัด", "Province"),
    "region": ("ภาค", "Region"),
    "region_none": ("— ไม่เลือกภาค —", "— no region —"),
    "region_whole": ("ทุกจังหวัดในภาค", "All provinces of the region"),
    "district": ("อำเภอ", "District"),
    "subdistrict": ("ตำบล", "Subdistrict"),
    "all": ("ทั้งหมด", "All"),
    "category": ("ประเภท", "Category"),
    "severity": ("ความรุนแรง", "Severity"),
    "severity_min": ("ความรุนแรงตั้งแต่ระดับ", "Lowest severity"),
    "date_from": ("ตั้งแต่วันที่", "From"),
    "date_to": ("ถึงวันที่", "To"),
    "date_placeholder_be": ("วว/ดด/ปปปป", "dd/mm/yyyy"),
    "date_hint_be": (
        "วันที่แบบ พ.ศ. เช่น 15/01/2568 (ตัวเลขไทยก็ได้)",
        "Buddhist-era dates, e.g. 15/01/2568",
    ),
    "metric": ("ระบายสีตาม", "Colour by"),
    "metric_score": ("คะแนนความเสี่ยง", "Risk score"),
    "metric_rank": ("อันดับ", "Rank"),
    "area_level": ("ระดับพื้นที่", "Area level"),
    "level_subdistrict": ("ตำบล", "Subdistricts"),
    "level_village": ("หมู่บ้าน", "Villages"),
    "plan_progress": ("ความคืบหน้าของแผนในพื้นที่เป้าหมาย", "Plan progress in the target areas"),
    "progress_done": ("เสร็จ", "Done"),
    "progress_in_progress": ("กำลังดำเนินการ", "In progress"),
    "progress_planned": ("วางแผน", "Planned"),
    "progress_none": ("ยังไม่มีแผน", "No plan"),
    "area_level_col": ("ระดับ", "Level"),
    "apply": ("แสดงผล", "Apply"),
    "reset": ("ล้างตัวกรอง", "Reset"),
    "copy_link": ("คัดลอกลิงก์มุมมองนี้", "Copy link to this view"),
    "copied": ("คัดลอกแล้ว", "Copied"),
    "filters": ("ตัวกรอง", "Filters"),
    "points_shown": ("จุดเสี่ยงที่แสดง", "Risk points shown"),
    "synthetic_banner": (
        "ข้อมูลสมมติ / synthetic — ข้อมูลนี้สร้างขึ้นเพื่อการสาธิต",
        "Synthetic data / ข้อมูลสมมติ — made up for the demo",
    ),
    "assets_missing": (
        "ไม่พบไฟล์ JavaScript/CSS ของแผนที่ ให้ผู้ดูแลรัน scripts/setup.sh (npm ci)",
        "The map's JavaScript/CSS files are missing: run scripts/setup.sh (npm ci)",
    ),
    "upload_title": ("นำเข้ารายการจุดเสี่ยง", "Upload risk points"),
    "upload_help": (
        "ลากไฟล์ CSV, Excel (XLSX/XLS), KML หรือ GeoJSON มาวางที่นี่ หรือกดเลือกไฟล์",
        "Drop a CSV, Excel (XLSX/XLS), KML or GeoJSON file here, or choose one",
    ),
    "choose_file": ("เลือกไฟล์", "Choose file"),
    "send": ("นำเข้า", "Upload"),
    "uploading": ("กำลังส่งไฟล์", "Uploading"),
    "processing": ("กำลังตรวจสอบข้อมูล", "Checking the rows"),
    "mapping_title": ("จับคู่คอลัมน์", "Match the columns"),
    "mapping_help": (
        "ระบบไม่รู้จักบางคอลัมน์ในไฟล์ กรุณาเลือกว่าคอลัมน์ใดคือข้อมูลใด แล้วกดนำเข้าอีกครั้ง",
        "Some columns were not recognised: say which column holds what, then upload again",
    ),
    "not_used": ("ไม่ใช้", "Not used"),
    "report_title": ("ผลการนำเข้า", "Upload report"),
    "rows_total": ("แถวทั้งหมด", "Rows"),
    "rows_stored": ("บันทึกแล้ว", "Stored"),
    "rows_rejected": ("ถูกปฏิเสธ", "Rejected"),
    "rows_duplicate": ("ซ้ำ", "Duplicates"),
    "rows_warning": ("มีคำเตือน", "With warnings"),
    "download_errors": ("ดาวน์โหลดรายการข้อผิดพลาด (CSV)", "Download errors (CSV)"),
    "download_report": ("ดาวน์โหลดรายงานทุกแถว (CSV)", "Download full report (CSV)"),
    "row": ("แถว", "Row"),
    "status": ("สถานะ", "Status"),
    "reason": ("เหตุผล", "Reason"),
    "column": ("คอลัมน์", "Column"),
    "history_title": ("ประวัติการนำเข้าข้อมูล", "Upload history"),
    "file": ("ไฟล์", "File"),
    "uploaded_by": ("ผู้นำเข้า", "Uploaded by"),
    "uploaded_at": ("เวลา", "When"),
    "report": ("รายงาน", "Report"),
    "targets_title": (
        "รายการพื้นที่เป้าหมาย (จัดอันดับความเสี่ยงรายตำบล)",
        "Target areas (subdistricts ranked by risk)",
    ),
    "rank": ("อันดับ", "Rank"),
    "score": ("คะแนน", "Score"),
    "points": ("จุดเสี่ยง", "Points"),
    "top_categories": ("ประเภทหลัก", "Main categories"),
    "context": ("ปัจจัยแวดล้อม", "Context"),
    "hotspot": ("Gi*", "Gi*"),
    "export_csv": ("ส่งออก CSV", "Export CSV"),
    "export_xlsx": ("ส่งออก Excel", "Export Excel"),
    # Issue 18: the meeting brief (PDF; DOCX to edit).
    "print_brief": ("พิมพ์รายงาน / Print brief", "พิมพ์รายงาน / Print brief"),
    "brief_docx": ("รายงานแบบแก้ไขได้ (DOCX)", "Editable brief (DOCX)"),
    "declare": ("ประกาศเป็นพื้นที่เป้าหมายปีงบประมาณ", "Declare as the fiscal-year target list"),
    "fiscal_year": ("ปีงบประมาณ (พ.ศ.)", "Fiscal year (B.E.)"),
    "top_n": ("จำนวนพื้นที่", "How many areas"),
    "declared": ("ประกาศรายการพื้นที่เป้าหมายแล้ว", "Target list declared"),
    "cctv_title": ("วางแผนติดตั้งกล้องวงจรปิด", "Plan CCTV sites"),
    "area": ("พื้นที่", "Area"),
    "k_cameras": ("จำนวนกล้อง (k)", "Number of cameras (k)"),
    "budget": ("งบประมาณ (บาท)", "Budget (baht)"),
    "radius_m": ("รัศมีครอบคลุม (เมตร)", "Coverage radius (m)"),
    "plan": ("คำนวณแผน", "Plan"),
    "save_plan": ("บันทึกแผน", "Save plan"),
    "site": ("จุดติดตั้ง", "Site"),
    "covered": ("น้ำหนักความเสี่ยงที่ครอบคลุม", "Risk weight covered"),
    "plan_summary": (
        "{sites} จุด ครอบคลุม {share}% ของน้ำหนักความเสี่ยง (รวมกล้องเดิม {with_existing}%) · "
        "{method} · ช่องว่างจากค่าดีที่สุด {gap}",
        "{sites} sites cover {share}% of the risk weight ({with_existing}% with existing "
        "cameras) · {method} · optimality gap {gap}",
    ),
    "covered_cumulative": (
        "สัดส่วนความเสี่ยงที่ครอบคลุมสะสม (จุดนี้รวมจุดก่อนหน้า)",
        "Cumulative share of risk covered (this and earlier sites)",
    ),
    "province_named": ("จังหวัด{name}", "{name} province"),
    "legend_site": ("จุดติดตั้งที่เสนอ", "Proposed site"),
    "legend_coverage": ("รัศมีครอบคลุม", "Coverage radius"),
    "legend_camera": ("กล้องที่ติดตั้งแล้ว", "Installed camera"),
    "err_other_province": (
        "บัญชี {name} ดูข้อมูลได้เฉพาะจังหวัดรหัส {province}",
        "{name} may only see province {province}",
    ),
    "err_invalid_field": ("ค่าไม่ถูกต้อง: {field}", "Invalid value: {field}"),
    "err_k_or_budget": (
        "ระบุจำนวนกล้องหรืองบประมาณ อย่างใดอย่างหนึ่ง (ไม่ใช่ทั้งสองอย่าง)",
        "Give either the number of cameras (k) or a budget, not both",
    ),
    "err_max_k": (
        "จำนวนกล้องเกินกว่าที่บัญชีนี้ขอได้ ผู้วางแผนขอได้มากกว่า",
        "More cameras than this account may ask; a planner can plan more",
    ),
    "err_min_radius": (
        "รัศมีเล็กกว่าที่บัญชีนี้กำหนดได้", "The radius is smaller than this account may use",
    ),
    "err_time_limit": (
        "กำหนดเวลาคำนวณนานเกินกว่าที่บัญชีนี้ขอได้",
        "The solver time limit is longer than this account may ask",
    ),
    "err_costs": (
        "การวางแผนตามงบประมาณต้องมีค่าใช้จ่ายของทุกจุดติดตั้ง",
        "A budget needs a cost for every candidate site",
    ),
    "err_plan_name": ("แผนที่บันทึกต้องมีชื่อ", "A saved plan needs a name"),
    "err_no_sites": (
        "ยังไม่มีจุดติดตั้งที่นำเข้าในพื้นที่นี้", "No uploaded candidate sites in this area",
    ),
    "err_status_0": (
        "ติดต่อเซิร์ฟเวอร์ไม่ได้ ตรวจสอบการเชื่อมต่อแล้วลองใหม่",
        "No answer from the server: check the connection and try again",
    ),
    "err_status_400": ("คำขอไม่ถูกต้อง", "The request is not valid"),
    "err_status_401": ("กรุณาเข้าสู่ระบบก่อน", "Please sign in first"),
    "err_status_403": ("บัญชีของท่านไม่มีสิทธิ์ทำรายการนี้", "Your account may not do this"),
    "err_status_404": ("ไม่พบข้อมูลที่ขอ", "Not found"),
    "err_status_409": ("ข้อมูลขัดแย้งกับที่มีอยู่", "Conflicts with existing data"),
    "err_status_413": ("คำขอมีขนาดใหญ่เกินไป", "The request is too large"),
    "err_status_422": ("ข้อมูลในแบบฟอร์มไม่ถูกต้อง", "The form's values are not valid"),
    "err_status_429": (
        "ส่งคำขอถี่เกินไป กรุณารอสักครู่แล้วลองใหม่", "Too many requests: wait and try again",
    ),
    "err_status_500": (
        "เกิดข้อผิดพลาดในระบบ (บันทึกไว้แล้ว)", "Server error (it was logged)",
    ),
    "err_status_503": (
        "ระบบไม่ว่างชั่วคราว กรุณาลองใหม่ในไม่กี่วินาที", "The service is busy: retry in a few seconds",
    ),
    "err_status_other": ("ไม่สำเร็จ", "Failed"),
    "method_exact": ("คำตอบแม่นตรง (HiGHS)", "exact (HiGHS)"),
    "method_greedy": ("วิธีละโมบ พร้อมขอบเขตค่าดีที่สุด", "greedy, with an optimality bound"),
    "lat": ("ละติจูด", "Latitude"),
    "lon": ("ลองจิจูด", "Longitude"),
    "users_title": ("บัญชีผู้ใช้", "User accounts"),
    "role": ("บทบาท", "Role"),
    "active": ("ใช้งาน", "Active"),
    "last_login": ("เข้าระบบล่าสุด", "Last sign-in"),
    "create_user": ("สร้างบัญชี", "Create account"),
    "display_name": ("ชื่อที่แสดง", "Display name"),
    "none": ("-", "-"),
    "loading": ("กำลังโหลด…", "Loading…"),
    "failed": ("ไม่สำเร็จ", "Failed"),
    "lang_switch": ("English", "ภาษาไทย"),
    # Issue 17: live feeds (admin page /admin/feeds).
    "nav_feeds": ("อุปกรณ์และการแจ้งเตือน", "Devices and alerts"),
    "feeds_title": ("อุปกรณ์ตรวจจับและการส่งต่อข้อมูล", "Detectors and webhook pushes"),
    "devices": ("อุปกรณ์", "Devices"),
    "device_id": ("รหัสอุปกรณ์", "Device id"),
    "device_kind": ("ชนิด", "Kind"),
    "alerts_total": ("การแจ้งเตือน", "Alerts"),
    "alerts_new": ("ใหม่", "New"),
    "alerts_confirmed": ("ยืนยันแล้ว", "Confirmed"),
    "false_alarms": ("แจ้งเตือนผิดพลาด", "False alarms"),
    "false_alarm_rate": ("อัตราแจ้งเตือนผิดพลาด", "False-alarm rate"),
    "last_heartbeat": ("สัญญาณชีพล่าสุด", "Last heartbeat"),
    "silent": ("เงียบเกิน 1 ชม.", "Silent (no heartbeat 1 h)"),
    "disabled": ("ปิดใช้งาน", "Disabled"),
    "add_device": ("ลงทะเบียนอุปกรณ์", "Register a device"),
    "device_secret_once": ("รหัสลับของอุปกรณ์ (แสดงครั้งเดียว)", "Device secret (shown once)"),
    "subscriptions": ("หน่วยงานที่รับข้อมูล (webhook)", "Agency webhooks"),
    "deliveries": ("บันทึกการส่ง", "Delivery log"),
    "attempts": ("จำนวนครั้ง", "Attempts"),
    "add_webhook": ("เพิ่มหน่วยงานที่รับข้อมูล", "Subscribe an agency"),
    "webhook_secret_once": ("รหัสลับสำหรับตรวจลายเซ็น (แสดงครั้งเดียว)",
                            "Signing secret (shown once)"),
    "webhook_disable": ("หยุดส่ง", "Stop sending"),
    "webhook_alerts": ("ส่งการแจ้งเตือนจากอุปกรณ์ด้วย", "Send detector alerts too"),
    "webhook_sensitive": ("มีสิทธิ์เห็นพิกัดจุดอ่อนไหว", "Holds the sensitive right"),
}


def pick_lang(request: Request) -> str:
    """Return ``th`` or ``en``: the ``lang`` query parameter, else the cookie, else Thai."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else "th"


class Translator:
    """Callable used by templates: ``t("key")``, numbers and dates in the page's language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        """Return the text ``key`` with ``{name}`` placeholders filled."""
        th, en = TEXTS.get(key, (key, key))
        text = en if self.lang == "en" else th
        return text.format(**values) if values else text

    def num(self, value: object, digits: int = 0) -> str:
        """Format a number (Thai digits on Thai pages); a dash when missing."""
        if value is None or value == "":
            return "-"
        try:
            formatted = f"{float(value):,.{digits}f}"  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        return to_thai_digits(formatted) if self.lang == "th" else formatted

    def date(self, value: dt.date | dt.datetime | None) -> str:
        """Format a date or date-time (in Thai time): Buddhist era on Thai pages."""
        if value is None:
            return "-"
        if isinstance(value, dt.datetime):
            local = value.astimezone(BANGKOK) if value.tzinfo else value
            if self.lang == "th":
                return f"{format_thai_date(local.date())} {local:%H:%M} น."
            return local.isoformat(sep=" ", timespec="minutes")
        return format_thai_date(value) if self.lang == "th" else value.isoformat()
