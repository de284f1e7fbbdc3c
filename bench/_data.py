"""A large practice database for the benchmarks, built once per size and kept.

    from bench._data import prepare_environment, ensure_database
    prepare_environment()          # before anything of app is imported
    path = ensure_database(100_000)

Patients with names in several scripts (Latin with accents, Arabic, Chinese,
Cyrillic), phones, emails, card and ID numbers, case types, and about five visits
each (about two from 500,000 patients up). They are written as a first pull of a large
practice writes them: rows in bulk with the local columns the store derives (number,
sort key, phone digits; search_index.derived), nothing queued in the outbox (these
changes came from elsewhere), and the search index written afterwards in the index's
own order, a part a transaction (search_index.plan / write_part). A million patients
take a few minutes; the build prints its time.

The database lives in bench/out/ with its key in a key file under bench/out/config/,
keyed by size and DATA_VERSION; bump DATA_VERSION when the generator changes.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATA_VERSION = 2
BATCH = 20_000  # patients per transaction

ADMIN_USER = "admin"
ADMIN_PASSWORD = "bench-password"
DOCTORS = (("dr.silva", "Dr Silva"), ("dr.haddad", "Dr Haddad"), ("dr.wang", "Dr Wang"))

# fmt: off
LATIN_F = [
    "Ana", "Anastasia", "Andrea", "Ángela", "Beatriz", "Camila", "Chloé", "Daniela", "Élodie",
    "Emma", "Hélène", "Inês", "Isabel", "Lucía", "Laura", "Maëlle", "Małgorzata", "María",
    "Marta", "Núria", "Olivia", "Paula", "Renée", "Sofía", "Valentina", "Zoë", "Zofia",
    "Åsa", "Anaïs", "Agnieszka", "Giulia", "Francesca", "Céline", "Léa", "Júlia", "Conceição",
]
LATIN_M = [
    "Andrés", "Ángel", "Antônio", "Björn", "Carlos", "Daniel", "David", "Diego", "François",
    "Gabriel", "Gonçalo", "Günther", "Iñaki", "Jérôme", "João", "Jordi", "José", "Jürgen",
    "Łukasz", "Lucas", "Marco", "Mateo", "Noël", "Pedro", "Rafael", "Raphaël", "Rúben",
    "Søren", "Thomas", "Wojciech", "Ignacio", "Luís", "Sébastien", "Paweł", "Matías", "Óscar",
]
LATIN_LAST = [
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Muñoz", "Álvarez", "Jiménez", "Díaz", "Hernández", "Moreno", "Romero", "Alonso",
    "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Núñez", "Iglesias",
    "Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Carvalho", "Gonçalves",
    "Araújo", "Conceição", "Dubois", "Lefèvre", "Girard", "Bonnet", "Chevalier", "Faure",
    "André", "Mercier", "Müller", "Schäfer", "Köhler", "Weiß", "Groß", "Schröder",
    "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński", "Szymański",
    "Ångström", "Sjöberg", "Nyström", "Østergaard", "Jørgensen", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Anastasiou", "Andersen", "Costa",
]
ARABIC_F = [
    ("فاطمة", "fatima"), ("عائشة", "aisha"), ("مريم", "maryam"), ("زينب", "zainab"),
    ("نور", "nour"), ("سارة", "sara"), ("ليلى", "layla"), ("هدى", "huda"), ("رنا", "rana"),
    ("ياسمين", "yasmin"), ("سلمى", "salma"), ("خديجة", "khadija"), ("أمينة", "amina"),
    ("رشا", "rasha"), ("دينا", "dina"), ("هبة", "heba"), ("منى", "mona"), ("أسماء", "asmaa"),
]
ARABIC_M = [
    ("محمد", "mohammed"), ("أحمد", "ahmed"), ("علي", "ali"), ("حسن", "hassan"),
    ("حسين", "hussein"), ("عمر", "omar"), ("خالد", "khaled"), ("يوسف", "youssef"),
    ("إبراهيم", "ibrahim"), ("عبدالله", "abdullah"), ("مصطفى", "mustafa"), ("سعيد", "saeed"),
    ("طارق", "tariq"), ("كريم", "karim"), ("سامي", "sami"), ("وليد", "walid"),
    ("ماجد", "majed"), ("فيصل", "faisal"), ("ناصر", "nasser"), ("أنس", "anas"),
]
ARABIC_LAST = [
    "العلي", "الحسن", "الأحمد", "المحمد", "الخطيب", "الحداد", "النجار", "الشامي", "المصري",
    "العمر", "السيد", "الزين", "الخوري", "حداد", "سليمان", "عثمان", "يوسف", "إبراهيم",
    "القاسم", "الرفاعي", "التميمي", "الشمري", "العتيبي", "القحطاني", "الدوسري", "الغامدي",
    "الزهراني", "البدوي", "الحلبي", "العباسي", "الجابري", "الكردي", "الهاشمي", "النعيمي",
]
CHINESE_LAST = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
    ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"), ("郑", "zheng"),
    ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"), ("许", "xu"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"), ("潘", "pan"),
]
CHINESE_GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"),
    ("超", "chao"), ("秀", "xiu"), ("霞", "xia"), ("平", "ping"), ("华", "hua"), ("玉", "yu"),
    ("红", "hong"), ("建", "jian"), ("文", "wen"), ("辉", "hui"), ("鹏", "peng"),
    ("宇", "yu"), ("浩", "hao"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("晨", "chen"),
    ("欣", "xin"), ("怡", "yi"), ("佳", "jia"), ("子", "zi"), ("涵", "han"), ("轩", "xuan"),
]
CYRILLIC_F = [
    ("Анна", "anna"), ("Анастасия", "anastasia"), ("Екатерина", "ekaterina"),
    ("Елена", "elena"), ("Ирина", "irina"), ("Мария", "maria"), ("Наталья", "natalia"),
    ("Ольга", "olga"), ("Светлана", "svetlana"), ("Татьяна", "tatiana"), ("Юлия", "yulia"),
    ("Ксения", "ksenia"), ("Полина", "polina"), ("Дарья", "daria"), ("Алёна", "alyona"),
    ("Вера", "vera"), ("Надежда", "nadezhda"), ("Людмила", "ludmila"), ("Оксана", "oksana"),
]
CYRILLIC_M = [
    ("Александр", "alexander"), ("Алексей", "alexey"), ("Андрей", "andrey"),
    ("Дмитрий", "dmitry"), ("Иван", "ivan"), ("Михаил", "mikhail"), ("Никита", "nikita"),
    ("Павел", "pavel"), ("Сергей", "sergey"), ("Владимир", "vladimir"), ("Максим", "maxim"),
    ("Артём", "artyom"), ("Фёдор", "fyodor"), ("Пётр", "pyotr"), ("Олег", "oleg"),
    ("Игорь", "igor"), ("Богдан", "bogdan"), ("Тарас", "taras"), ("Юрій", "yuriy"),
]
CYRILLIC_LAST = [
    ("Иванов", "ivanov"), ("Смирнов", "smirnov"), ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"), ("Васильев", "vasiliev"), ("Петров", "petrov"),
    ("Соколов", "sokolov"), ("Михайлов", "mikhailov"), ("Новиков", "novikov"),
    ("Фёдоров", "fedorov"), ("Морозов", "morozov"), ("Волков", "volkov"),
    ("Алексеев", "alekseev"), ("Лебедев", "lebedev"), ("Семёнов", "semyonov"),
    ("Егоров", "egorov"), ("Павлов", "pavlov"), ("Козлов", "kozlov"), ("Орлов", "orlov"),
    ("Никитин", "nikitin"), ("Зайцев", "zaitsev"), ("Соловьёв", "solovyov"),
    ("Шевченко", "shevchenko"), ("Коваленко", "kovalenko"), ("Бондаренко", "bondarenko"),
    ("Ткаченко", "tkachenko"), ("Мельник", "melnyk"), ("Петренко", "petrenko"),
]
CASE_TYPES = [
    "orthodontics", "implant", "endodontics", "periodontics", "prosthodontics",
    "pediatric", "oral surgery", "cosmetic",
]
PROCEDURES = [
    "Check-up", "Scaling and polishing", "Composite filling", "Root canal treatment",
    "Extraction", "Crown preparation", "Crown cementation", "Implant placement",
    "Bracket adjustment", "Whitening", "X-ray", "Impression", "Emergency visit",
]
DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "mail.ru", "qq.com", "icloud.com",
           "hotmail.com", "proton.me", "yandex.ru", "163.com", "web.de", "orange.fr"]
PHONE_PREFIXES = {
    "latin": ["+34 6", "+351 91", "+33 6", "+49 15", "+48 5", "+39 3", "+55 11 9", "+46 7"],
    "arabic": ["+966 5", "+971 5", "+20 10", "+962 7", "+961 3", "+212 6"],
    "chinese": ["+86 13", "+86 15", "+86 18", "+852 9"],
    "cyrillic": ["+7 9", "+380 6", "+375 29"],
}
# fmt: on


def prepare_environment() -> None:
    """Keep the benchmark's files (database, key file) in bench/out, away from the
    user's own Chairside folders. Call before importing app."""
    os.environ.setdefault("CHAIRSIDE_DATA_DIR", str(OUT / "data"))
    os.environ.setdefault("CHAIRSIDE_CONFIG_DIR", str(OUT / "config"))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def database_path(n: int) -> Path:
    return OUT / f"practice-{n}-v{DATA_VERSION}.chairside"


def secret_store() -> Any:
    """No OS keyring: the key of a benchmark database lives in a key file."""
    from keyring.backends import null

    from app.platform.secrets import SecretStore

    return SecretStore(null.Keyring())


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str
    last_name: str
    gender: str
    email_name: str  # ASCII form of the name for the email address
    script: str


def _person(rnd: random.Random) -> Person:
    roll = rnd.random()
    female = rnd.random() < 0.52
    gender = "female" if female else "male"
    if rnd.random() < 0.02:
        gender = rnd.choice(["other", "unknown"])
    if roll < 0.55:
        first = rnd.choice(LATIN_F if female else LATIN_M)
        last = rnd.choice(LATIN_LAST)
        if rnd.random() < 0.25:  # two family names
            last = f"{last} {rnd.choice(LATIN_LAST)}"
        ascii_name = f"{first}.{last.split(' ')[0]}"
        return Person(first, last, gender, ascii_name, "latin")
    if roll < 0.70:
        first, tr = rnd.choice(ARABIC_F if female else ARABIC_M)
        return Person(first, rnd.choice(ARABIC_LAST), gender, tr, "arabic")
    if roll < 0.85:
        last, tr_last = rnd.choice(CHINESE_LAST)
        given = [rnd.choice(CHINESE_GIVEN) for _ in range(rnd.choice((1, 2, 2)))]
        first = "".join(g for g, _ in given)
        tr = "".join(t for _, t in given) + "." + tr_last
        return Person(first, last, gender, tr, "chinese")
    first, tr = rnd.choice(CYRILLIC_F if female else CYRILLIC_M)
    last, tr_last = rnd.choice(CYRILLIC_LAST)
    if female and last.endswith(("ов", "ев", "ёв", "ин")):
        last, tr_last = last + "а", tr_last + "a"
    return Person(first, last, gender, f"{tr}.{tr_last}", "cyrillic")


def _phone(rnd: random.Random, script: str) -> str:
    prefix = rnd.choice(PHONE_PREFIXES[script])
    width = max(6, 12 - sum(c.isdigit() for c in prefix))
    return prefix + _digits(rnd, width)


def _digits(rnd: random.Random, width: int) -> str:
    """`width` random digits, leading zeros included, in one draw."""
    return str(rnd.randrange(10**width)).zfill(width)


def _ascii(text: str) -> str:
    from app.core.text import fold

    return "".join(c for c in fold(text).replace(" ", "") if c.isascii() and c != "'")


def patient_fields(rnd: random.Random, seq: int) -> dict[str, Any]:
    """One patient's details as the front desk enters them (then cleaned as by the app)."""
    from app.core.patient_rules import clean_patient

    who = _person(rnd)
    data: dict[str, Any] = {
        "first_name": who.first_name,
        "last_name": who.last_name,
        "gender": who.gender,
        "birth_date": f"{rnd.randrange(1935, 2023)}-{rnd.randrange(1, 13):02d}-"
        f"{rnd.randrange(1, 29):02d}",
        "mobile": _phone(rnd, who.script) if rnd.random() < 0.95 else None,
        "landline": _phone(rnd, who.script) if rnd.random() < 0.2 else None,
    }
    if rnd.random() < 0.7:
        local = _ascii(who.email_name) or "patient"
        if rnd.random() < 0.5:
            local += str(rnd.randrange(1, 2000))
        data["email"] = f"{local}@{rnd.choice(DOMAINS)}"
    year = rnd.randrange(2008, 2027)
    data["card_number"] = (
        f"{seq:06d}" if rnd.random() < 0.5 else f"{year % 100:02d}/{rnd.randrange(1, 99999):05d}"
    )
    if rnd.random() < 0.6:
        data["id_number"] = _digits(rnd, rnd.choice((9, 10, 11)))
    if rnd.random() < 0.25:
        data["insurance_card_number"] = f"INS{rnd.randrange(10**8, 10**9)}"
    if rnd.random() < 0.5:
        data["case_types"] = ",".join(rnd.sample(CASE_TYPES, rnd.choice((1, 1, 2))))
    if rnd.random() < 0.3:
        data["allergies"] = rnd.choice(["Penicillin", "Latex", "Lidocaine", "None known"])
    return clean_patient(data)


def visit_fields(rnd: random.Random) -> dict[str, Any]:
    date = f"{rnd.randrange(2015, 2027)}-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}"
    out: dict[str, Any] = {
        "visit_date": date,
        "procedure": rnd.choice(PROCEDURES),
        "amount_paid": f"{rnd.randrange(0, 60) * 5}.00",
    }
    if rnd.random() < 0.3:
        out["notes"] = rnd.choice(["Sensitive to cold.", "Review in six months.", "X-ray taken."])
    return out


PATIENT_COLUMNS = (
    "first_name", "last_name", "gender", "birth_date", "mobile", "landline", "email",
    "card_number", "id_number", "insurance_card_number", "case_types", "allergies",
    "responsible_user_id",
)
VISIT_COLUMNS = ("patient_id", "visit_date", "procedure", "amount_paid", "notes", "doctor_id")
_LOCAL = ("id", "stamps", "deleted", "provisional", "num", "sort_key", "phone_digits",
          "updated_at")


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_PATIENT = _insert("patients", (*_LOCAL, *PATIENT_COLUMNS))
_INSERT_VISIT = _insert("visits", ("id", "stamps", "deleted", *VISIT_COLUMNS))


def _stamps(fields: dict[str, Any], hlc: str) -> str:
    from app.platform import jsoncodec

    return jsoncodec.dumps({k: [hlc, None] for k, v in fields.items() if v is not None})


def _batches(n: int) -> Iterator[range]:
    for start in range(0, n, BATCH):
        yield range(start, min(n, start + BATCH))


@dataclass
class _Rows:
    """One batch's rows as the driver takes them: tuples in the tables' column order."""

    patients: list[tuple[Any, ...]]
    visits: list[tuple[Any, ...]]


@dataclass(frozen=True)
class _Batch:
    seed: str  # each batch its own generator: the batches are made in worker processes
    patients: range
    owners: list[str]
    node: str
    wall: int
    visits_each: int


def _make_rows(job: _Batch) -> _Rows:
    """The patients numbered batch+1 and their visits, with the local columns the store
    keeps (number, sort key, phone digits) as its flush hooks make them."""
    from app.core.hlc import Timestamp
    from app.core.ids import new_id
    from app.store.patients.search_index import derived

    rnd = random.Random(job.seed)
    owners, node, wall, visits_each = job.owners, job.node, job.wall, job.visits_each
    out = _Rows([], [])
    for seq in job.patients:
        at = wall + seq * 10
        hlc = str(Timestamp(at, 0, node))
        fields = patient_fields(rnd, seq + 1)
        fields["responsible_user_id"] = rnd.choice(owners)
        pid = new_id()
        local = derived(fields)
        updated = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(at / 1e3))
        out.patients.append((
            pid, _stamps(fields, hlc), 0, 0, seq + 1, local["sort_key"],
            local["phone_digits"], updated, *(fields.get(c) for c in PATIENT_COLUMNS)))
        for _ in range(rnd.randint(1, 2 * visits_each - 1)):
            vf = visit_fields(rnd)
            vf["patient_id"] = pid
            vf["doctor_id"] = fields["responsible_user_id"]
            out.visits.append((new_id(), _stamps(vf, hlc), 0,
                               *(vf.get(c) for c in VISIT_COLUMNS)))
    return out


WORKERS = 2  # processes making rows while this one writes them
AHEAD = 4  # batches made ahead of the writing at most (each about 100 MB)


def _write_rows(conn: Any, jobs: list[_Batch], log: Any) -> None:
    """Each batch's rows straight to the driver, a transaction a batch, made in worker
    processes meanwhile (making them costs about as much CPU as writing them)."""
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    started = time.perf_counter()
    visits = 0
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        queued: list[Future[_Rows]] = [pool.submit(_make_rows, j) for j in jobs[:AHEAD]]
        for i, job in enumerate(jobs):
            rows = queued[i].result()
            queued[i] = None  # type: ignore[call-overload]  # its rows go with this batch
            if i + AHEAD < len(jobs):
                queued.append(pool.submit(_make_rows, jobs[i + AHEAD]))
            with conn.begin():
                cursor = conn.connection.cursor()
                cursor.executemany(_INSERT_PATIENT, rows.patients)
                cursor.executemany(_INSERT_VISIT, rows.visits)
                cursor.close()
            visits += len(rows.visits)
            done = job.patients.stop
            rate = done / (time.perf_counter() - started)
            log(f"  {done:>8} patients, {visits:>8} visits ({rate:,.0f} patients/s)")


def _write_index(conn: Any, log: Any) -> None:
    """The search index as a first pull's deferred build writes it: planned in one
    pass, written in the index's own order a part a transaction. Nothing searches
    meanwhile, so its index by term is dropped and made again afterwards."""
    from app.store.models import PatientTerm
    from app.store.patients import search_index

    # As the model declares it (migration 0025), made after its rows: one sort instead
    # of an insert into it for each row.
    (by_term,) = (i for i in PatientTerm.__table__.indexes if i.name == "ix_patient_terms_term")
    started = time.perf_counter()
    with conn.begin():
        by_term.drop(conn)
        plan = search_index.plan(conn, 1, search_index.ROWS_A_PART)
    for part in range(len(plan.parts)):  # nothing else writes: the plan stays fresh
        with conn.begin():
            search_index.write_part(conn, plan, part)
    written = time.perf_counter()
    with conn.begin():
        by_term.create(conn)
    log(f"  search index: {len(plan.values)} patients, {len(plan.parts)} parts, "
        f"{written - started:.0f} s; by term {time.perf_counter() - written:.0f} s")


def build(path: Path, n: int, *, seed: int = 20261125, log: Any = print) -> None:
    """Fill a new database at `path` with `n` patients and their visits (about five
    each; about two from 500,000 patients up, to keep a million's build within minutes).

    The PRAGMAs that trade safety for speed hold for this build's connection only: the
    file is thrown away if the build does not finish."""
    from app.core.ids import new_node_id
    from app.platform.collector import collector_paused
    from app.store.db import open_database
    from app.store.services import Store

    db = open_database(path, secret_store(), allow_key_file=True)
    try:
        store = Store.over(db)
        admin = store.users.create(ADMIN_USER, "Dr Admin", ADMIN_PASSWORD, "admin")
        owners = [admin.id] + [
            store.users.create(u, name, ADMIN_PASSWORD, "member").id for u, name in DOCTORS
        ]
        node, wall = new_node_id(), int(time.time() * 1000) - n * 10
        visits_each = 5 if n < 500_000 else 2
        jobs = [_Batch(f"{seed}-{b.start}", b, owners, node, wall, visits_each)
                for b in _batches(n)]
        with db.writer.connect() as conn, collector_paused():
            raw = conn.connection.dbapi_connection  # outside a transaction, unlike conn
            assert raw is not None
            for pragma in ("synchronous = OFF", "cache_size = -262144", "temp_store = MEMORY"):
                raw.execute(f"PRAGMA {pragma}")
            _write_rows(conn, jobs, log)
            _write_index(conn, log)
            started = time.perf_counter()
            # Statistics from a sample of each index (as SQLite advises for optimize),
            # not from every row of tens of millions.
            raw.execute("PRAGMA analysis_limit = 1000")
            raw.execute("PRAGMA optimize")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            log(f"  statistics and checkpoint: {time.perf_counter() - started:.0f} s")
    finally:
        db.close()


def ensure_database(n: int, *, log: Any = print) -> Path:
    """The benchmark database of `n` patients, built on first use (minutes for 100k)."""
    prepare_environment()
    path = database_path(n)
    done = path.with_name(path.name + ".complete")
    if path.exists() and done.exists():
        return path
    from app.store import keys

    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    keys.key_file_path(path).unlink(missing_ok=True)
    log(f"Building {path.name} ({n} patients, once; kept in bench/out/)...")
    started = time.perf_counter()
    build(path, n, log=log)
    done.write_text(f"{n} patients, built in {time.perf_counter() - started:.0f} s\n")
    log(f"Built in {time.perf_counter() - started:.0f} s.")
    return path
