#!/usr/bin/env python3
"""pyledger: a small hash-chained audit journal over HTTP, written the way a Python team would.

It is auditchaos's *foreign* example stack: nothing in it follows the reference service's
conventions (own table, own API, own hash, own health path). Standard library plus psycopg2 only
(Debian: apt-get install python3 python3-psycopg2).

    PUT /ledger/{uuid}   {"who": "...", "verb": "...", "body": <any JSON>}
                         201 with the entry when appended, 200 with the stored entry when the uuid
                         is already in the journal (a retry), 400 on a bad request, 503 when the
                         database does not answer
    GET /ledger/{uuid}   200 with the entry, 404
    GET /healthz         200 {"status": "ok"} when the database answers, else 503

Table journal(n, uid, who, verb, body, at, parent, digest):
    body   = json.dumps(body)          (Python's separators: '{"data": "a"}')
    digest = SHA-256(parent || f"{n}|{uid}|{who}|{verb}|{body}")   parent of n=1: 32 zero bytes
Appends are serialized by a transaction-scoped advisory lock, so that n and parent always follow
the committed head.

Environment: DATABASE_URL (libpq URL), PORT (7070), HOST (0.0.0.0), LEDGER_DB_WAIT (seconds to
wait for the database at start, 60), LEDGER_BUGS (comma list of bug switches, below),
LEDGER_TRUNCATE_AT (truncate-body's length, 64), LEDGER_ACCESS_LOG=1 (log every request).

Bug switches, each a realistic way audit logs fail, for auditchaos to catch:
    ack-before-commit  appends go into one shared open transaction that a background thread
                       commits every 500 ms, and the client gets its 201 before that: a database
                       crash or a cut connection loses acknowledged entries (finding: missing)
    truncate-body      stores the body text cut to LEDGER_TRUNCATE_AT characters, and hashes the
                       cut text, so the chain verifies but the payload is not what was sent
                       (finding: partial)
    no-idempotency     no lookup of the uuid and no unique constraint (a migration dropped it): a
                       client's retry after a lost reply appends the event again (finding: duplicate)
"""

import faulthandler
import hashlib
import json
import os
import queue
import re
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

KNOWN_BUGS = ("ack-before-commit", "truncate-body", "no-idempotency")
GENESIS = bytes(32)
APPEND_LOCK = 70700001  # pg_advisory_xact_lock key: one appender at a time, across processes
COMMIT_EVERY_S = 0.5  # ack-before-commit's background commit interval
LEDGER_PATH = re.compile(r"^/ledger/([^/?#]+)$")


def log(msg):
    print(f"pyledger: {msg}", file=sys.stderr, flush=True)


def parse_bugs(text):
    bugs = {b.strip() for b in (text or "").split(",") if b.strip() and b.strip() != "none"}
    unknown = sorted(bugs - set(KNOWN_BUGS))
    if unknown:
        log(f"unknown bug switch {', '.join(unknown)}; known: {', '.join(KNOWN_BUGS)}")
        sys.exit(2)
    return bugs


BUGS = parse_bugs(os.environ.get("LEDGER_BUGS"))
TRUNCATE_AT = int(os.environ.get("LEDGER_TRUNCATE_AT", "64"))
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://ledger:ledger@127.0.0.1:5432/ledger")


def redact(url):
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def connect():
    # Bounded everywhere a fault can stall us: connecting, waiting for the lock, a statement.
    conn = psycopg2.connect(
        DATABASE_URL,
        connect_timeout=3,
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=2,
        options="-c statement_timeout=5000 -c lock_timeout=5000",
        application_name="pyledger",
    )
    return conn


class Pool:
    """Idle connections for reuse; a broken one is closed, never handed out again."""

    def __init__(self, keep=32):
        self.idle = queue.LifoQueue(maxsize=keep)

    def get(self):
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            return connect()

    def put(self, conn):
        if conn.closed:
            return
        try:
            self.idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def discard(self, conn):
        try:
            conn.close()
        except psycopg2.Error:
            pass


POOL = Pool()

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
  n      bigint PRIMARY KEY,
  uid    uuid NOT NULL UNIQUE,
  who    text NOT NULL,
  verb   text NOT NULL,
  body   text NOT NULL,
  at     timestamptz NOT NULL DEFAULT now(),
  parent bytea NOT NULL,
  digest bytea NOT NULL
)
"""


def create_schema():
    deadline = time.monotonic() + float(os.environ.get("LEDGER_DB_WAIT", "60"))
    while True:
        try:
            conn = connect()
            break
        except psycopg2.OperationalError as e:
            if time.monotonic() > deadline:
                log(f"the database at {redact(DATABASE_URL)} does not answer: {str(e).strip()}")
                sys.exit(1)
            time.sleep(0.5)
    with conn:
        cur = conn.cursor()
        lock_appends(cur)
        cur.execute(SCHEMA)
        if "no-idempotency" in BUGS:
            cur.execute("ALTER TABLE journal DROP CONSTRAINT IF EXISTS journal_uid_key")
    conn.close()


def entry_of(row):
    n, uid, who, verb, body, at, parent, digest = row
    return {
        "n": n,
        "uid": str(uid),
        "who": who,
        "verb": verb,
        "body": body,
        "at": at.isoformat(),
        "parent": bytes(parent).hex(),
        "digest": bytes(digest).hex(),
    }


COLUMNS = "n, uid, who, verb, body, at, parent, digest"


def lock_appends(cur):
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))


def append_in(cur, uid, who, verb, text):
    """In the caller's transaction, holding the append lock: (status, entry)."""
    if "no-idempotency" not in BUGS:
        cur.execute(f"SELECT {COLUMNS} FROM journal WHERE uid = %s", (uid,))
        row = cur.fetchone()
        if row is not None:
            return 200, entry_of(row)
    cur.execute("SELECT n, digest FROM journal ORDER BY n DESC LIMIT 1")
    head = cur.fetchone()
    n, parent = (head[0] + 1, bytes(head[1])) if head else (1, GENESIS)
    digest = hashlib.sha256(parent + f"{n}|{uid}|{who}|{verb}|{text}".encode()).digest()
    cur.execute(
        f"INSERT INTO journal (n, uid, who, verb, body, parent, digest)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
        (n, uid, who, verb, text, parent, digest),
    )
    return 201, entry_of(cur.fetchone())


def append(uid, who, verb, text):
    # A pooled connection may have died with a fault since its last use. That shows on the first
    # statement, before anything is written, so a fresh connection may try once more.
    for attempt in (1, 2):
        conn = POOL.get()
        try:
            cur = conn.cursor()
            lock_appends(cur)
        except psycopg2.Error:
            POOL.discard(conn)
            if attempt == 2:
                raise
            continue
        try:
            with conn:  # commits on success, rolls back on an exception
                result = append_in(cur, uid, who, verb, text)
        except Exception:
            POOL.discard(conn)
            raise
        POOL.put(conn)
        return result
    raise AssertionError("unreachable")


class EarlyAckBatch:
    """ack-before-commit: one open transaction shared by every append, committed in the background."""

    def __init__(self):
        self.lock = threading.Lock()
        self.conn = None
        self.pending = 0
        threading.Thread(target=self.committer, daemon=True).start()

    def append(self, uid, who, verb, text):
        with self.lock:
            try:
                if self.conn is None:
                    self.conn = connect()
                cur = self.conn.cursor()
                lock_appends(cur)
                status, entry = append_in(cur, uid, who, verb, text)
                if status == 201:
                    self.pending += 1
                return status, entry  # acknowledged now; committed up to 500 ms later
            except psycopg2.Error:
                self.drop()
                raise

    def drop(self):
        if self.pending:
            log(f"lost {self.pending} acknowledged entries that were not committed yet")
        self.pending = 0
        if self.conn is not None:
            POOL.discard(self.conn)
        self.conn = None

    def commit(self):
        with self.lock:
            if self.conn is None:
                return
            try:
                self.conn.commit()
                self.pending = 0
            except psycopg2.Error:
                self.drop()

    def committer(self):
        while True:
            time.sleep(COMMIT_EVERY_S)
            self.commit()


BATCH = EarlyAckBatch() if "ack-before-commit" in BUGS else None
APPEND = BATCH.append if BATCH is not None else append


def healthy():
    conn = None
    try:
        conn = POOL.get()
        with conn:
            conn.cursor().execute("SELECT 1")
        POOL.put(conn)
        return True
    except psycopg2.Error:
        if conn is not None:
            POOL.discard(conn)
        return False


def lookup(uid):
    conn = POOL.get()
    try:
        with conn:
            cur = conn.cursor()
            cur.execute(f"SELECT {COLUMNS} FROM journal WHERE uid = %s ORDER BY n LIMIT 1", (uid,))
            row = cur.fetchone()
        POOL.put(conn)
        return None if row is None else entry_of(row)
    except psycopg2.Error:
        POOL.discard(conn)
        raise


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pyledger/1"

    def log_message(self, fmt, *args):
        if os.environ.get("LEDGER_ACCESS_LOG") == "1":
            super().log_message(fmt, *args)

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def uid_of(self):
        m = LEDGER_PATH.match(self.path)
        if not m:
            return None
        try:
            return str(uuid.UUID(m.group(1)))  # lowercase, hyphenated: as PostgreSQL prints uuid
        except ValueError:
            return ""

    def do_GET(self):
        if self.path == "/healthz":
            ok = healthy()
            return self.reply(200 if ok else 503, {"status": "ok" if ok else "database unavailable"})
        uid = self.uid_of()
        if uid is None:
            return self.reply(404, {"error": "not found"})
        if uid == "":
            return self.reply(400, {"error": "the path must end in a UUID"})
        try:
            entry = lookup(uid)
        except psycopg2.Error as e:
            return self.reply(503, {"error": f"database: {str(e).strip()}"})
        if entry is None:
            return self.reply(404, {"error": "no such entry"})
        return self.reply(200, entry)

    def do_PUT(self):
        raw = self.read_body()
        uid = self.uid_of()
        if uid is None:
            return self.reply(404, {"error": "not found"})
        if uid == "":
            return self.reply(400, {"error": "the path must end in a UUID"})
        try:
            doc = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": "the body is not JSON"})
        if not isinstance(doc, dict) or "body" not in doc:
            return self.reply(400, {"error": 'expected {"who": ..., "verb": ..., "body": ...}'})
        who, verb = doc.get("who"), doc.get("verb")
        if not isinstance(who, str) or not isinstance(verb, str) or not who or not verb:
            return self.reply(400, {"error": "who and verb must be non-empty strings"})
        text = json.dumps(doc["body"])
        if "truncate-body" in BUGS:
            text = text[:TRUNCATE_AT]
        try:
            status, entry = APPEND(uid, who, verb, text)
        except psycopg2.Error as e:
            return self.reply(503, {"error": f"database: {str(e).strip()}"})
        return self.reply(status, entry)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client that hung up (a timeout, a cut link): nothing to report
        super().handle_error(request, client_address)


def main():
    create_schema()
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "7070"))
    server = Server((host, port), Handler)

    def stop(signum, _frame):
        # serve_forever returns once shutdown() is called from another thread; should a request
        # or the database hold the exit up, the process ends anyway 3 s later.
        threading.Thread(target=server.shutdown, daemon=True).start()
        watchdog = threading.Timer(3.0, os._exit, (128 + signum,))
        watchdog.daemon = True
        watchdog.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    faulthandler.register(signal.SIGUSR1)  # kill -USR1: every thread's stack on stderr
    bugs = f" (bugs: {', '.join(sorted(BUGS))})" if BUGS else ""
    log(f"listening on http://{host}:{port}, database {redact(DATABASE_URL)}{bugs}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        if BATCH is not None:
            BATCH.commit()  # a graceful stop commits what it acknowledged; a crash does not
        server.server_close()


if __name__ == "__main__":
    main()
