"""What `com demo` loaded: the JSON report and the short Thai/English summary that ends it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from com.security.users import DEMO_ACCOUNTS


@dataclass
class DemoReport:
    """What the demo loaded."""

    province_code: str
    risk_points: int
    replaced: int
    cameras: int
    by_category: dict[str, int]
    by_fiscal_year: dict[int, int]
    by_district: dict[str, int]
    boundaries: dict[str, int] | None = None
    hooks: dict[str, Any] = field(default_factory=dict)
    kpi: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "synthetic": True,
            "note": "ข้อมูลสมมติ / synthetic demo data",
            "province_code": self.province_code,
            "risk_points": self.risk_points,
            "replaced_previous_synthetic_points": self.replaced,
            "cameras": self.cameras,
            "by_category": self.by_category,
            "by_fiscal_year_be": self.by_fiscal_year,
            "by_district": self.by_district,
            "boundaries": self.boundaries,
            "kpi": self.kpi,
            "hooks": self.hooks,
        }

    def summary(self, url: str, *, serving: bool) -> str:
        """Return the short Thai/English summary that ends ``com demo``.

        Parameters
        ----------
        url
            Where the app is (or will be) served.
        serving
            True when the demo goes on to serve the app, False after ``--load-only``.
        """
        years = ", ".join(f"{fy}: {n}" for fy, n in self.by_fiscal_year.items())
        open_line = (f"  เปิด / Open:      {url}" if serving
                     else f"  เริ่มเว็บ / Serve: com serve   ->  {url}")
        lines = [
            f"COM demo: ข้อมูลสมมติ จ.สุรินทร์ ({self.province_code}) / synthetic demo data, "
            "Surin",
            open_line,
            "  บัญชีผู้ใช้ / Accounts (รหัสผ่านใหม่ทุกครั้ง / new passwords every run):",
        ]
        roles = {name: display for name, _, _, display in DEMO_ACCOUNTS}
        for username, password in (self.hooks.get("demo_accounts") or {}).items():
            lines.append(f"    {username:<12} {password}   {roles.get(username, '')}")
        lines += [
            "  โหลดแล้ว / Loaded:",
            f"    จุดเสี่ยง / risk points: {self.risk_points} (ปีงบประมาณ / FY {years})",
            f"    กล้อง CCTV / cameras: {self.cameras}",
        ]
        lists = self.kpi.get("target_lists", {})
        declared = [str(fy) for fy, info in lists.items() if info["status"] == "declared"]
        kept = [str(fy) for fy, info in lists.items() if info["status"] != "declared"]
        if declared:
            areas = max(info.get("areas", 0) for info in lists.values())
            lines.append(f"    บัญชีเป้าหมาย / target lists: FY {', '.join(declared)} "
                         f"(ปีละ {areas} ตำบล / {areas} subdistricts each)")
        if kept:
            lines.append(f"    บัญชีเป้าหมายเดิม / lists kept as declared: FY {', '.join(kept)}")
        if lists:
            lines.append(f"    โครงการ / projects: {self.kpi.get('projects', 0)}")
        if self.boundaries:
            b = self.boundaries
            lines.append(
                f"    ขอบเขต / boundaries: {b.get('provinces', 0)} จังหวัด / provinces, "
                f"{b.get('districts', 0)} อำเภอ / districts, "
                f"{b.get('subdistricts', 0)} ตำบล / subdistricts")
        last_fy = max(lists) if lists else max(self.by_fiscal_year, default=2568)
        lines.append(f"  ลองต่อ / Try: com kpi --province {self.province_code} --fy {last_fy}")
        return "\n".join(lines)
