"""What each CSV file of a data download holds: its columns, their meaning, and how a
column's value is read from a synced row. `readme` writes the README.txt from the same
table, so the documentation can not drift from the files.

Values are plain text a spreadsheet reads: dates as YYYY-MM-DD, moments as
YYYY-MM-DD HH:MM in the practice's time zone, amounts as decimals (12.50), yes/no.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.money import from_wire


@dataclass(frozen=True)
class Lookups:
    """The small tables a row is written with: names of people, chairs and patients."""

    tz: dt.tzinfo
    users: dict[str, str]
    chairs: dict[str, str]
    patients: dict[str, tuple[str, str]]  # id -> (card number, "Last, First")


Getter = Callable[[str, dict[str, Any], str, Lookups], str]


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str
    get: Getter


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")


def as_cell(value: str) -> str:
    """A spreadsheet runs a cell that starts with = + - @ as a formula, so text from a
    patient's form could run on the practice's PC (CSV injection). Such text gets a
    leading apostrophe, which spreadsheets read as "this is text"; numbers (a negative
    amount) stay numbers. The README says so."""
    if value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def text(field: str) -> Getter:
    def get(_id: str, f: dict[str, Any], _pid: str, _lk: Lookups) -> str:
        value = f.get(field)
        return "" if value is None else str(value)
    return get


def money(field: str) -> Getter:
    def get(_id: str, f: dict[str, Any], _pid: str, _lk: Lookups) -> str:
        value = f.get(field)
        # Decimal text, or minor units in a record stored before decimal text.
        return "" if value is None else str(from_wire(value))
    return get


def yes_no(field: str) -> Getter:
    def get(_id: str, f: dict[str, Any], _pid: str, _lk: Lookups) -> str:
        value = f.get(field)
        return "" if value is None else ("yes" if value else "no")
    return get


def moment(field: str) -> Getter:
    """A moment in the practice's zone (the cloud stores moments in UTC)."""
    def get(_id: str, f: dict[str, Any], _pid: str, lk: Lookups) -> str:
        raw = f.get(field)
        if not raw:
            return ""
        try:
            at = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            return str(raw)
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        return at.astimezone(lk.tz).strftime("%Y-%m-%d %H:%M")
    return get


def user(field: str) -> Getter:
    def get(_id: str, f: dict[str, Any], _pid: str, lk: Lookups) -> str:
        value = f.get(field)
        return lk.users.get(str(value), "") if value else ""
    return get


def row_id(rid: str, _f: dict[str, Any], _pid: str, _lk: Lookups) -> str:
    return rid


def patient_id(_id: str, _f: dict[str, Any], pid: str, _lk: Lookups) -> str:
    return pid


def card(_id: str, _f: dict[str, Any], pid: str, lk: Lookups) -> str:
    return lk.patients.get(pid, ("", ""))[0]


def patient_name(_id: str, _f: dict[str, Any], pid: str, lk: Lookups) -> str:
    return lk.patients.get(pid, ("", ""))[1]


def chair(_id: str, f: dict[str, Any], _pid: str, lk: Lookups) -> str:
    value = f.get("chair_id")
    return lk.chairs.get(str(value), "") if value else ""


_OF_PATIENT = [
    Column("patient_id", "The patient's id (the same in every file).", patient_id),
    Column("card_number", "The patient's card number at the practice.", card),
    Column("patient_name", "The patient's name, last name first.", patient_name),
]


@dataclass(frozen=True)
class FileSpec:
    name: str
    entity: str
    about: str
    columns: list[Column]


FILES: list[FileSpec] = [
    FileSpec("patients.csv", "patient", "Patient history: every patient with contact details "
             "and clinical information (one row per patient).", [
                 Column("patient_id", "The patient's id (the same in every file).", row_id),
                 Column("card_number", "The patient's card number at the practice.",
                        text("card_number")),
                 Column("first_name", "First name.", text("first_name")),
                 Column("last_name", "Last name.", text("last_name")),
                 Column("gender", "female, male, other or unknown.", text("gender")),
                 Column("birth_date", "Date of birth (YYYY-MM-DD).", text("birth_date")),
                 Column("mobile", "Mobile phone number.", text("mobile")),
                 Column("landline", "Landline phone number.", text("landline")),
                 Column("email", "Email address.", text("email")),
                 Column("address", "Postal address.", text("address")),
                 Column("id_number", "National ID number.", text("id_number")),
                 Column("insurance_card_number", "Insurance card number.",
                        text("insurance_card_number")),
                 Column("responsible_doctor", "The doctor responsible for the patient.",
                        user("responsible_user_id")),
                 Column("case_types", "Kinds of treatment the patient came for.",
                        text("case_types")),
                 Column("past_medical_history", "Past medical history.",
                        text("past_medical_history")),
                 Column("diseases", "Diseases.", text("diseases")),
                 Column("medications", "Medications taken.", text("medications")),
                 Column("oral_habits", "Oral habits.", text("oral_habits")),
                 Column("allergies", "Allergies.", text("allergies")),
                 Column("note", "The practice's note about the patient.", text("note")),
             ]),
    FileSpec("treatments.csv", "visit", "Treatments: every visit record with its "
             "procedures and amounts (one row per visit).", [
                 Column("treatment_id", "The visit record's id.", row_id),
                 *_OF_PATIENT,
                 Column("visit_date", "Date of the visit (YYYY-MM-DD).", text("visit_date")),
                 Column("title", "Short title of the visit.", text("name")),
                 Column("procedures", "Procedures or actions carried out.", text("procedure")),
                 Column("charge", "Amount charged for the visit.", money("charge")),
                 Column("amount_paid", "Amount paid at the visit.", money("amount_paid")),
                 Column("bill_insurance", "yes: billed to the patient's insurance.",
                        yes_no("bill_insurance")),
                 Column("doctor", "The doctor who treated.", user("doctor_id")),
                 Column("notes", "Clinical notes of the visit.", text("notes")),
                 Column("next_visit_date", "Date set for the next visit (YYYY-MM-DD).",
                        text("next_visit_date")),
                 Column("next_visit_minutes", "Planned length of the next visit in minutes.",
                        text("next_visit_minutes")),
             ]),
    FileSpec("appointments.csv", "appointment", "Appointments of the appointment book, "
             "cancelled and missed ones included (one row per appointment).", [
                 Column("appointment_id", "The appointment's id.", row_id),
                 *_OF_PATIENT,
                 Column("starts_at", "Start (YYYY-MM-DD HH:MM, the practice's time).",
                        moment("starts_at")),
                 Column("duration_minutes", "Length in minutes.", text("duration_minutes")),
                 Column("status", "booked, arrived, in_chair, done, cancelled or no_show.",
                        text("status")),
                 Column("chair", "The chair (operatory).", chair),
                 Column("doctor", "The doctor the appointment is with.", user("doctor_id")),
                 Column("reason", "Reason for the appointment.", text("reason")),
                 Column("note", "Note on the appointment.", text("note")),
                 Column("status_changed_at", "When the status was last set.",
                        moment("status_at")),
                 Column("status_changed_by", "Who set the status.", user("status_by")),
                 Column("cancel_reason", "Why it was cancelled.", text("cancel_reason")),
             ]),
    FileSpec("agreements.csv", "agreement", "Patient history: treatment agreements "
             "(plans with a price), one row per agreement.", [
                 Column("agreement_id", "The agreement's id.", row_id),
                 *_OF_PATIENT,
                 Column("title", "Title of the agreement.", text("title")),
                 Column("total", "Total price before discount and tax.", money("total")),
                 Column("discount", "Discount.", money("discount")),
                 Column("tax", "Tax.", money("tax")),
                 Column("expires_on", "Date the agreement expires (YYYY-MM-DD).",
                        text("expires_on")),
                 Column("notes", "Notes of the agreement.", text("notes")),
             ]),
    FileSpec("payments.csv", "payment", "Patient history: payments, voided ones included "
             "with their reason (one row per payment).", [
                 Column("payment_id", "The payment's id.", row_id),
                 *_OF_PATIENT,
                 Column("agreement_id", "The agreement paid towards (empty: none).",
                        text("agreement_id")),
                 Column("paid_on", "Date of payment (YYYY-MM-DD).", text("paid_on")),
                 Column("amount", "Amount paid (negative: a refund or correction).",
                        money("amount")),
                 Column("method", "cash, card, transfer, cheque, insurance or other.",
                        text("method")),
                 Column("taken_by", "Who took the payment.", text("taken_by_name")),
                 Column("void_reason", "Why the payment was voided (empty: valid).",
                        text("void_reason")),
                 Column("corrects_payment_id", "The payment this one corrects.",
                        text("corrects")),
             ]),
    FileSpec("notes.csv", "note", "Patient history: notes written by doctors on the web "
             "portal (one row per note).", [
                 Column("note_id", "The note's id.", row_id),
                 *_OF_PATIENT,
                 Column("written_at", "When it was written (YYYY-MM-DD HH:MM, practice time).",
                        moment("created_at")),
                 Column("author", "Who wrote it.", text("author")),
                 Column("text", "The note.", text("body")),
             ]),
    FileSpec("scan_tickets.csv", "scan_ticket", "Scan tickets: scans asked for, open, "
             "scanned or cancelled (one row per ticket).", [
                 Column("ticket_id", "The ticket's id.", row_id),
                 *_OF_PATIENT,
                 Column("scan", "intraoral or face.", text("scan_type")),
                 Column("case_type", "Case type.", text("case_type")),
                 Column("visit_type", "Visit type.", text("visit_type")),
                 Column("doctor", "The doctor.", user("doctor_id")),
                 Column("status", "open, scanned or cancelled.", text("status")),
                 Column("created_at", "When it was made.", moment("created_at")),
                 Column("note", "Note.", text("note")),
             ]),
    FileSpec("lab_cases.csv", "lab_case", "Lab cases: orders to connected labs, with "
             "the lab's status (one row per case).", [
                 Column("case_id", "The case's id.", row_id),
                 *_OF_PATIENT,
                 Column("lab", "The lab it goes to.", text("lab_name")),
                 Column("case_type", "Case type.", text("case_type")),
                 Column("due_date", "Due date (YYYY-MM-DD).", text("due_date")),
                 Column("status", "draft, sent, received, in_progress or shipped.",
                        text("status")),
                 Column("lab_note", "The lab's note with its status.", text("status_note")),
                 Column("sent_at", "When it was sent.", moment("sent_at")),
                 Column("instructions", "Instructions to the lab.", text("instructions")),
             ]),
]


def readme(practice: str, made_at: str, tz_name: str, counts: dict[str, int]) -> str:
    lines = [
        "Chairside data download",
        "=======================",
        "",
        f"Practice installation: {practice}",
        f"Made: {made_at} ({tz_name})",
        "",
        "This ZIP holds the practice's data as CSV files that spreadsheet programs open:",
        "UTF-8 text with a byte order mark, comma-separated, one header row, one row per",
        "item. Dates are YYYY-MM-DD; times are YYYY-MM-DD HH:MM in the practice's time",
        f"zone ({tz_name}); amounts are decimals with a dot (12.50); yes/no for flags.",
        "Every file names the patient by patient_id, card_number and patient_name, so",
        "rows of one patient can be found across files.",
        "",
        "Deleted items are left out; the rows of patients merged into another are under",
        "the patient they were merged into.",
        "",
        "Text that begins with = + - or @ (a phone number such as +44 20 7946 0000) is",
        "written with an apostrophe in front, so that a spreadsheet shows it as text and",
        "never runs it as a formula; the apostrophe is not part of the practice's data.",
        "",
        "Images (X-rays, scans, photos) and other files are NOT included.",
        "",
    ]
    for spec in FILES:
        lines += [spec.name, "-" * len(spec.name), spec.about,
                  f"Rows: {counts.get(spec.name, 0)}", ""]
        width = max(len(c.name) for c in spec.columns)
        lines += [f"  {c.name.ljust(width)}  {c.meaning}" for c in spec.columns]
        lines.append("")
    return "\r\n".join(lines) + "\r\n"
