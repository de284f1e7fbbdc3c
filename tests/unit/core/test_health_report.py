"""What a health checking report may use and picks by default (seed 002), and the name
it is filed under, which the reports list reads back."""

from __future__ import annotations

from app.core import health_report as hr

C = hr.Candidate


def test_jaws_and_the_smiling_face_are_picked_photos_are_not() -> None:
    found = [C("1", "intraoral_scan", "bite_left.stl"), C("2", "intraoral_scan", "Maxilla.ply"),
             C("3", "intraoral_scan", "Mandible.ply"), C("4", "face_scan", "face_rest.obj"),
             C("5", "face_scan", "face_smile.obj"), C("6", "intraoral_photo", "a.jpg"),
             C("7", "cbct", "ct")]
    assert hr.default_selection(found) == {"2", "3", "5"}
    # One scan and no names to go by: that scan; no face scan, no face.
    assert hr.default_selection([C("1", "intraoral_scan", "scan.stl")]) == {"1"}


def test_an_intraoral_scan_is_required_and_cbct_is_refused() -> None:
    found = [C("1", "intraoral_scan", "u.stl"), C("2", "face_scan", "f.obj"),
             C("3", "cbct", "ct"), C("4", "facial_photo", "p.jpg")]
    assert hr.check_selection(found, {"2", "4"}) == hr.NEEDS_SCAN
    assert hr.check_selection(found, {"1", "3"}) == hr.NO_CBCT
    assert hr.check_selection(found, {"1", "2", "4"}) is None
    assert hr.why_not(C("5", "xray", "x.dcm")) is not None


def test_the_filed_name_carries_title_and_author() -> None:
    name = hr.filed_name('Check: "upper" (6/12)', "Dr Sara Haddad")
    entry = hr.entry("id", "document", name, "2026-11-30T10:00:00+00:00")
    assert entry is not None
    assert (entry.title, entry.made_by, entry.made_on) == (
        "Check upper 6 12", "Dr Sara Haddad", "2026-11-30")
    assert "/" not in name and ":" not in name
    plain = hr.entry("id", "document", "Referral.PDF", None)
    assert plain is not None and (plain.title, plain.made_by) == ("Referral", "")
    assert hr.entry("id", "intraoral_photo", "x.pdf", None) is None
    assert hr.portal_url("", "id") is None
    assert hr.portal_url("https://c.example/", "id") == "https://c.example/reports/id"
